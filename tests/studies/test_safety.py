"""Refusals that protect data: foreign, corrupt or unwritable databases, and studies too large to run.

Each is refused with one clear message, and the database file is left byte for byte as it was.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pytest

from models.params import ConfigError
from studies import runner, store
from studies.cli import main


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_file_that_is_not_a_database_is_refused_and_untouched(tiny_plan, tmp_path):
    db = tmp_path / "notes.duckdb"
    db.write_text("my thesis notes, not a database\n" * 100)
    before = digest(db)
    with pytest.raises(store.StoreError, match="is not a DuckDB database"):
        runner.run_study(tiny_plan, db, progress=False)
    assert digest(db) == before


def test_another_programs_duckdb_is_refused_and_untouched(tiny_plan, tmp_path):
    db = tmp_path / "other.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE patients (id INTEGER, name VARCHAR); INSERT INTO patients VALUES (1, 'a')")
    before = digest(db)
    with pytest.raises(store.StoreError, match=r"a DuckDB database of something else \(tables: patients\)"):
        runner.run_study(tiny_plan, db, progress=False)
    assert digest(db) == before


def test_a_store_of_another_schema_version_is_refused(tiny_plan, tmp_path):
    db = tmp_path / "old.duckdb"
    runner.run_study(tiny_plan, db, progress=False)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE store_info SET value = '0' WHERE key = 'schema_version'")
    before = digest(db)
    with pytest.raises(store.StoreError, match="store schema 0, and this code writes schema"):
        runner.run_study(tiny_plan, db, progress=False)
    assert digest(db) == before


def test_an_unwritable_path_is_refused_with_the_reason(tiny_plan, tmp_path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    db = blocker / "results.duckdb"  # its folder would have to be a file
    with pytest.raises(store.StoreError, match="cannot write the results database"):
        runner.run_study(tiny_plan, db, progress=False)
    assert main(["query", "SELECT 1", "--db", str(tmp_path / "none.duckdb")]) == 2
    assert "there is no results database" in capsys.readouterr().err


def test_a_study_too_large_for_memory_says_what_it_needs_and_writes_nothing(tiny_plan, db, monkeypatch):
    monkeypatch.setattr(runner, "available_memory", lambda: 1_000)
    with pytest.raises(ConfigError, match=r"one world of this study needs about .* GiB of memory"):
        runner.run_study(tiny_plan, db, progress=False)
    assert not db.exists()


def test_a_study_too_large_for_the_disk_says_what_it_needs_and_writes_nothing(tiny_plan, db, monkeypatch):
    monkeypatch.setattr(runner, "BYTES_PER_METRIC_VALUE", 10**15)
    with pytest.raises(ConfigError, match=r"metrics need about .* GiB of disk"):
        runner.run_study(tiny_plan, db, progress=False)
    assert not db.exists()


def test_memory_shrinks_batches_before_refusing(tiny_plan, db, monkeypatch):
    """A batch keeps every recorded round until it ends: per world its numbers, per batch its tallies."""
    metrics = len(tiny_plan.game.metrics)
    one_world = tiny_plan.game.peak_bytes_per_world(tiny_plan.runs[0].game) + 2 * (  # the shard written too
        40 * metrics * runner.BYTES_PER_RECORDED_VALUE + 40 * runner.BYTES_PER_WORLD_RECORDED_ROUND
    )
    per_batch = 40 * runner.BYTES_PER_RECORDED_ROUND
    monkeypatch.setattr(runner, "available_memory", lambda: int((per_batch + one_world * 2.6) / 0.8))
    assert runner.fit_batch_worlds(tiny_plan, tiny_plan.runs, db, 256, workers=1) == 2
    monkeypatch.setattr(runner, "available_memory", lambda: int((per_batch + one_world * 0.9) / 0.8))
    with pytest.raises(ConfigError, match=f"40 recorded rounds of {metrics} metrics"):
        runner.fit_batch_worlds(tiny_plan, tiny_plan.runs, db, 256, workers=1)


def test_a_gpu_study_runs_in_one_process_with_batches_its_memory_holds(tiny_plan, db, monkeypatch):
    """No GPU is needed to plan for one: the GPU's free memory is the only thing asked of it."""
    peak = tiny_plan.game.peak_bytes_per_world(tiny_plan.runs[0].game)
    per_batch = 40 * runner.BYTES_PER_RECORDED_ROUND  # the recorded rounds' tallies, on the GPU too
    monkeypatch.setattr(runner, "gpu_memory", lambda device: int((per_batch + peak * 3.5) / 0.8))
    monkeypatch.setattr(runner, "AUTO_POOL_AGENT_ROUNDS", 0)  # on the CPU, a pool of every core
    on_cpu = runner.schedule(tiny_plan, db)
    assert on_cpu.workers == min(os.cpu_count(), 4) and {len(t.runs) for t in on_cpu.tasks} <= {1, 2}
    on_gpu = runner.schedule(tiny_plan, db, device="cuda")
    assert on_gpu.workers == 1 and [len(t.runs) for t in on_gpu.tasks] == [3, 1]  # 3 worlds fit, of 4
    assert {t.device for t in on_gpu.tasks} == {"cuda"}
    monkeypatch.setattr(runner, "gpu_memory", lambda device: peak // 2)
    with pytest.raises(ConfigError, match=r"one world of this study needs about .* GiB of GPU memory"):
        runner.schedule(tiny_plan, db, device="cuda")
    assert not db.exists()


def test_a_large_gpu_study_is_split_so_that_the_store_writes_while_the_gpu_simulates(db, monkeypatch):
    """Issue 23: one batch would simulate everything, then write everything; four batches overlap three
    writes with simulation, as long as each batch keeps enough agents a round to keep the GPU busy."""
    from helpers import tiny_config

    from studies.config import plan_study

    plan = plan_study({**tiny_config(replications=200), "game": {"n_researchers": 1_000}})  # 400 runs
    monkeypatch.setattr(runner, "gpu_memory", lambda device: 2**40)
    per_world = runner.agents_per_world(plan, plan.runs[0])
    monkeypatch.setattr(runner, "GPU_PIPELINE_AGENTS", 50 * per_world)  # 50 worlds keep it busy: 4 batches
    assert [len(t.runs) for t in runner.schedule(plan, db, device="cuda").tasks] == [100] * 4
    monkeypatch.setattr(runner, "GPU_PIPELINE_AGENTS", 150 * per_world)  # 150 worlds needed: fewer batches
    assert [len(t.runs) for t in runner.schedule(plan, db, device="cuda").tasks] == [150, 150, 100]
    monkeypatch.setattr(runner, "GPU_PIPELINE_AGENTS", 1000 * per_world)  # the whole study in one
    assert [len(t.runs) for t in runner.schedule(plan, db, device="cuda").tasks] == [400]
    assert [len(t.runs) for t in runner.schedule(plan, db, 120, device="cuda").tasks] == [120] * 3 + [40]
    assert not db.exists()


def test_bad_backend_and_workers_are_refused(tiny_plan, db):
    with pytest.raises(ConfigError, match="--backend 'slurm' is not allowed"):
        runner.run_study(tiny_plan, db, backend="slurm", progress=False)
    with pytest.raises(ConfigError, match="--workers 0 is not allowed"):
        runner.run_study(tiny_plan, db, workers=0, progress=False)
    assert not db.exists()
