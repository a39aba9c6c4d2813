"""Run a planned study: pending runs grouped into batches of worlds, each batch stepped together.

Runs that share tensor shapes and learner settings run as one batch on the engine's worlds axis, so a
sweep is a few large tensor steps, not many small Python loops. Because random draws are counter-based,
a run's numbers do not depend on which batch it lands in: batch size is a speed knob, never a result.
Complete runs already in the store are skipped, so rerunning an interrupted study finishes it.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
from tqdm import tqdm

from models.params import ConfigError
from models.simulate import simulate
from studies import store
from studies.config import Run, StudyPlan

DEFAULT_BATCH_WORLDS = 256


@dataclass
class RunReport:
    study_id: str
    planned: int
    skipped: int
    completed: int
    wall_seconds: float


def _batch_key(plan: StudyPlan, run: Run) -> str:
    shape = {key: run.game[key] for key, p in plan.game.params.params.items() if not p.per_world}
    return json.dumps({"shape": shape, "learners": run.learners}, sort_keys=True)


def batches(plan: StudyPlan, runs: list[Run], batch_worlds: int) -> Iterator[list[Run]]:
    """Pending runs grouped by shape and learner settings, in chunks of at most batch_worlds."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(_batch_key(plan, run), []).append(run)
    for group in groups.values():
        for start in range(0, len(group), batch_worlds):
            yield group[start : start + batch_worlds]


def run_study(
    plan: StudyPlan,
    db: Path,
    batch_worlds: int = DEFAULT_BATCH_WORLDS,
    device: str = "cpu",
    progress: bool = True,
) -> RunReport:
    """Run every run of the plan not yet complete in the store at `db`."""
    begun = time.perf_counter()
    store.register_study(db, plan)
    done = store.completed_run_ids(db, plan.study_id)
    pending = [run for run in plan.runs if run.run_id not in done]
    bar = tqdm(
        total=len(pending) * plan.rounds,
        unit="world-round",
        unit_scale=True,
        desc=plan.name,
        disable=not progress or not pending,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    with bar:
        for batch in batches(plan, pending, batch_worlds):
            started_at, t0 = datetime.now(UTC), time.perf_counter()
            series = simulate(
                plan.game.name,
                [run.game for run in batch],
                batch[0].learners,
                [run.seed for run in batch],
                plan.rounds,
                device=device,
                record_every=plan.record_every,
                on_round=lambda _t, n=len(batch): bar.update(n),  # noqa: B008
            )
            timing = {
                "device": device,
                "started_at": started_at,
                "finished_at": datetime.now(UTC),
                "wall_seconds": time.perf_counter() - t0,
            }
            store.write_batch(db, plan, batch, series.numpy(), timing)
    return RunReport(
        study_id=plan.study_id,
        planned=len(plan.runs),
        skipped=len(plan.runs) - len(pending),
        completed=len(pending),
        wall_seconds=time.perf_counter() - begun,
    )


def resolve_device(device: str) -> str:
    """'cpu', or 'cuda' when asked and available (otherwise a clear refusal)."""
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device!r} is not allowed: use cpu or cuda.")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but this machine has no CUDA device: use cpu.")
    return device
