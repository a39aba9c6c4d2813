"""Execution: the same numbers on every backend, resumption after SIGKILL, reading while a study writes."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from studies import store
from studies.config import load_study
from studies.runner import run_study

STUDY = """
[study]
name = "exec"
rounds = 120
replications = 3
seed = 11

[game]
n_researchers = 40

[design]
kind = "latin_hypercube"
samples = 6

[sweep]
publish_null_prob = { low = 0.0, high = 1.0 }
failed_replication_penalty = { low = 0.0, high = 5.0 }
"""
APP = Path(__file__).resolve().parents[2] / "app" / "streamlit_app.py"
ALL_METRICS = "SELECT run_id, step, metric, value FROM metrics ORDER BY ALL"


@pytest.fixture(scope="module")
def study_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("exec") / "exec.toml"
    path.write_text(STUDY)
    return path


@pytest.fixture(scope="module")
def reference(study_file, tmp_path_factory) -> Path:
    """The study run once, uninterrupted, in-process."""
    db = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    run_study(load_study(study_file), db, workers=1, progress=False)
    return db


def same_results(db: Path, reference: Path) -> bool:
    return store.query(db, ALL_METRICS).equals(store.query(reference, ALL_METRICS))


def test_a_process_pool_gives_the_in_process_numbers(study_file, reference, tmp_path):
    db = tmp_path / "pool.duckdb"
    report = run_study(load_study(study_file), db, workers=2, batch_worlds=4, progress=False)
    assert report.workers == 2 and report.completed == 18
    assert same_results(db, reference)
    # Metrics and store writes are timed where they happen: some time, never more than the whole.
    assert 0 < report.record_seconds < report.wall_seconds and 0 < report.overhead_share < 1


def test_ray_gives_the_local_numbers(study_file, reference, tmp_path):
    pytest.importorskip("ray")
    db = tmp_path / "ray.duckdb"
    report = run_study(load_study(study_file), db, backend="ray", workers=2, batch_worlds=5, progress=False)
    assert report.completed == 18
    assert same_results(db, reference)


def test_a_shard_is_stored_while_the_next_batch_simulates(study_file, reference, tmp_path, monkeypatch):
    # Issue 23: on a GPU a batch can simulate faster than its shard is written; the store is written on a
    # thread of its own, so the next batch need not wait. The first shard's write waits here until the
    # second batch has begun: without the overlap, that batch would never begin and the write times out.
    from studies import runner

    second_batch = threading.Event()
    batches: list[int] = []
    simulate, ingest = runner.run_batch, store.ingest

    def run_batch(task, on_round=None):
        batches.append(len(task.runs))
        if len(batches) == 2:
            second_batch.set()
        return simulate(task, on_round)

    def slow_ingest(db, shard, on_wait=None):
        if not second_batch.is_set():
            assert second_batch.wait(timeout=60), "the next batch did not begin while a shard was written"
        return ingest(db, shard, on_wait)

    monkeypatch.setattr(runner, "run_batch", run_batch)
    monkeypatch.setattr(store, "ingest", slow_ingest)
    db = tmp_path / "overlap.duckdb"
    report = run_study(load_study(study_file), db, batch_worlds=6, workers=1, progress=False)
    assert len(batches) == 3 and report.completed == 18
    assert same_results(db, reference)


def test_a_stopped_study_does_not_wait_for_a_reader_to_let_go_of_the_file(study_file, tmp_path, monkeypatch):
    # The store is written on a thread of its own; when the study is stopped (Ctrl-C) while that thread
    # waits for another process holding the file, the wait gives up, and the study stops at once.
    from studies import runner

    db = tmp_path / "held.duckdb"
    plan = load_study(study_file)
    planned = runner.schedule(plan, db, workers=1)  # the study's plan, read before the file is taken
    hold = f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('locked', flush=True); "
    hold += "time.sleep(30)"
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"

        def interrupted(*args, **kwargs):
            time.sleep(0.5)  # the study's record is being written, waiting for the file
            raise KeyboardInterrupt
            yield

        monkeypatch.setattr(runner, "execute", interrupted)
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            run_study(plan, db, workers=1, progress=False, planned=planned)
        assert time.monotonic() - started < 10  # not the 30 s the other process holds the file
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert store.completed_run_ids(db, plan.study_id) == set()  # nothing half-written: a rerun does all


def cli(study_file: Path, db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "studies", "run", str(study_file), "--db", str(db), "--quiet", *extra]


def complete_runs(db: Path) -> int:
    """Runs in the store now, read while the writer may be writing (0 before its tables exist)."""
    if not db.exists():
        return 0
    with contextlib.suppress(store.QueryError):
        return store.query(db, "SELECT count(*) AS n FROM runs")["n"][0]
    return 0


@pytest.mark.parametrize("kill_when_runs", [0, 1, 9, 17])
def test_sigkill_at_any_moment_then_rerun_gives_the_uninterrupted_result(
    study_file, reference, tmp_path, kill_when_runs
):
    db = tmp_path / "killed.duckdb"
    process = subprocess.Popen(cli(study_file, db, "--workers", "1", "--batch-worlds", "1"))
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if db.exists() and complete_runs(db) >= kill_when_runs:
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)  # wherever it is: simulating, mid-transaction, or between batches
    process.wait(timeout=30)
    assert kill_when_runs <= complete_runs(db) < 18
    subprocess.run(cli(study_file, db), check=True, timeout=120)
    assert same_results(db, reference)
    counts = store.query(db, "SELECT count(*) AS runs, count(DISTINCT run_id) AS distinct_runs FROM runs")
    assert counts.row(0) == (18, 18)


def explorer_renders_partial_study(db: Path, monkeypatch) -> bool:
    """The explorer, run headless against the database a study is writing, shows its complete runs."""
    monkeypatch.setenv("STUDIES_DB", str(db))
    monkeypatch.setattr("sys.argv", ["streamlit_app.py"])
    app = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not app.exception, app.exception
    label = app.selectbox(key="study").options[0]
    assert label.startswith("exec · ") and not label.startswith("exec · 18/18")
    return True


def test_queries_and_the_explorer_work_while_a_study_writes(study_file, reference, tmp_path, monkeypatch):
    db = tmp_path / "live.duckdb"
    writer = subprocess.Popen(cli(study_file, db, "--workers", "1", "--batch-worlds", "1"))
    seen, deadline, explorer_checked = [], time.monotonic() + 120, False
    try:
        while writer.poll() is None and time.monotonic() < deadline:
            seen.append(complete_runs(db))
            if not explorer_checked and 3 <= seen[-1] < 15:
                explorer_checked = explorer_renders_partial_study(db, monkeypatch)
            time.sleep(0.2)
        assert writer.wait(timeout=60) == 0
    finally:
        if writer.poll() is None:
            os.kill(writer.pid, signal.SIGKILL)
    assert explorer_checked
    assert seen == sorted(seen)  # never fewer runs than before: no half-written batch is ever visible
    assert len(set(seen)) >= 3  # it saw the study grow, not just before and after
    assert same_results(db, reference)
