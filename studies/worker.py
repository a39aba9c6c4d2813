"""What a worker does: simulate one batch of runs and hand back its results as a shard.

Workers never open the DuckDB file (it allows one writer): they return a shard, two polars tables (which
cross process and Ray boundaries as Arrow IPC), and only the driver ingests shards into the store. The
same function runs in-process, in a local process pool and as a Ray task, so every backend produces the
same rows.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.ma  # polars imports it at its first numpy conversion (13 ms): a start-up cost, as polars'
import polars as pl
import torch

from models.extensions import load_extensions
from models.games import get_game
from models.metrics import compute_rounds
from models.simulate import play
from studies.config import Run


@dataclass(frozen=True)
class BatchTask:
    """Everything a worker needs, picklable: the runs of one batch and how to record them."""

    study_id: str
    game: str
    rounds: int
    record_every: int
    runs: list[Run]
    device: str
    threads: int
    version: dict[str, Any]
    extensions: tuple[str, ...] = ()  # modules that register the study's added parts, imported first

    @property
    def world_rounds(self) -> int:
        return len(self.runs) * self.rounds


@dataclass(frozen=True)
class Shard:
    """A batch's rows for the `runs` and `metrics` tables."""

    run_ids: list[str]
    runs: pl.DataFrame
    metrics: pl.DataFrame
    record_seconds: float = 0.0  # computing the metrics and building these tables, after the simulation


def parameter_columns(run: Run) -> dict[str, Any]:
    """A run's parameters as `runs` columns: game parameters by name, learner ones as `<role>_<name>`."""
    values = dict(run.game)
    for role, learner in run.learners.items():
        values.update({f"{role}_{key}": value for key, value in learner.items()})
    return values


def run_frame(task: BatchTask, timing: dict[str, Any]) -> pl.DataFrame:
    rows = []
    for run in task.runs:
        learner = ", ".join(f"{role}={cfg['kind']}" for role, cfg in sorted(run.learners.items()))
        config = {"game": run.game, "learners": run.learners, "rounds": task.rounds, "seed": run.seed}
        rows.append(
            {
                "run_id": run.run_id,
                "study_id": task.study_id,
                "game": task.game,
                "design_point": run.design_point,
                "replicate": run.replicate,
                "seed": run.seed,
                "rounds": task.rounds,
                "record_every": task.record_every,
                "learner": learner,
                "config": json.dumps(config, sort_keys=True),
                "code_commit": task.version["commit"],
                "code_dirty": task.version["dirty"],
                "code_diff": task.version["diff"],
                "package_versions": json.dumps(task.version["packages"], sort_keys=True),
                "status": "complete",
                "device": task.device,
                "batch_worlds": len(task.runs),
                **timing,
                **parameter_columns(run),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def metric_frame(task: BatchTask, series: np.ndarray) -> pl.DataFrame:
    """Long form (run_id, step, metric, value) of a (steps, worlds, metrics) array, NaN rows dropped.

    run_id and metric are dictionary-encoded (polars Enum, stored as VARCHAR): a row holds a one-byte code,
    not a copy of the name, so a shard is built without string copies and pickles to a third of the size
    in a tenth of the time on its way from a pool or Ray worker to the driver.
    """
    kept = ~np.isnan(series)
    steps = np.arange(series.shape[0], dtype=np.int32) * task.record_every
    step, world, metric = (
        np.broadcast_to(axis, series.shape)[kept]
        for axis in np.ix_(steps, np.arange(series.shape[1]), np.arange(series.shape[2]))
    )
    return pl.DataFrame(
        {
            "run_id": _codes([run.run_id for run in task.runs]).gather(world),
            "step": step,
            "metric": _codes([m.name for m in get_game(task.game).metrics]).gather(metric),
            "value": series[kept],
        }
    )


def _codes(names: list[str]) -> pl.Series:
    return pl.Series(names, dtype=pl.Enum(names))


def run_batch(task: BatchTask, on_round: Callable[[int], None] | None = None) -> Shard:
    """Simulate the batch and return its shard. The batch's share of the cores holds while it runs; the
    process's thread count is restored after (a batch run in the explorer's process must not keep it)."""
    load_extensions(task.extensions)
    started_at, begun = datetime.now(UTC), time.perf_counter()
    threads = torch.get_num_threads()
    torch.set_num_threads(task.threads)
    try:
        tallies = play(
            task.game,
            [run.game for run in task.runs],
            {role: [run.learners[role] for run in task.runs] for role in task.runs[0].learners},
            [run.seed for run in task.runs],
            task.rounds,
            device=task.device,
            record_every=task.record_every,
            on_round=on_round,
        )
        simulated = time.perf_counter()
        series = compute_rounds(get_game(task.game).metrics, tallies).cpu()
    finally:
        torch.set_num_threads(threads)
    timing = {
        "started_at": started_at,
        "finished_at": datetime.now(UTC),
        "wall_seconds": time.perf_counter() - begun,
    }
    return Shard(
        run_ids=[run.run_id for run in task.runs],
        runs=run_frame(task, timing),
        metrics=metric_frame(task, series.numpy()),
        record_seconds=time.perf_counter() - simulated,
    )
