"""The benchmark suite behind `python -m studies bench`: the batched engine against the per-agent ways.

For each game it benches (GameSpec.benched: not a testbed like the matrix game) it measures agent-decisions
per second and peak memory of (a) the batched engine with its learners, (b) the same game stepped one agent
at a time through its PettingZoo env by a Python loop, and (c) for the publication game, a Mesa model of it.
Every case runs in a fresh process, so its peak memory is its own. The cases compared with each other take
turns, one block of rounds each (measure_group), so that they are timed over the same minutes. Rows land in
the store's `benchmarks` table as their group finishes; the ratios a/b and a/c come from rows of one run, so
they hold whatever the machine's speed that day.

Besides each game at its defaults, the bench measures named scenarios (SCENARIOS): a game setting and
learners of the literature, the engine at a few batches and the PettingZoo loop on the same game parameters,
their rows and ratios apart from the defaults' (the row's `scenario`).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field, is_dataclass, replace
from datetime import UTC, datetime
from multiprocessing import get_context
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import polars as pl
import torch

import studies
from benchmarks.pettingzoo_loop import build
from models.games import BUILT_IN_ROLES, get_game
from models.games import GAMES as REGISTERED
from models.games.election.voting import RULES
from models.learners import LEARNERS, resolve_learner
from models.metrics import compute
from models.simulate import Batch, build_batch
from models.speed import compile_cache, worth_fusing
from studies.config import load_study
from studies.runner import run_study

GAMES = tuple(name for name, spec in REGISTERED.items() if spec.benched)  # a testbed game is not benched
# The game a Mesa model of which is measured as well (benchmarks/mesa_publication.py).
MESA_GAME = "publication"
AGENTS = (100, 1_000, 10_000, 100_000)
WORLDS = (1, 10, 100, 1_000)
QUICK_AGENTS, QUICK_WORLDS = (100, 1_000), (1, 10)  # a quick run's (a smoke test of the suite)
# Expected decisions per second, only to size each case to about `CASE_SECONDS` of timed rounds; and the
# engine's on a GPU.
EXPECTED_RATE = {"engine": 1.5e7, "pettingzoo_loop": 2.5e5, "mesa": 2e5}
EXPECTED_GPU_RATE = 2e9
CASE_SECONDS = 1.5
OVERHEAD_RUNS = 5  # fresh runs of the default study; the median share counts
MIN_ROUNDS, MAX_ROUNDS, WARMUP_ROUNDS = 3, 200, 2
BLOCKS = 3  # timed blocks of rounds per case, taken in turn within a group; the fastest counts
# The largest batch measured on the CPU, in agents x worlds: about 3 GiB at the peak of a publication round,
# and about 3.3 GiB for its group's processes together (measure_group, measured).
MAX_BATCH_AGENTS = {"publication": 10_000_000, "election": 1_000_000}
MAX_BATCH_AGENTS_OTHER = 1_000_000  # a game registered later
# Where every variant (voting rule) is compared: 1,000 voters a world, the engine at 100 and 1,000 worlds.
VARIANT_AGENTS, VARIANT_WORLDS = 1_000, (100, 1_000)
# The engine runs each batch as a study of this many rounds would: fused where that pays (models.speed),
# from half a million agents a round.
STUDY_ROUNDS = 1_000
DEFAULT_STUDY = str(Path(studies.__file__).parent / "publication_bias.toml")  # `make run`'s study


@dataclass(frozen=True)
class Scenario:
    """A named setting of one game that the bench measures besides its defaults: game values given beside
    the case's size (a preset among them) and learner configs by role (a role not named gets the default
    learner). The engine plays it with those learners; the PettingZoo loop plays the same game parameters
    with one AgentLearner per agent on the role's discrete actions."""

    game: str
    doc: str
    params: Mapping[str, Any]
    learners: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    agents: int = 1_000  # agents per world it is measured at (a quick run: the quick plan's smallest size)
    worlds: tuple[int, ...] = (10, 100, 1_000)  # the engine's batches (those that fit, as in plan)
    # Expected decisions per second by method where they differ from EXPECTED_RATE: only to size its blocks.
    rates: Mapping[str, float] = field(default_factory=dict)


SCENARIOS = {
    "smaldino_mcelreath": Scenario(
        "publication",
        "Smaldino & McElreath (2016) world: the effort model, findings replicated any number of times, the "
        "literature's belief tallies; labs evolve (death-birth) on effort, power, replication rate and qrp",
        {"preset": "smaldino_mcelreath_2016", "replication_rate": 0.2},  # r0 > 0: the literature is used
        {"researcher": {"kind": "evolution"}},
        rates={"engine": 1.5e7},  # the studies kernels (study_kernels.py), the rest of the round eager
    ),
    "institutions": Scenario(
        "publication",
        "Smaldino, Turner & Contreras Kallens' (2019) world with every institution on: evolving labs in the "
        "effort model, three journals with peer review, citations with preferential attachment and citation "
        "credit, funds with a mixed funding rule and a replication set-aside",
        {
            "study_model": "effort",
            "effort": 20.0,
            "effort_productivity": 0.0,
            "replication_rate": 0.1,
            "n_journals": 3,
            "review_detection": 0.5,
            "citations_per_paper": 2,
            "citation_bias": 1.0,
            "citation_reward": 0.1,
            "study_cost": 1.0,
            "initial_funds": 10.0,
            "grant_budget": 1_000.0,
            "grants_per_period": 100,
            "funding_rule": "mixed",
            "replication_set_aside": 0.1,
        },
        {"researcher": {"kind": "evolution"}},
        rates={"engine": 1e7},  # the studies kernels; the institutions' part of the round eager
    ),
    # The institutions as agents that learn (Q-learners, the optional roles' default): three journals
    # choosing their publication policies and a funder choosing its rule every 10 rounds; the electoral body
    # choosing the voting rule.
    "institutions_learning": Scenario(
        "publication",
        "three journals that learn their publication policies and a funder that learns its funding rule "
        "(every 10 rounds, 100 grants), over learning researchers",
        {
            "n_journals": 3,
            "journals_act": True,
            "study_cost": 1.0,
            "initial_funds": 10.0,
            "grant_budget": 1_000.0,
            "grants_per_period": 100,
            "funding_period": 10,
            "funder_acts": True,
        },
        rates={"engine": 1e7},  # the studies kernels (the rigor kernels play no journals or funds)
    ),
    "electoral_body_learning": Scenario(
        "election",
        "an electoral body that learns which voting rule to hold, paid the voters' welfare",
        {"institution_learns": True},
        worlds=(100, 1_000),
        rates={"engine": 3e7},
    ),
    # Each learner family in the publication game at its defaults, at 1,000 researchers x 1,000 worlds.
    **{
        f"learner_{name}": Scenario(
            "publication",
            f"the publication game at its defaults, its researchers {doc}",
            {},
            {"researcher": learner},
            worlds=(1_000,),
            rates={"engine": rate},
        )
        for name, doc, learner, rate in (
            ("imitation", "imitating (Fermi rule, complete graph)", {"kind": "imitation"}, 3e7),
            (
                "imitation_small_world",
                "imitating on a Watts-Strogatz small world (4 neighbours, 10% rewired)",
                {"kind": "imitation", "network": "watts_strogatz", "degree": 4, "rewire": 0.1},
                2e7,
            ),
            ("mean_field_q", "mean-field Q-learners (complete graph)", {"kind": "mean_field_q"}, 2e7),
            ("policy_gradient", "REINFORCE learners (shared networks)", {"kind": "policy_gradient"}, 1e7),
            ("actor_critic", "advantage actor-critics (shared networks)", {"kind": "actor_critic"}, 1e7),
        )
    },
    # The opponent-aware families reason with the payoffs a game states, which the matrix game does: matching
    # pennies, 1,000 agents a role (2,000 a world), every agent of both roles of that family.
    **{
        f"learner_{name}": Scenario(
            "matrix",
            f"matching pennies, 1,000 agents a role, every agent {doc}",
            {"matrix": "matching_pennies"},
            {"row": learner, "column": learner},
            worlds=(1_000,),
            rates={"engine": rate},
        )
        for name, doc, learner, rate in (
            ("fictitious_play", "a smooth fictitious player", {"kind": "fictitious_play", "smooth": 0.1}, 3e7),  # noqa: E501
            ("level_k", "a level-2 reasoner", {"kind": "level_k", "depth": 2}, 3e7),
            ("lola", "a learning-aware (LOLA) learner", {"kind": "lola"}, 3e7),
        )
    },
    # Credit that reaches one vote, under every voting rule: the Duverger set-up (four candidates, strategic
    # voting, an exact poll), the default learners, voters paid the difference or the pivotal reward.
    **{
        f"credit_{credit}_{rule}": Scenario(
            "election",
            f"{rule}, four candidates, strategic voters paid the {credit} reward",
            {"rule": rule, "credit": credit, "n_candidates": 4, "strategic_voting": True},
            {},
            worlds=(100, 1_000),
            rates={"engine": 2e7},
        )
        for credit in ("difference", "pivotal")
        for rule in RULES
    },
    "laver_hunters": Scenario(
        "election",
        "five parties following Laver's hunter rule in a continuous 2-D space",
        {"n_candidates": 5, "dimensions": 2, "platform_space": "continuous"},
        {"candidate": {"kind": "hunter"}},
        worlds=(100, 1_000),
        rates={"engine": 3e7},
    ),
    # Laver's (2005) other three party rules, as the hunters: five parties in a continuous 2-D space.
    **{
        f"laver_{kind}s": Scenario(
            "election",
            f"five parties following Laver's {kind} rule in a continuous 2-D space",
            {"n_candidates": 5, "dimensions": 2, "platform_space": "continuous"},
            {"candidate": {"kind": kind}},
            worlds=(100, 1_000),
            rates={"engine": 3e7},
        )
        for kind in ("sticker", "aggregator", "predator")
    },
    # The two learners that do not learn: a baseline, and what analytic checks hold still.
    "fixed_researchers": Scenario(
        "publication",
        "researchers held to a uniform mixed strategy over the actions (the closed-form checks' setting)",
        {},
        {"researcher": {"kind": "fixed"}},
        worlds=(1_000,),
        rates={"engine": 4e7},
    ),
    "fixed_platforms": Scenario(
        "election",
        "two parties held to the platforms 5 and 15 of 21 while the voters learn (a Downsian baseline)",
        {"n_candidates": 2},
        {"candidate": {"kind": "fixed_actions", "actions": [5, 15]}},
        worlds=(100, 1_000),
        rates={"engine": 5e7},
    ),
    "strategic_voters": Scenario(
        "election",
        "plurality, four candidates, voters who best-respond to an exact poll (Cox 1997)",
        {"n_candidates": 4, "strategic_voting": True},
        {"voter": {"kind": "strategic_voter"}},
        worlds=(100, 1_000),
        rates={"engine": 5e7},
    ),
}


@dataclass(frozen=True)
class Case:
    """One measurement: a game (and voting rule), a method, agents per world and worlds; at the game's
    defaults, or in a named scenario (SCENARIOS)."""

    game: str
    method: str
    agents: int  # researchers, or voters (the election's candidates and institution come on top)
    worlds: int
    rule: str | None = None
    scenario: str | None = None

    @property
    def label(self) -> str:
        return f"{setting(self)} {self.method} {self.agents} agents x {self.worlds} worlds"


def setting(case: Case) -> str:
    """The game, and its rule and scenario where it has them: 'publication [smaldino_mcelreath]'."""
    rule = f" {case.rule}" if case.rule else ""
    scenario = f" [{case.scenario}]" if case.scenario else ""
    return f"{case.game}{rule}{scenario}"


def fits(case: Case, device: str = "cpu") -> bool:
    """Whether the bench measures this engine batch on this device: on the CPU up to MAX_BATCH_AGENTS; on
    a GPU, the batches whose rounds peak (the engine's own estimate, as a study's batches are sized) under
    half its memory, since a group's batches live on it together: 1.11 times its largest."""
    if device == "cpu":
        return case.agents * case.worlds <= MAX_BATCH_AGENTS.get(case.game, MAX_BATCH_AGENTS_OTHER)
    peak = get_game(case.game).peak_bytes_per_world(game_params(case)) * case.worlds
    return peak <= torch.cuda.get_device_properties(device).total_memory / 2


def plan(quick: bool = False, games: tuple[str, ...] = GAMES, device: str = "cpu") -> list[Case]:
    """The cases of a full run, or of a quick one (small sizes, for a smoke test of the suite); games that
    are not benched (GameSpec.benched) have only their named scenarios."""
    agents, worlds = (QUICK_AGENTS, QUICK_WORLDS) if quick else (AGENTS, WORLDS)
    cases: list[Case] = []
    for game in games:
        spec = get_game(game)
        if not spec.benched:
            continue
        variants = spec.params.params[spec.variants].choices if spec.variants else (None,)
        rule = variants[0]  # the first variant at every size, the others at one size
        for n in agents:
            cases += [case for w in worlds if fits(case := Case(game, "engine", n, w, rule), device)]
            cases.append(Case(game, "pettingzoo_loop", n, 1, rule))
            if game == MESA_GAME:
                cases.append(Case(game, "mesa", n, 1))
        if not quick:
            for rule in variants[1:]:
                cases += [Case(game, "engine", VARIANT_AGENTS, w, rule) for w in VARIANT_WORLDS]
                cases.append(Case(game, "pettingzoo_loop", VARIANT_AGENTS, 1, rule))
    for name, scenario in SCENARIOS.items():
        testbed = not get_game(scenario.game).benched  # measured in its named scenarios, with the whole bench
        if scenario.game in games or (testbed and games == GAMES):
            cases += scenario_cases(name, quick, device)
    return cases


class UnbenchedError(RuntimeError):
    """A game, learner family or acting role of the project that the bench does not measure."""


def measured_kinds(cases: list[Case]) -> tuple[set[str], set[str], set[str]]:
    """The games, the learner families (kinds, every role's) and the roles that act ('game.role': an
    institution or journal only where its switch is on) that these cases measure: a scenario's loop case
    counts too, so that a device its engine batches do not fit still has the row."""
    games: set[str] = set()
    kinds: set[str] = set()
    acting: set[str] = set()
    for case in cases:
        games.add(case.game)
        params = game_params(case)
        kinds.update(config["kind"] for config in learner_configs(case, params).values())
        spec = get_game(case.game)
        acting.update(f"{case.game}.{role}" for role in spec.role_names if spec.role_acts(params, role))
    return games, kinds, acting


def unbenched(cases: list[Case]) -> list[str]:
    """The games, learner families and acting roles (institutions, journals) registered in the project (not
    a user's extensions) that no case measures: every capability gets its bench row (SCENARIOS), and a
    full bench refuses to run without."""
    games, kinds, acting = measured_kinds(cases)
    project = [kind for kind, cls in LEARNERS.items() if cls.__module__.startswith("models.")]
    roles = [f"{game}.{role}" for game, names in BUILT_IN_ROLES.items() for role in names]
    return (
        [f"game {game}" for game in REGISTERED if game not in games]
        + [f"learner {kind}" for kind in project if kind not in kinds]
        + [f"acting role {role}" for role in roles if role not in acting]
    )


def check_coverage(cases: list[Case]) -> None:
    """Raise UnbenchedError, naming them, where a game, learner family or acting role of the project has no
    bench row (unbenched)."""
    missing = unbenched(cases)
    if missing:
        raise UnbenchedError(
            f"the bench has no row for {', '.join(missing)}: add a scenario for each to "
            "benchmarks/suite.py SCENARIOS (a game setting and learners by role)."
        )


def scenario_cases(name: str, quick: bool = False, device: str = "cpu") -> list[Case]:
    """A scenario's cases: the engine at its batches that fit, and the PettingZoo loop (one world); a quick
    run at the quick plan's smallest size."""
    scenario = SCENARIOS[name]
    spec = get_game(scenario.game)
    rule = spec.params.resolve(dict(scenario.params))[spec.variants] if spec.variants else None
    n, worlds = (QUICK_AGENTS[0], QUICK_WORLDS) if quick else (scenario.agents, scenario.worlds)
    cases = [case for w in worlds if fits(case := Case(scenario.game, "engine", n, w, rule, name), device)]
    return [*cases, Case(scenario.game, "pettingzoo_loop", n, 1, rule, name)]


def game_values(case: Case) -> dict[str, Any]:
    """The game values the case gives: its scenario's, if any, and its size and rule."""
    spec = get_game(case.game)
    values: dict[str, Any] = dict(SCENARIOS[case.scenario].params) if case.scenario else {}
    values[spec.scale] = case.agents
    if case.rule:
        values[spec.variants] = case.rule
    return values


def game_params(case: Case) -> dict[str, Any]:
    """Resolved parameters of the case's game at its size: its defaults, or its scenario's."""
    return get_game(case.game).params.resolve(game_values(case))


def learner_configs(case: Case, params: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Resolved learner configs by role: the scenario's where it names one, else the default learner."""
    given = SCENARIOS[case.scenario].learners if case.scenario else {}
    return {
        role: resolve_learner(dict(given.get(role, {})), f"learners.{role}")
        for role in get_game(case.game).role_shapes(params)
    }


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _tensor_bytes(*objects: Any) -> int:
    """Bytes of the tensors the objects hold, in their attributes and in the tuples, lists, dicts and
    dataclasses among them: the state that lives from round to round (each storage counted once)."""
    seen: set[int] = set()

    def held(value: Any) -> int:
        if isinstance(value, torch.Tensor):
            key = value.untyped_storage().data_ptr()
            if key in seen:
                return 0
            seen.add(key)
            return value.untyped_storage().nbytes()
        if isinstance(value, tuple | list):
            return sum(held(item) for item in value)
        if isinstance(value, dict):
            return sum(held(item) for item in value.values())
        if is_dataclass(value):
            return sum(held(item) for item in vars(value).values())
        return 0

    return sum(held(value) for obj in objects for value in vars(obj).values())


@dataclass
class Timed:
    """A case ready to time: one round of it, the timed rounds of a block, and what it measures per agent."""

    step: Callable[[], None]
    rounds: int  # timed rounds per block
    warmup: int  # untimed rounds before the first block
    agents_per_world: int
    state_bytes: Callable[[], float | None] = lambda: None
    fused: bool | None = None  # the engine's: whether its kernels ran compiled

    def block(self) -> float:
        """Seconds of one block of timed rounds, after one untimed round: in a group, another case's
        block ran just before and left the caches cold."""
        self.step()
        begun = time.perf_counter()
        for _ in range(self.rounds):
            self.step()
        return time.perf_counter() - begun


def block_rounds(case: Case, agents_per_world: int, device: str = "cpu") -> int:
    """Timed rounds per block: about CASE_SECONDS of rounds at the expected rate, in BLOCKS blocks."""
    rates = {**EXPECTED_RATE, **(SCENARIOS[case.scenario].rates if case.scenario else {})}
    rate = rates[case.method] if device == "cpu" else EXPECTED_GPU_RATE
    expected = rate * CASE_SECONDS / (agents_per_world * case.worlds)
    return max(int(min(max(expected, MIN_ROUNDS), MAX_ROUNDS)) // BLOCKS, 1)


def default_batch(
    case: Case, device: str = "cpu", learners: dict[str, dict[str, Any]] | None = None
) -> Batch:
    """The case's batch: its game at its size, at default parameters and with default learners or its
    scenario's (`learners`, resolved configs by role, in place of some), seeds 0, 1, ..."""
    params = game_params(case)
    learners = {**learner_configs(case, params), **(learners or {})}
    return build_batch(case.game, [params] * case.worlds, learners, list(range(case.worlds)), device)


def _engine(case: Case, params: dict[str, Any], device: str) -> Timed:
    spec = get_game(case.game)
    batch = default_batch(case, device)
    batch.fused = batch.fuses(STUDY_ROUNDS)  # compiled or loaded (cache_kernels) in the warm-up
    per_world = batch.agents_per_world

    def step() -> None:
        with torch.inference_mode():
            compute(spec.metrics, batch.round().tallies)  # the whole round, metrics included
        if device != "cpu":
            torch.cuda.synchronize()

    def state_bytes() -> float:  # the next round's actions too, drawn as the learners learn
        held = _tensor_bytes(batch.engine, *batch.learners.values())
        return (held + sum(a.nbytes for a in batch.next_actions.values())) / (per_world * case.worlds)

    return Timed(
        step, block_rounds(case, per_world, device), WARMUP_ROUNDS, per_world, state_bytes, batch.fused
    )


def on_kernels(case: Case) -> bool:
    """Whether the case's game parameters run on the game's accelerated kernels (Batch.on_kernels, before a
    batch is built): elsewhere, as a scenario's may be, on the reference rules, which have none to fuse."""
    spec = get_game(case.game)
    return spec.engine_for(game_params(case)) is not spec.rules


def _pettingzoo_loop(case: Case, params: dict[str, Any], device: str) -> Timed:
    # The env resolves the same values as the engine's game_params.
    env, learners = build(case.game, game_values(case), 1 + BLOCKS + MAX_ROUNDS, seed=0)  # no more steps
    per_world = len(env.agents)

    def step() -> None:
        actions = {agent: learners[agent].act() for agent in env.agents}
        _, rewards, _, _, _ = env.step(actions)
        for agent, action in actions.items():
            learners[agent].learn(action, rewards[agent])

    return Timed(step, block_rounds(case, per_world), 1, per_world)


def _mesa(case: Case, params: dict[str, Any], device: str) -> Timed:
    from benchmarks.mesa_publication import PublicationModel  # Mesa is the bench extra, imported on use

    if case.scenario:
        raise ValueError(f"{case.label}: the Mesa model plays the publication game at its defaults only")
    model = PublicationModel(params, seed=0)
    return Timed(model.step, block_rounds(case, case.agents), 1, case.agents)


METHODS = {"engine": _engine, "pettingzoo_loop": _pettingzoo_loop, "mesa": _mesa}


def measure(
    case: Case, threads: int, device: str = "cpu", before_block: Callable[[], None] = lambda: None
) -> dict[str, Any]:
    """Time one case in this process and return its row (without the run's provenance columns).

    BLOCKS blocks of rounds after a warm-up; the fastest block counts: on a shared machine a neighbour's
    burst slows one block by up to half, and what is measured is what the code can do, not what the
    neighbours did. `before_block` waits for the case's turn when it is timed in a group (measure_group).
    """
    torch.set_num_threads(threads)
    before = _rss_bytes()
    timed = METHODS[case.method](case, game_params(case), device)
    for _ in range(timed.warmup):
        timed.step()
    fastest = float("inf")
    for _ in range(BLOCKS):
        before_block()
        fastest = min(fastest, timed.block())
    if device != "cpu" and case.method == "engine":  # the GPU's memory: the engine's batch lives there
        peak = torch.cuda.max_memory_allocated(device)
    else:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before  # ru_maxrss is in KiB
    agents = timed.agents_per_world * case.worlds
    decisions = agents * timed.rounds
    return {
        **asdict(case),
        "agents_per_world": timed.agents_per_world,
        "rounds": timed.rounds,
        "decisions": decisions,
        "seconds": fastest,
        "decisions_per_second": decisions / fastest,
        "peak_bytes_per_agent": max(peak, 0) / agents,
        "state_bytes_per_agent": timed.state_bytes(),
        "fused": timed.fused,
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
    agents = plan.runs[0].game[plan.game.scale]
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


def median_study_overhead(study_file: str, runs: int = OVERHEAD_RUNS) -> dict[str, Any]:
    """The study_overhead row of the median share over `runs` fresh processes, each into its own file:
    one run's share swings by a few points with the machine (7-10% at the default study, one in five
    past 10%), which the median steadies."""
    rows = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as scratch:
            rows.append(in_fresh_process(study_overhead, study_file, scratch))
    return sorted(rows, key=lambda row: row["overhead_share"])[len(rows) // 2]


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
    gpu = {"gpu": torch.cuda.get_device_name()} if torch.cuda.is_available() else {}
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        **gpu,
        "python": platform.python_version(),
        "torch": torch.__version__,
    }


def groups(cases: list[Case]) -> list[list[Case]]:
    """The cases whose rates are compared, in plan order: one game, rule, scenario and number of agents
    per world."""
    grouped: dict[tuple[str, str | None, str | None, int], list[Case]] = {}
    for case in cases:
        grouped.setdefault((case.game, case.rule, case.scenario, case.agents), []).append(case)
    return list(grouped.values())


def group_label(group: list[Case]) -> str:
    case = group[0]
    return f"{setting(case)} at {case.agents} agents per world, {len(group)} cases timed in turn"


def small_batch(case: Case, device: str = "cpu") -> Batch:
    """A batch of the case's game and setting at 100 agents x 2 worlds: on the same engine and kernels."""
    return default_batch(replace(case, method="engine", agents=100, worlds=2), device)


def compile_kernels(case: Case, device: str = "cpu") -> dict[str, Any]:
    """One fused round of a small batch of the case's game and setting in this process, which compiles the
    kernels of the engine that plays it and keeps them in the compile cache (models.speed.compile_cache);
    the seconds it took."""
    batch = small_batch(case, device)
    batch.fused = True
    begun = time.perf_counter()
    batch.round()
    seconds, kernels = time.perf_counter() - begun, batch.kernels
    return {"kernels": kernels, "seconds": seconds, "cached": compile_cache.holds(kernels, device)}


def kernels_of(case: Case) -> tuple[str, float]:
    """The name the compile cache keeps the kernels of the case's batch under (Batch.kernels), and its
    engine's fusing cost (models.game.BatchOfWorlds.fusing_cost)."""
    batch = small_batch(case)
    return batch.kernels, getattr(type(batch.engine), "fusing_cost", 1.0)


def cache_kernels(
    cases: list[Case], device: str = "cpu", on_compile: Callable[[str], None] = lambda kernels: None
) -> list[dict[str, Any]]:
    """Compile, once and each in a fresh process, the kernels of every engine whose cases would fuse with
    them cached and whose kernels the cache does not hold yet for this code.

    The engine is then timed as a study of its batch runs on a machine that has fused that engine before
    (any run of it since the code last changed): the study loads the kernels. Compiling them is paid
    once per code version and is not a cost of the rounds timed here; what it costs is the fusion
    probe's figure (benchmarks/fusion_probe.py) and models.speed's threshold."""
    first: dict[str, Case] = {}  # a case of each engine to compile, by its kernels' name
    for case in cases:
        if case.method != "engine" or not on_kernels(case):
            continue
        kernels, cost = kernels_of(case)
        agents = case.worlds * engine_agents_per_world(case)
        if worth_fusing(agents, STUDY_ROUNDS, device, cached=True, cost=cost) and not compile_cache.holds(
            kernels, device
        ):
            first.setdefault(kernels, case)
    done = []
    for kernels in sorted(first):
        on_compile(kernels)
        done.append(in_fresh_process(compile_kernels, first[kernels], device))
    return done


def engine_agents_per_world(case: Case) -> int:
    """Every agent of a world of the case's game: researchers, or voters, candidates and institution."""
    return sum(n_agents for n_agents, _ in get_game(case.game).role_shapes(game_params(case)).values())


def run(
    cases: list[Case],
    record: Callable[[dict[str, Any]], None],
    threads: int | None = None,
    device: str = "cpu",
    on_group: Callable[[list[Case]], None] | None = None,
) -> list[dict[str, Any]]:
    """Measure the cases group by group (see measure_group) and hand every row to `record` as its group
    finishes.

    The engine gets every core; the per-agent loops get one thread, their best (torch's threads only
    slow the one-world engine inside a PettingZoo env, see README).
    """
    threads = threads or os.cpu_count() or 1
    rows = []
    for group in groups(cases):
        if on_group is not None:
            on_group(group)
        for row in measure_group(group, threads, device):
            record(row)
            rows.append(row)
    return rows


def measure_group(cases: list[Case], threads: int, device: str = "cpu") -> list[dict[str, Any]]:
    """The rows of cases that are compared with each other, each case in its own fresh process (its peak
    memory and caches are its own), their blocks timed in turn: one block of every case, then the next, ...

    Why in turn: the machine's speed drifts over seconds to minutes (a neighbour's burst, on a shared
    machine), and timing one method's blocks after the other's lets the drift fall on one side of a
    ratio. Interleaved, every method gets its fastest block from the same stretch of time. Only one
    case runs at a time; the others wait, idle, for their turn, and the order rotates from block to block
    so that no case always follows the same one. The group's processes live together: the largest groups
    hold about 3.3 GiB.
    """
    context = get_context("spawn")
    links, processes = [], []
    try:
        for case in cases:
            ours, theirs = context.Pipe()
            method_threads = threads if case.method == "engine" else 1
            process = context.Process(target=_serve, args=(theirs, case, method_threads, device), daemon=True)
            process.start()
            theirs.close()  # the child's end is the child's: if the child dies, our end reads EOF
            links.append(ours)
            processes.append(process)
        for case, link in zip(cases, links, strict=True):
            _reply(link, case)  # ready: built and warmed up (the cases prepare side by side, untimed)
        rows: list[dict[str, Any]] = [{} for _ in cases]
        for block in range(BLOCKS):
            for turn in range(len(cases)):
                i = (block + turn) % len(cases)
                links[i].send("go")
                rows[i] = _reply(links[i], cases[i])  # ready for its next block, or its row after its last
        return rows
    finally:
        for link in links:
            link.close()  # a case still waiting for its turn (another failed) then ends
        deadline = time.monotonic() + 10
        for process in processes:
            process.join(timeout=max(deadline - time.monotonic(), 0))
            if process.is_alive():
                process.kill()
                process.join()


def _serve(link: Connection, case: Case, threads: int, device: str) -> None:
    """A group's case in its own process: measure it, timing each block when the parent says go."""

    def wait_for_turn() -> None:
        link.send("ready")
        link.recv()

    try:
        row = measure(case, threads, device, before_block=wait_for_turn)
    except EOFError:
        return  # the parent stopped the group: another case failed, or the run was interrupted
    except BaseException as error:  # any other failure, interruption included, goes to the parent
        failure = RuntimeError(f"{case.label}: {type(error).__name__}: {error}")
        failure.add_note(traceback.format_exc())  # the case's own traceback, shown with the parent's
        with suppress(OSError):  # unless the parent is gone
            link.send(failure)
        return
    link.send(row)


def _reply(link: Connection, case: Case) -> Any:
    """The case process's next message; its failure raised here."""
    try:
        message = link.recv()
    except EOFError:
        raise RuntimeError(f"{case.label}: its process ended without a result (out of memory?)") from None
    if isinstance(message, BaseException):
        raise message
    return message


def in_fresh_process(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """fn(*args) in a new process: its peak memory and caches are its own."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def ratios(rows: pl.DataFrame) -> pl.DataFrame:
    """Per game, rule, scenario (null: the game's defaults) and agents per world: the engine's best rate
    over its batch sizes, the per-agent rates, and the speed-ups a/b (engine over PettingZoo loop) and a/c
    (engine over Mesa). Rows written before scenarios existed have none: the defaults."""
    if "scenario" not in rows.columns:
        rows = rows.with_columns(pl.lit(None, pl.String).alias("scenario"))
    keys = ["game", "rule", "scenario", "agents"]
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
        "code_diff": version["diff"],
        "package_versions": json.dumps(version["packages"], sort_keys=True),
        "machine": json.dumps(machine(), sort_keys=True),
    }
