"""The results store: round trips, reproducibility from stored rows, resumption, concurrent readers."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time

import numpy as np
import polars as pl
import pytest
import torch
from helpers import tiny_config

from models.games import GAMES
from models.simulate import simulate
from studies import store, summaries
from studies.config import plan_study
from studies.runner import batches, make_tasks, run_study
from studies.worker import metric_frame

METRICS = [m.name for m in GAMES["publication"].metrics]


def table(db, sql):
    return store.query(db, sql)


def test_round_trip_every_stored_value_is_the_simulated_value(tiny_plan, db):
    report = run_study(tiny_plan, db, progress=False)
    assert report.completed == len(tiny_plan.runs) == 4
    runs = table(db, "SELECT * FROM runs ORDER BY run_id")
    assert runs.height == 4 and set(runs["status"]) == {"complete"}
    assert runs.schema["publish_null_prob"].is_float() and runs.schema["n_researchers"].is_integer()
    assert set(runs["code_commit"]) != {None}
    for row in runs.iter_rows(named=True):
        # The stored config and seed alone reproduce the run, value for value.
        config = json.loads(row["config"])
        series = simulate(
            "publication", [config["game"]], config["learners"], [row["seed"]], config["rounds"]
        )
        stored = table(db, f"SELECT step, metric, value FROM metrics WHERE run_id = '{row['run_id']}'")
        expected = {
            (step, METRICS[m]): series[step, 0, m].item()
            for step in range(series.shape[0])
            for m in range(len(METRICS))
            if not np.isnan(series[step, 0, m].item())
        }
        got = {(s, m): v for s, m, v in stored.iter_rows()}
        assert got == pytest.approx(expected, rel=0, abs=0)


def test_final_metrics_average_the_last_tenth_of_rounds(tiny_plan, db):
    run_study(tiny_plan, db, progress=False)
    check = table(
        db,
        """
        SELECT f.value AS view_value, (SELECT avg(value) FROM metrics m
             WHERE m.run_id = f.run_id AND m.metric = f.metric AND m.step >= 36) AS manual
        FROM final_metrics f
        """,
    )
    assert check.height > 0
    np.testing.assert_allclose(check["view_value"], check["manual"])


def test_rerunning_skips_complete_runs_and_doubles_nothing(tiny_plan, db):
    run_study(tiny_plan, db, progress=False)
    before = table(db, "SELECT count(*) AS n FROM metrics")["n"][0]
    again = run_study(tiny_plan, db, progress=False)
    assert again.completed == 0 and again.skipped == 4
    assert table(db, "SELECT count(*) AS n FROM metrics")["n"][0] == before
    assert table(db, "SELECT count(*) AS n FROM studies")["n"][0] == 1


def test_an_interrupted_study_resumes_to_the_uninterrupted_result(tiny_plan, tmp_path, monkeypatch):
    reference_db = tmp_path / "reference.duckdb"
    run_study(tiny_plan, reference_db, batch_worlds=1, progress=False)

    db = tmp_path / "interrupted.duckdb"
    real_ingest, written = store.ingest, []

    def ingest_then_die(*args, **kwargs):
        if len(written) == 2:
            raise KeyboardInterrupt  # the process is stopped while the third batch is in flight
        written.append(real_ingest(*args, **kwargs))

    monkeypatch.setattr(store, "ingest", ingest_then_die)
    with pytest.raises(KeyboardInterrupt):
        run_study(tiny_plan, db, batch_worlds=1, progress=False)
    assert table(db, "SELECT count(*) AS n FROM runs")["n"][0] == 2
    monkeypatch.setattr(store, "ingest", real_ingest)
    resumed = run_study(tiny_plan, db, batch_worlds=3, progress=False)  # batch size is speed only
    assert resumed.completed == 2 and resumed.skipped == 2

    sql = "SELECT run_id, step, metric, value FROM metrics ORDER BY ALL"
    assert table(db, sql).equals(table(reference_db, sql))


def test_a_refused_config_writes_nothing(db):
    config = {"study": {"name": "bad"}, "game": {"base_rate": 7}}
    with pytest.raises(Exception, match="base_rate"):
        run_study(plan_study(config), db, progress=False)
    assert not db.exists()


def test_a_reader_waits_for_a_writer_holding_the_lock(tiny_plan, db):
    run_study(tiny_plan, db, progress=False)
    hold = (
        f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('locked', flush=True); time.sleep(1.5)"
    )
    holder = subprocess.Popen([sys.executable, "-c", hold], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    started = time.monotonic()
    count = table(db, "SELECT count(*) AS n FROM runs")["n"][0]
    assert count == 4
    assert time.monotonic() - started > 0.5  # it waited for the lock instead of failing
    holder.wait(timeout=10)


def test_a_shards_metric_rows_are_every_defined_value_with_its_run_step_and_name(tiny_plan):
    task = make_tasks(tiny_plan, tiny_plan.runs[:3], 256, 1, "cpu")[0]
    task = dataclasses.replace(task, record_every=5)
    series = np.random.default_rng(0).random((4, 3, len(METRICS)))
    series[0, 1, 2] = series[3, 0, :] = np.nan  # undefined that round: no row
    frame = metric_frame(task, series).with_columns(pl.col("run_id", "metric").cast(pl.String))
    expected = [
        (run.run_id, 5 * step, METRICS[m], series[step, w, m])
        for step in range(4)
        for w, run in enumerate(task.runs)
        for m in range(len(METRICS))
        if not np.isnan(series[step, w, m])
    ]
    assert frame.rows() == expected and frame.height == 4 * 3 * len(METRICS) - 1 - len(METRICS)


def test_the_file_is_free_between_blocks_and_other_writers_are_seen(tiny_plan, db):
    """The process keeps its DuckDB hosts, not the file: right after a query another process can open it
    read-write, and what that process writes the next query sees."""
    run_study(tiny_plan, db, progress=False)
    hosts = dict(store._HOSTS._connections)
    assert table(db, "SELECT count(*) AS n FROM runs")["n"][0] == 4
    run_study(tiny_plan, db, progress=False)  # nothing to do but look
    assert store._HOSTS._connections == hosts  # clean blocks keep the hosts: no new DuckDB each time
    write = f"import duckdb; duckdb.connect({str(db)!r}).execute(\"UPDATE runs SET learner = 'edited'\")"
    subprocess.run([sys.executable, "-c", write], check=True, timeout=60)
    assert set(table(db, "SELECT learner FROM runs")["learner"]) == {"edited"}


def test_a_failed_write_or_a_query_that_leaves_things_behind_does_not_reach_the_next_block(
    tiny_plan, db, monkeypatch
):
    run_study(tiny_plan, db, progress=False)
    with pytest.raises(store.QueryError):
        store.query(db, "INSERT INTO runs (run_id) VALUES ('x')")  # read-only: refused
    store.query(db, "CREATE TEMP TABLE scratch AS SELECT 1 AS one")
    with pytest.raises(store.QueryError, match="scratch"):
        store.query(db, "SELECT * FROM scratch")
    with pytest.raises(RuntimeError, match="disk on fire"), store.connect(db) as con:
        con.begin()
        con.execute("DELETE FROM metrics")
        raise RuntimeError("disk on fire")  # the open transaction is rolled back, not committed
    assert table(db, "SELECT count(*) AS n FROM metrics")["n"][0] > 0
    other = db.with_name("other.duckdb")
    run_study(tiny_plan, other, progress=False)  # a second file through the same hosts
    assert table(other, "SELECT count(*) AS n FROM runs")["n"][0] == 4


def test_a_users_sql_cannot_write_through_attach_nor_leave_settings_or_the_file_held(tiny_plan, db):
    run_study(tiny_plan, db, progress=False)
    with pytest.raises(store.QueryError, match="ATTACH and DETACH are not allowed"):
        store.query(db, f"DETACH results; ATTACH '{db}' AS results; INSERT INTO store_info VALUES ('a', 'b')")
    assert table(db, "SELECT count(*) AS n FROM store_info WHERE key = 'a'")["n"][0] == 0
    store.query(db, "SET TimeZone = 'Asia/Tokyo'")
    assert table(db, "SELECT current_setting('TimeZone') AS tz")["tz"][0] != "Asia/Tokyo"
    # Spills go next to the database, as with a connection of its own, not into the working directory.
    assert table(db, "SELECT current_setting('temp_directory') AS d")["d"][0] == f"{db}.tmp"
    with pytest.raises(store.QueryError, match="it holds 2 statements, and one is allowed"):
        store.query(db, "BEGIN TRANSACTION; SELECT 1")
    store.query(db, "BEGIN TRANSACTION")  # a transaction left open must not keep the file
    write = f"import duckdb; duckdb.connect({str(db)!r}).execute('CHECKPOINT')"
    subprocess.run([sys.executable, "-c", write], check=True, timeout=60)


def test_a_forked_child_uses_the_store_and_exits_cleanly(tiny_plan, db):
    """A fork (multiprocessing's default on Linux) must not inherit the parent's DuckDB hosts: a child
    that used or merely inherited them crashed at exit."""
    run_study(tiny_plan, db, progress=False)
    script = f"""
import os, sys
from pathlib import Path
from studies import store
db = Path({str(db)!r})
store.query(db, "SELECT 1")
pid = os.fork()
if pid == 0:
    sys.exit(0 if store.query(db, "SELECT count(*) AS n FROM runs")["n"][0] == 4 else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), store.query(db, "SELECT count(*) AS n FROM runs")["n"][0])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["0", "4"], done.stderr


def test_a_missing_database_is_explained(tmp_path):
    with pytest.raises(store.StoreError, match="run a study first"):
        store.query(tmp_path / "none.duckdb", "SELECT 1")


def test_database_path_prefers_option_then_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("STUDIES_DB", raising=False)
    assert store.database_path(None) == store.DEFAULT_DB
    monkeypatch.setenv("STUDIES_DB", str(tmp_path / "env.duckdb"))
    assert store.database_path(None) == tmp_path / "env.duckdb"
    assert store.database_path(tmp_path / "cli.duckdb") == tmp_path / "cli.duckdb"


def test_batches_group_runs_with_equal_shapes_only():
    config = {
        "study": {"name": "shapes", "rounds": 5, "replications": 2},
        "sweep": {"n_researchers": [10, 20], "base_rate": [0.1, 0.2]},
    }
    plan = plan_study(config)
    groups = list(batches(plan, plan.runs, batch_worlds=3))
    assert sorted(len(g) for g in groups) == [1, 1, 3, 3]
    for group in groups:
        assert len({run.game["n_researchers"] for run in group}) == 1


def test_sparse_recording_still_gives_every_run_an_outcome(db):
    plan = plan_study(tiny_config(rounds=100, record_every=20, replications=1))
    run_study(plan, db, progress=False)
    outcome = table(db, "SELECT run_id, steps_averaged FROM final_metrics WHERE metric = 'mean_rigor'")
    assert outcome.height == len(plan.runs)
    assert set(outcome["steps_averaged"]) == {1}  # only step 80 lies in the window, and it is used


def test_a_single_seed_has_no_interval_rather_than_a_zero_width_one(db):
    plan = plan_study(tiny_config(replications=1))
    run_study(plan, db, progress=False)
    frame = summaries.outcome_by_design_point(db, plan.study_id, "mean_rigor")
    assert frame["ci_low"].null_count() == frame.height and frame["mean"].null_count() == 0


def test_an_empty_database_lists_no_study_and_bad_sql_is_a_query_error(db):
    import duckdb

    duckdb.connect(str(db)).close()
    assert store.list_studies(db).is_empty()
    with pytest.raises(store.QueryError, match="the query failed"):
        store.query(db, "SELECT * FROM no_such_table")


def test_a_sweep_over_learner_numbers_runs_as_one_batch_with_the_numbers_of_separate_runs():
    config = {
        "study": {"name": "temps", "rounds": 30, "replications": 2},
        "game": {"n_researchers": 15},
        "sweep": {
            "learners.researcher.temperature": [0.05, 0.5],
            "learners.researcher.learning_rate": [0.1, 0.3],
        },
    }
    plan = plan_study(config)
    (batch,) = list(batches(plan, plan.runs, batch_worlds=100))
    assert len(batch) == 8
    together = simulate(
        "publication", [r.game for r in batch], {"researcher": [r.learners["researcher"] for r in batch]},
        [r.seed for r in batch], rounds=30,
    )  # fmt: skip
    for i, run in enumerate(batch):
        alone = simulate("publication", [run.game], run.learners, [run.seed], rounds=30)
        torch.testing.assert_close(together[:, i : i + 1], alone, rtol=0, atol=0, equal_nan=True)
    exploration = plan_study(
        {**config, "sweep": {"learners.researcher.exploration": ["softmax", "epsilon_greedy"]}}
    )
    assert len(list(batches(exploration, exploration.runs, batch_worlds=100))) == 2
