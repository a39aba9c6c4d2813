"""Run a planned study: pending runs grouped into batches of worlds, batches spread over workers.

Runs that share tensor shapes and learner settings run as one batch on the engine's worlds axis, so a
sweep is a few large tensor steps, not many small Python loops. Batches go to the driver process itself,
a local process pool (`--workers`), or Ray tasks (`--backend ray`); each returns a shard that only the
driver ingests, one transaction per shard. Because random draws are counter-based, a run's
numbers depend neither on its batch nor on its worker: batch size, workers and backend are speed knobs.
Complete runs already in the store are skipped, so rerunning an interrupted study finishes it.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from models.learners import LEARNERS
from models.params import ConfigError, ParamSpace
from studies import sensitivity, store
from studies.config import Run, StudyPlan
from studies.version import code_version
from studies.worker import BatchTask, Shard, run_batch

DEFAULT_BATCH_WORLDS = 256  # on the CPU
# On a GPU a round costs about the same 3-5 ms up to a million agents (README, Performance), so a batch takes
# as many worlds as its memory holds, and one process drives the GPU; but a study large enough is split into
# GPU_PIPELINE_BATCHES batches of at least GPU_PIPELINE_AGENTS agents a round, so that each batch's shard is
# written to the store while the next simulates (run_study): one batch would simulate, then write it all.
GPU_BATCH_WORLDS = 1_000_000
GPU_PIPELINE_BATCHES = 4
GPU_PIPELINE_AGENTS = 2_000_000
BACKENDS = ("local", "ray")
BYTES_PER_METRIC_VALUE = 16  # DuckDB's compressed metrics rows, measured on the default study, rounded up
# What a batch holds in memory per recorded round until it ends: the round's tallies as small tensors and
# Python objects, whatever its worlds (measured 9 KB for the publication game, 4 KB for the election game,
# torch 2.13), and per world its numbers; and per recorded metric value, the frames it is copied into.
BYTES_PER_RECORDED_ROUND = 16 * 1024
BYTES_PER_WORLD_RECORDED_ROUND = 128
BYTES_PER_RECORDED_VALUE = 8 * 4  # metric frames are copied about four times on their way out
# torch's intra-op threads pay only on large tensors; on small ones they cost several times their gain
# (measured: 3.5x slower with 2 threads on a loaded 2-core machine for 25 worlds x 100 agents).
THREADED_BATCH_AGENTS = 262_144
AUTO_POOL_AGENT_ROUNDS = 20_000_000  # about 15 s in one process; below it, starting a pool costs more


@dataclass
class RunReport:
    study_id: str
    planned: int
    skipped: int
    completed: int
    wall_seconds: float
    workers: int
    sensitivity_rows: int = 0
    record_seconds: float = 0.0  # metrics collection and store writes, measured where they happen

    @property
    def overhead_share(self) -> float:
        """Share of the study's time spent on metrics and the store rather than on simulation."""
        return self.record_seconds / self.wall_seconds if self.wall_seconds else 0.0


def _batch_key(plan: StudyPlan, run: Run) -> str:
    """What worlds of one batch must share: shape parameters and the settings that pick code paths."""

    def shared(space: ParamSpace, values: dict[str, Any]) -> dict[str, Any]:
        return {
            key: values[key] for key, p in space.params.items() if not (p.varies_per_world or p.indexed)
        }

    learners = {
        role: {"kind": c["kind"], **shared(LEARNERS[c["kind"]].params, c)} for role, c in run.learners.items()
    }
    return json.dumps({"game": shared(plan.game.params, run.game), "learners": learners}, sort_keys=True)


def batches(plan: StudyPlan, runs: list[Run], batch_worlds: int) -> Iterator[list[Run]]:
    """Pending runs grouped by shape and learner settings, in chunks of at most batch_worlds."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(_batch_key(plan, run), []).append(run)
    for group in groups.values():
        for start in range(0, len(group), batch_worlds):
            yield group[start : start + batch_worlds]


def agents_per_world(plan: StudyPlan, run: Run) -> int:
    return sum(n for n, _ in plan.game.role_shapes(run.game).values())


def gpu_batch_worlds(plan: StudyPlan, runs: list[Run]) -> int:
    """Worlds a GPU batch takes before memory is counted (fit_batch_worlds): the study in
    GPU_PIPELINE_BATCHES batches where each still holds GPU_PIPELINE_AGENTS agents a round, else in as few
    as that size allows."""
    if not runs:
        return GPU_BATCH_WORLDS
    agents = max(agents_per_world(plan, run) for run in runs)
    keeping_busy = math.ceil(GPU_PIPELINE_AGENTS / agents)
    return min(GPU_BATCH_WORLDS, max(math.ceil(len(runs) / GPU_PIPELINE_BATCHES), keeping_busy))


def available_memory() -> int:
    """Bytes the system says it can give without swapping (Linux); a large number where unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 1 << 50


def gpu_memory(device: str) -> int:
    """Bytes free on the GPU."""
    return torch.cuda.mem_get_info(device)[0]


def fit_batch_worlds(
    plan: StudyPlan, runs: list[Run], db: Path, batch_worlds: int, workers: int, device: str = "cpu"
) -> int:
    """The batch size to use: as asked, or smaller if the batches in flight would not fit in memory (the
    rounds' peak, the literature included, in the GPU's on a GPU; what every recorded round keeps until
    the batch ends, in the machine's).

    Refuses, saying what it would need, a study of which one world does not fit in memory, or whose
    metrics exceed the free disk space next to the database.
    """
    if not runs:
        return batch_worlds
    peak, agents = max(
        (plan.game.peak_bytes_per_world(r.game), agents_per_world(plan, r)) for r in runs
    )
    recorded_rounds = math.ceil(plan.rounds / plan.record_every)
    recorded = recorded_rounds * len(plan.game.metrics)
    metrics = recorded * BYTES_PER_RECORDED_VALUE + recorded_rounds * BYTES_PER_WORLD_RECORDED_ROUND
    per_batch = recorded_rounds * BYTES_PER_RECORDED_ROUND
    # The machine's memory holds a batch's records and the shard before it, still being written (run_study).
    if device == "cpu":
        needs = [(peak + 2 * metrics, per_batch, available_memory(), "memory")]
    else:
        needs = [
            (peak, per_batch, gpu_memory(device), "GPU memory"),
            (2 * metrics, per_batch, available_memory(), "memory"),
        ]
    for per_world, fixed, free, memory in needs:
        budget = free * 0.8 / max(workers, 1)
        if fixed + per_world > budget:
            raise ConfigError(
                f"one world of this study needs about {(fixed + per_world) / 2**30:.1f} GiB of {memory} "
                f"({agents:,} agents, {recorded_rounds:,} recorded rounds of {len(plan.game.metrics)} "
                f"metrics), and {budget / 2**30:.1f} GiB are available per worker: use fewer agents, fewer "
                "rounds or a larger study.record_every, fewer workers or a larger machine."
            )
        batch_worlds = min(batch_worlds, int((budget - fixed) // max(per_world, 1)))
    disk = len(runs) * recorded * BYTES_PER_METRIC_VALUE
    free = shutil.disk_usage(db.parent if db.parent.exists() else Path.cwd()).free
    if disk > free:
        raise ConfigError(
            f"the study's metrics need about {disk / 2**30:.1f} GiB of disk and {free / 2**30:.1f} GiB are "
            f"free next to {db}: record less often (study.record_every), run fewer rounds, or choose "
            "another --db."
        )
    return max(1, batch_worlds)


def make_tasks(
    plan: StudyPlan, runs: list[Run], batch_worlds: int, workers: int, device: str
) -> list[BatchTask]:
    """Batches small enough that every worker gets work, each with its share of the cores."""
    size = max(1, min(batch_worlds, math.ceil(len(runs) / max(workers, 1))))
    share = max(1, (os.cpu_count() or 1) // max(workers, 1))
    version = code_version()
    return [
        BatchTask(
            study_id=plan.study_id,
            game=plan.game.name,
            rounds=plan.rounds,
            record_every=plan.record_every,
            runs=batch,
            device=device,
            threads=share
            if sum(agents_per_world(plan, run) for run in batch) >= THREADED_BATCH_AGENTS
            else 1,
            version=version,
            extensions=tuple(plan.config["study"].get("extensions", ())),
        )
        for batch in batches(plan, runs, size)
    ]


def choose_workers(
    requested: int | None, plan: StudyPlan, runs: list[Run], backend: str, device: str = "cpu"
) -> int:
    """As asked; by default every core, except for studies too small to repay a pool's start-up, and one
    process on a GPU (its batches are large instead)."""
    if requested is not None:
        return requested
    if device != "cpu" and backend == "local":
        return 1
    cores = os.cpu_count() or 1
    if backend == "ray":
        return cores
    work = sum(agents_per_world(plan, run) for run in runs) * plan.rounds
    return cores if work >= AUTO_POOL_AGENT_ROUNDS else 1


def execute(
    tasks: list[BatchTask], workers: int, backend: str, address: str | None, bar: tqdm
) -> Iterator[Shard]:
    """Shards as batches finish, from the driver itself, a process pool, or Ray."""
    if backend == "ray":
        yield from _execute_on_ray(tasks, address, bar)
    elif workers <= 1:
        for task in tasks:
            yield run_batch(task, on_round=lambda _t, n=len(task.runs): bar.update(n))  # noqa: B008
    else:
        # 'spawn', not 'fork': forking a process whose torch thread pool is running can deadlock.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = {pool.submit(run_batch, task): task for task in tasks}
            try:
                for future in as_completed(futures):
                    bar.update(futures[future].world_rounds)
                    yield future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise


def _execute_on_ray(tasks: list[BatchTask], address: str | None, bar: tqdm) -> Iterator[Shard]:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "--backend ray needs Ray, an optional extra: pip install -e '.[ray]' (or use --backend local)."
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False, configure_logging=False)
    remote = ray.remote(run_batch)
    waiting = {remote.options(num_cpus=task.threads).remote(task): task for task in tasks}
    try:
        while waiting:
            done, _ = ray.wait(list(waiting), num_returns=1)
            task = waiting.pop(done[0])
            bar.update(task.world_rounds)
            yield ray.get(done[0])
    finally:
        for reference in waiting:
            ray.cancel(reference)
        if started_here:
            ray.shutdown()


@dataclass
class Schedule:
    """What a run of a study would do: its runs not yet in the store, in batches for the workers."""

    done: set[str]  # run ids already complete in the store
    pending: list[Run]
    tasks: list[BatchTask]
    workers: int
    lookup_seconds: float  # reading the store for completed runs


def schedule(
    plan: StudyPlan,
    db: Path,
    batch_worlds: int | None = None,
    device: str = "cpu",
    workers: int | None = None,
    backend: str = "local",
) -> Schedule:
    """Plan the pending runs into batches, after every check a run makes before simulating: the backend and
    workers asked for, the store (a foreign database is refused, untouched), memory and disk. Writes nothing
    but the database's folder, if missing; `python -m studies check` shows it."""
    if backend not in BACKENDS:
        raise ConfigError(f"--backend {backend!r} is not allowed: use {' or '.join(BACKENDS)}.")
    if workers is not None and workers < 1:
        raise ConfigError(f"--workers {workers} is not allowed: use a whole number of at least 1.")
    begun = time.perf_counter()
    done = store.completed_run_ids(db, plan.study_id)  # refuses a foreign database, writing nothing
    lookup_seconds = time.perf_counter() - begun
    pending = [run for run in plan.runs if run.run_id not in done]
    workers = choose_workers(workers, plan, pending, backend, device)
    if batch_worlds is None:
        batch_worlds = DEFAULT_BATCH_WORLDS if device == "cpu" else gpu_batch_worlds(plan, pending)
    batch_worlds = fit_batch_worlds(plan, pending, db, batch_worlds, workers, device)
    tasks = make_tasks(plan, pending, batch_worlds, workers, device)
    return Schedule(done, pending, tasks, min(workers, max(len(tasks), 1)), lookup_seconds)


class StoreWaitCancelled(Exception):
    """A write that waited for the database gave up, before opening it, because the study stopped."""


class LockWait:
    """Tells, while the study waits for another process to let go of the database (a reader holding it
    open), that it waits and for whom: on the progress line, or once in a line of its own without one."""

    def __init__(self, bar: tqdm, db: Path) -> None:
        self.bar, self.db = bar, db
        self.shown_at: float | None = None
        self.cancelled = threading.Event()  # the study was stopped: a write still waiting gives up

    def __call__(self, waited: float, holder: str) -> None:
        if self.cancelled.is_set():
            raise StoreWaitCancelled(f"the study stopped while waiting for {self.db}: nothing written")
        if waited < 1 or (self.shown_at is not None and time.monotonic() - self.shown_at < 1):
            return
        if self.bar.disable:
            if self.shown_at is None:
                print(
                    f"waiting for the results database {self.db}: {holder} holds it; the study goes on "
                    "when it closes the file.",
                    file=sys.stderr,
                )
        else:
            self.bar.set_postfix_str(f"waiting {waited:.0f} s for {self.db.name}: {holder} holds it")
        self.shown_at = time.monotonic()

    def over(self) -> None:
        if self.shown_at is not None and not self.bar.disable:
            self.bar.set_postfix_str("")
        self.shown_at = None


def run_study(
    plan: StudyPlan,
    db: Path,
    batch_worlds: int | None = None,
    device: str = "cpu",
    progress: bool = True,
    workers: int | None = None,
    backend: str = "local",
    address: str | None = None,
    planned: Schedule | None = None,
) -> RunReport:
    """Run every run of the plan not yet complete in the store at `db`, then its sensitivity analysis.
    `planned`: the study's schedule when the caller has made it (to refuse before saying anything)."""
    begun = time.perf_counter()
    planned = planned or schedule(plan, db, batch_worlds, device, workers, backend)
    tasks, workers, record_seconds = planned.tasks, planned.workers, planned.lookup_seconds
    bar = tqdm(
        total=sum(task.world_rounds for task in tasks),
        unit="world-round",
        unit_scale=True,
        desc=plan.name,
        disable=not progress or not tasks,
        file=sys.stderr,
        dynamic_ncols=True,
    )
    # The store is written on a thread of its own, in order: the study's record while the first batch
    # simulates, then each shard while the next batch simulates (on a GPU the simulation of a batch can
    # take less time than writing it). One shard is written at a time and one more waits at most; a shard
    # is stored in one transaction, so an interrupted study keeps whole shards. Only waiting counts.
    waiting = LockWait(bar, db)  # a reader holding the file makes writes wait, never fail

    def register() -> None:
        store.register_study(db, plan, waiting)
        waiting.over()

    def write(shard: Shard) -> None:
        store.ingest(db, shard, waiting)
        waiting.over()

    with ThreadPoolExecutor(max_workers=1) as background, bar:
        writing = background.submit(register)
        try:
            for shard in execute(tasks, workers, backend, address, bar):
                stored_at = time.perf_counter()
                writing.result()  # the write before this shard's: done (or its error raised here)
                writing = background.submit(write, shard)
                # A worker's own recording overlaps the other workers' simulation: its share of the wall.
                record_seconds += time.perf_counter() - stored_at + shard.record_seconds / workers
            stored_at = time.perf_counter()
            writing.result()
            record_seconds += time.perf_counter() - stored_at
        except BaseException:
            # Stopped (Ctrl-C, an error): a write under way finishes its transaction, one still waiting for
            # a reader to let go of the file gives up, so that the study stops now; a rerun resumes.
            waiting.cancelled.set()
            raise
    report = RunReport(
        study_id=plan.study_id,
        planned=len(plan.runs),
        skipped=len(planned.done),
        completed=len(planned.pending),
        wall_seconds=time.perf_counter() - begun,
        workers=workers,
        record_seconds=record_seconds,
    )
    if plan.design["kind"] in sensitivity.METHODS:
        indices = sensitivity.analyze(plan, db)
        store.write_sensitivity(db, plan.study_id, indices, waiting)
        report.sensitivity_rows = indices.height
    return report


def resolve_device(device: str) -> str:
    """'cpu', or 'cuda' when asked and available (otherwise a clear refusal)."""
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device {device!r} is not allowed: use cpu or cuda.")
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda was asked for but this machine has no CUDA device: use cpu.")
    return device
