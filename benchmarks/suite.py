"""The benchmark suite behind `python -m studies bench`: the batched engine against the per-agent ways.

For each game it measures agent-decisions per second and peak memory of (a) the batched engine with its
learners, (b) the same game stepped one agent at a time through its PettingZoo env by a Python loop, and
(c) for the publication game, a Mesa model of it. Every case runs in a fresh process, one at a time, so
its peak memory is its own and no case warms another's caches. Rows land in the store's `benchmarks`
table as they finish; the ratios a/b and a/c come from rows of one run, so they hold whatever the
machine's speed that day.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl
import torch

import studies
from benchmarks.pettingzoo_loop import build
from models.election.rules import RULES
from models.games import get_game
from models.learners import resolve_learner
from models.metrics import compute
from models.simulate import Batch, build_batch
from studies.config import load_study
from studies.runner import run_study

GAMES = ("publication", "election")
AGENTS = (100, 1_000, 10_000, 100_000)
WORLDS = (1, 10, 100, 1_000)
# Expected decisions per second, only to size each case to about `CASE_SECONDS` of timed rounds.
EXPECTED_RATE = {"engine": 1.5e7, "pettingzoo_loop": 2.5e5, "mesa": 2e5}
CASE_SECONDS = 1.5
MIN_ROUNDS, MAX_ROUNDS, WARMUP_ROUNDS = 3, 200, 2
BLOCKS = 3  # timed blocks of rounds per case; the fastest counts
# The largest batch measured, in agents x worlds: about 3 GiB at the peak of a publication round.
MAX_BATCH_AGENTS = {"publication": 10_000_000, "election": 1_000_000}
# Where every rule is compared: 1,000 voters a world, the engine at 100 and 1,000 worlds as plurality is.
ELECTION_RULE_AGENTS, ELECTION_RULE_WORLDS = 1_000, (100, 1_000)
DEFAULT_STUDY = str(Path(studies.__file__).parent / "publication_bias.toml")  # `make run`'s study


@dataclass(frozen=True)
class Case:
    """One measurement: a game (and voting rule), a method, agents per world and worlds."""

    game: str
    method: str
    agents: int  # researchers, or voters (the election's candidates and institution come on top)
    worlds: int
    rule: str | None = None

    @property
    def label(self) -> str:
        rule = f" {self.rule}" if self.rule else ""
        return f"{self.game}{rule} {self.method} {self.agents} agents x {self.worlds} worlds"


def plan(quick: bool = False, games: tuple[str, ...] = GAMES) -> list[Case]:
    """The cases of a full run, or of a quick one (small sizes, for a smoke test of the suite)."""
    agents, worlds = ((100, 1_000), (1, 10)) if quick else (AGENTS, WORLDS)
    cases: list[Case] = []
    for game in games:
        rules: tuple[str | None, ...] = ("plurality",) if game == "election" else (None,)
        for rule in rules:
            for n in agents:
                cases += [Case(game, "engine", n, w, rule) for w in worlds if n * w <= MAX_BATCH_AGENTS[game]]
                cases.append(Case(game, "pettingzoo_loop", n, 1, rule))
                if game == "publication":
                    cases.append(Case(game, "mesa", n, 1))
        if game == "election" and not quick:
            for rule in RULES[1:]:
                cases += [Case(game, "engine", ELECTION_RULE_AGENTS, w, rule) for w in ELECTION_RULE_WORLDS]
                cases.append(Case(game, "pettingzoo_loop", ELECTION_RULE_AGENTS, 1, rule))
    return cases


def game_params(case: Case) -> dict[str, Any]:
    """Resolved default parameters of the case's game at its size."""
    size = {"n_researchers": case.agents} if case.game == "publication" else {"n_voters": case.agents}
    if case.rule:
        size["rule"] = case.rule
    return get_game(case.game).params.resolve(size)


def case_rounds(case: Case, agents_per_world: int) -> int:
    expected = EXPECTED_RATE[case.method] * CASE_SECONDS / (agents_per_world * case.worlds)
    return int(min(max(expected, MIN_ROUNDS), MAX_ROUNDS))


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _tensor_bytes(*objects: Any) -> int:
    """Bytes of the tensors the objects hold: the state that lives from round to round."""
    return sum(
        value.nbytes for obj in objects for value in vars(obj).values() if isinstance(value, torch.Tensor)
    )


def _timed_rounds(step: Callable[[], None], rounds: int, warmup: int) -> dict[str, Any]:
    """After `warmup` rounds, `rounds` rounds in BLOCKS blocks; the fastest block's rounds and seconds.

    The fastest, not the total: on a shared machine a neighbour's burst slows one block by up to half,
    and what is measured is what the code can do, not what the neighbours did.
    """
    for _ in range(warmup):
        step()
    per_block, fastest = max(rounds // BLOCKS, 1), float("inf")
    for _ in range(BLOCKS):
        begun = time.perf_counter()
        for _ in range(per_block):
            step()
        fastest = min(fastest, time.perf_counter() - begun)
    return {"rounds": per_block, "seconds": fastest}


def default_batch(case: Case, device: str = "cpu") -> Batch:
    """The case's batch: its game at default parameters and size, default learners, seeds 0, 1, ..."""
    params = game_params(case)
    learners = {role: resolve_learner({}, role) for role in get_game(case.game).engine.role_shapes(params)}
    return build_batch(case.game, [params] * case.worlds, learners, list(range(case.worlds)), device)


def _engine(case: Case, params: dict[str, Any], device: str) -> dict[str, Any]:
    spec = get_game(case.game)
    batch = default_batch(case, device)
    per_world = sum(n for n, _ in spec.engine.role_shapes(params).values())

    def step() -> None:
        compute(spec.metrics, batch.round().tallies)  # the whole round, metrics included
        if device != "cpu":
            torch.cuda.synchronize()

    with torch.inference_mode():
        timed = _timed_rounds(step, case_rounds(case, per_world), WARMUP_ROUNDS)
    state = _tensor_bytes(batch.engine, *batch.learners.values()) / (per_world * case.worlds)
    return {**timed, "agents_per_world": per_world, "state_bytes": state}


def _pettingzoo_loop(case: Case, params: dict[str, Any]) -> dict[str, Any]:
    size = {k: params[k] for k in ("n_researchers", "n_voters", "rule") if k in params}
    env, learners = build(case.game, size, MAX_ROUNDS + WARMUP_ROUNDS, seed=0)
    per_world = len(env.agents)

    def step() -> None:
        actions = {agent: learners[agent].act() for agent in env.agents}
        _, rewards, _, _, _ = env.step(actions)
        for agent, action in actions.items():
            learners[agent].learn(action, rewards[agent])

    return {**_timed_rounds(step, case_rounds(case, per_world), 1), "agents_per_world": per_world}


def _mesa(case: Case, params: dict[str, Any]) -> dict[str, Any]:
    from benchmarks.mesa_publication import PublicationModel  # Mesa is the bench extra, imported on use

    model = PublicationModel(params, seed=0)
    return {**_timed_rounds(model.step, case_rounds(case, case.agents), 1), "agents_per_world": case.agents}


def measure(case: Case, threads: int, device: str = "cpu") -> dict[str, Any]:
    """Time one case in this process and return its row (without the run's provenance columns)."""
    torch.set_num_threads(threads)
    params = game_params(case)
    before = _rss_bytes()
    if case.method == "engine":
        result = _engine(case, params, device)
    elif case.method == "pettingzoo_loop":
        result = _pettingzoo_loop(case, params)
    else:
        result = _mesa(case, params)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before  # ru_maxrss is in KiB
    agents = result["agents_per_world"] * case.worlds
    decisions = agents * result["rounds"]
    return {
        **asdict(case),
        "agents_per_world": result["agents_per_world"],
        "rounds": result["rounds"],
        "decisions": decisions,
        "seconds": result["seconds"],
        "decisions_per_second": decisions / result["seconds"],
        "peak_bytes_per_agent": max(peak, 0) / agents,
        "state_bytes_per_agent": result.get("state_bytes"),
        "threads": threads,
        "device": device,
    }


def study_overhead(study_file: str, scratch: str) -> dict[str, Any]:
    """The share of a study's wall time spent on metrics collection and store writes.

    Runs the study into a fresh file in `scratch` in this process, as `make run` does; the runner times
    metrics, result tables and store access where they happen (RunReport.overhead_share), so the share
    comes from one run and does not depend on how fast the machine was that minute.
    """
    plan = load_study(study_file)
    report = run_study(plan, Path(scratch) / "study.duckdb", workers=1, progress=False)
    total = report.wall_seconds
    agents = plan.runs[0].game.get("n_researchers") or plan.runs[0].game.get("n_voters")
    decisions = agents * len(plan.runs) * plan.rounds
    return {
        "game": plan.game.name,
        "method": "study_overhead",
        "agents": agents,
        "agents_per_world": agents,
        "worlds": len(plan.runs),
        "rounds": plan.rounds,
        "decisions": decisions,
        "seconds": total,
        "decisions_per_second": decisions / total,
        "overhead_share": report.overhead_share,
        "threads": 1,
        "device": "cpu",
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), model
            )
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def run(
    cases: list[Case],
    record: Callable[[dict[str, Any]], None],
    threads: int | None = None,
    device: str = "cpu",
    on_case: Callable[[Case], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure the cases, each in a fresh process, and hand every row to `record` as it finishes.

    The engine gets every core; the per-agent loops get one thread, their best (torch's threads only
    slow the one-world engine inside a PettingZoo env, see README).
    """
    threads = threads or os.cpu_count() or 1
    rows = []
    for case in cases:
        if on_case is not None:
            on_case(case)
        row = in_fresh_process(measure, case, threads if case.method == "engine" else 1, device)
        record(row)
        rows.append(row)
    return rows


def in_fresh_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """fn(*args) in a new process: its peak memory and caches are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def ratios(rows: pl.DataFrame) -> pl.DataFrame:
    """Per game, rule and agents per world: the engine's best rate over its batch sizes, the per-agent
    rates, and the speed-ups a/b (engine over PettingZoo loop) and a/c (engine over Mesa)."""
    keys = ["game", "rule", "agents"]
    engine = (
        rows.filter(pl.col("method") == "engine")
        .sort("decisions_per_second", descending=True)
        .group_by(keys, maintain_order=True)
        .agg(pl.col("worlds").first().alias("engine_worlds"), pl.col("decisions_per_second").max().alias("a"))
    )
    table = engine
    for method, column in (("pettingzoo_loop", "b"), ("mesa", "c")):
        per_agent = rows.filter(pl.col("method") == method).select(
            *keys, pl.col("decisions_per_second").alias(column)
        )
        table = table.join(per_agent, on=keys, how="left", nulls_equal=True)
    return table.with_columns(
        (pl.col("a") / pl.col("b")).alias("a_over_b"), (pl.col("a") / pl.col("c")).alias("a_over_c")
    ).sort(keys)


def provenance(version: dict[str, Any]) -> dict[str, Any]:
    """The columns every row of one bench run shares: when, on what, with which code."""
    now = datetime.now(UTC)
    return {
        "bench_id": f"bench-{now:%Y%m%dT%H%M%S}",
        "measured_at": now,
        "code_commit": version["commit"],
        "code_dirty": version["dirty"],
        "package_versions": json.dumps(version["packages"], sort_keys=True),
        "machine": json.dumps(machine(), sort_keys=True),
    }
