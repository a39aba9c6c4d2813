"""The results store: one DuckDB file with tables `studies`, `runs` and `metrics`, and a view `final_metrics`.

DuckDB allows one read-write process or many read-only ones, never both. So nobody holds a connection
longer than one query or one write, and opening retries while another process holds the lock: a study
and the explorer (or `python -m studies query`) can then share the file.

A batch of runs is written in one transaction, so a run is either complete in the database or absent:
an interrupted study loses at most the batch in flight, and rerunning it redoes just that.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from studies.config import Run, StudyPlan
from studies.version import code_version

DEFAULT_DB = Path("data") / "results.duckdb"
SCHEMA_VERSION = "1"
LOCK_TIMEOUT_S = 60.0

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR);
INSERT OR IGNORE INTO store_info
    VALUES ('schema_version', '{SCHEMA_VERSION}'), ('created_by', 'reward-design-lab');
CREATE TABLE IF NOT EXISTS studies (
    study_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    description VARCHAR,
    game VARCHAR NOT NULL,
    swept_parameters VARCHAR[],
    design_points INTEGER,
    replications INTEGER,
    rounds INTEGER,
    record_every INTEGER,
    study_seed UBIGINT,
    config JSON,
    source_file VARCHAR,
    created_at TIMESTAMPTZ,
    code_commit VARCHAR
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    study_id VARCHAR NOT NULL,
    game VARCHAR NOT NULL,
    design_point INTEGER NOT NULL,
    replicate INTEGER NOT NULL,
    seed UBIGINT NOT NULL,
    rounds INTEGER NOT NULL,
    record_every INTEGER NOT NULL,
    learner VARCHAR,
    config JSON,
    code_commit VARCHAR,
    code_dirty BOOLEAN,
    package_versions JSON,
    status VARCHAR NOT NULL,
    device VARCHAR,
    batch_worlds INTEGER,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    wall_seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR NOT NULL, step INTEGER NOT NULL, metric VARCHAR NOT NULL,
                                    value DOUBLE NOT NULL);
-- A run's outcome: its last tenth of rounds, or at least its last recorded round when recording is sparse.
CREATE OR REPLACE VIEW final_metrics AS
    SELECT m.run_id, m.metric, avg(m.value) AS value, count(*) AS steps_averaged
    FROM metrics m JOIN runs r USING (run_id)
    WHERE m.step >= least(r.rounds - greatest(r.rounds // 10, 1),
                          (r.rounds - 1) // r.record_every * r.record_every)
    GROUP BY m.run_id, m.metric;
"""

SQL_TYPES = {int: "BIGINT", float: "DOUBLE", str: "VARCHAR", bool: "BOOLEAN", list: "DOUBLE[]"}


class StoreError(RuntimeError):
    """The results database cannot be used as asked; the message says why and what to do."""


class QueryError(StoreError):
    """A query the database refused (bad SQL, a write on a read-only connection, a missing table)."""


def database_path(option: str | os.PathLike | None = None) -> Path:
    """--db PATH, else the STUDIES_DB environment variable, else data/results.duckdb."""
    return Path(option or os.environ.get("STUDIES_DB") or DEFAULT_DB)


@contextlib.contextmanager
def connect(path: Path, read_only: bool = False, timeout: float = LOCK_TIMEOUT_S) -> Iterator[Any]:
    """A connection held only for the block; waits while another process holds the file's lock."""
    if read_only and not path.exists():
        raise StoreError(
            f"there is no results database at {path}: run a study first, for example "
            "`python -m studies run studies/publication_bias.toml`."
        )
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    deadline, pause = time.monotonic() + timeout, 0.02
    while True:
        try:
            con = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise StoreError(f"cannot open the results database {path}: {error}") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
    try:
        yield con
    finally:
        con.close()


def ensure_schema(path: Path) -> None:
    with connect(path) as con:
        con.execute(SCHEMA)


def column_name(sweep_key: str) -> str:
    """The runs column of a parameter: `base_rate`, or `researcher_temperature` for a learner's."""
    parts = sweep_key.split(".")
    return parts[0] if len(parts) == 1 else f"{parts[1]}_{parts[2]}"


def _parameter_columns(run: Run) -> dict[str, Any]:
    values = dict(run.game)
    for role, learner in run.learners.items():
        values.update({f"{role}_{key}": value for key, value in learner.items()})
    return values


def _column_types(plan: StudyPlan) -> dict[str, str]:
    return {name: SQL_TYPES[type(value)] for name, value in _parameter_columns(plan.runs[0]).items()}


def register_study(path: Path, plan: StudyPlan) -> None:
    """Create the schema if needed and record the study (once; rerunning keeps the first record)."""
    version = code_version()
    with connect(path) as con:
        con.execute(SCHEMA)
        for name, sql_type in _column_types(plan).items():
            con.execute(f'ALTER TABLE runs ADD COLUMN IF NOT EXISTS "{name}" {sql_type}')
        con.execute(
            "INSERT OR IGNORE INTO studies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan.study_id,
                plan.name,
                plan.description,
                plan.game.name,
                [column_name(key) for key in plan.swept],
                plan.design_points,
                plan.replications,
                plan.rounds,
                plan.record_every,
                plan.seed,
                json.dumps(plan.config, sort_keys=True),
                plan.source,
                datetime.now(UTC),
                version["commit"],
            ],
        )


def completed_run_ids(path: Path, study_id: str) -> set[str]:
    if not path.exists():
        return set()
    with connect(path, read_only=True) as con:
        rows = con.execute(
            "SELECT run_id FROM runs WHERE study_id = ? AND status = 'complete'", [study_id]
        ).fetchall()
    return {row[0] for row in rows}


def write_batch(
    path: Path,
    plan: StudyPlan,
    runs: list[Run],
    series: np.ndarray,
    timing: dict[str, Any],
) -> None:
    """Write complete runs and their metric series (recorded steps, worlds, metrics) in one transaction."""
    version = code_version()
    run_rows = []
    for run in runs:
        learner = ", ".join(f"{role}={cfg['kind']}" for role, cfg in sorted(run.learners.items()))
        run_config = {"game": run.game, "learners": run.learners, "rounds": plan.rounds, "seed": run.seed}
        run_rows.append(
            {
                "run_id": run.run_id,
                "study_id": plan.study_id,
                "game": plan.game.name,
                "design_point": run.design_point,
                "replicate": run.replicate,
                "seed": run.seed,
                "rounds": plan.rounds,
                "record_every": plan.record_every,
                "learner": learner,
                "config": json.dumps(run_config, sort_keys=True),
                "code_commit": version["commit"],
                "code_dirty": version["dirty"],
                "package_versions": json.dumps(version["packages"], sort_keys=True),
                "status": "complete",
                "device": timing["device"],
                "batch_worlds": len(runs),
                "started_at": timing["started_at"],
                "finished_at": timing["finished_at"],
                "wall_seconds": timing["wall_seconds"],
                **_parameter_columns(run),
            }
        )
    run_frame = pl.DataFrame(run_rows, infer_schema_length=None)

    n_steps, n_worlds, n_metrics = series.shape
    steps = np.arange(n_steps, dtype=np.int32) * plan.record_every
    values = series.reshape(-1)
    keep = ~np.isnan(values)
    world = np.broadcast_to(np.arange(n_worlds)[None, :, None], series.shape).reshape(-1)[keep]
    metric_names = [m.name for m in plan.game.metrics]
    metric_frame = pl.DataFrame(
        {
            "run_id": np.array([run.run_id for run in runs], dtype=object)[world],
            "step": np.broadcast_to(steps[:, None, None], series.shape).reshape(-1)[keep],
            "metric": np.array(metric_names, dtype=object)[
                np.broadcast_to(np.arange(n_metrics)[None, None, :], series.shape).reshape(-1)[keep]
            ],
            "value": values[keep],
        },
        schema={"run_id": pl.String, "step": pl.Int32, "metric": pl.String, "value": pl.Float64},
    )
    with connect(path) as con:
        con.begin()
        try:
            con.register("run_frame", run_frame)
            con.register("metric_frame", metric_frame)
            con.execute("INSERT INTO runs BY NAME SELECT * FROM run_frame")
            con.execute("INSERT INTO metrics SELECT * FROM metric_frame")
            con.commit()
        except Exception:
            con.rollback()
            raise


def query(path: Path, sql: str, parameters: list[Any] | None = None) -> pl.DataFrame:
    """Run one read-only query and return its result; refuses writes."""
    with connect(path, read_only=True) as con:
        try:
            return con.sql(sql, params=parameters or None).pl()
        except duckdb.Error as error:
            raise QueryError(f"the query failed: {error}") from None


def list_studies(path: Path) -> pl.DataFrame:
    """Every study with its progress, oldest first; empty for a database that holds no study table yet."""
    with connect(path, read_only=True) as con:
        tables = {
            row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        if not {"studies", "runs", "metrics"} <= tables:
            return pl.DataFrame()
        return con.sql(
            """
            SELECT s.name, s.study_id, s.game, array_to_string(s.swept_parameters, ', ') AS swept,
                   count(r.run_id) AS runs_complete, s.design_points * s.replications AS runs_planned,
                   s.rounds, strftime(s.created_at, '%Y-%m-%d %H:%M') AS created
            FROM studies s LEFT JOIN runs r ON r.study_id = s.study_id AND r.status = 'complete'
            GROUP BY ALL ORDER BY max(s.created_at), s.study_id
            """
        ).pl()
