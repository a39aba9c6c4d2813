"""Study configs: a TOML file read, checked whole and expanded into runs before anything runs.

A study names a game, fixes game and learner parameters, sweeps some of them over a grid, and repeats
every design point with `replications` seeds. Planning refuses a bad config with one message naming
the field, the value and what is allowed, so nothing is ever written for a config that cannot run.

Seeds: the study seed derives one seed per replication, shared by every design point (common random
numbers: differences between design points are not blurred by different random draws).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.extensions import check_extension_names, load_extensions
from models.games import GameSpec, get_game
from models.learners import DEFAULT_KIND, LEARNERS, check_learner, resolve_learner
from models.params import ConfigError, Param, ParamSpace
from studies.designs import DESIGN_PARAMS, Axis, design_points, design_size, parse_axis

SECTIONS = ("study", "game", "learners", "design", "sweep")
MAX_RUNS = 2_000_000  # a plan holds every run in memory; beyond this, split the study
MAX_DEPTH = 16  # tables and lists nested in one another; a study needs 5
MAX_NUMBER = 1e15  # the engine computes in 32-bit floats, whose sums overflow far below 1e308
MODULE_NAME = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*")

STUDY_PARAMS = ParamSpace(
    name="study",
    params={
        "name": Param("", "the study's name: letters, digits, '_' or '-'", kind=str),
        "description": Param("", "what the study asks, in a sentence", kind=str),
        "game": Param("publication", "which game to play", kind=str),
        "rounds": Param(500, "rounds each run lasts", kind=int, low=1, high=10_000_000),
        "replications": Param(5, "runs (seeds) per design point", kind=int, low=1, high=100_000),
        "seed": Param(0, "study seed from which every run's seed derives", kind=int, low=0, high=2**63 - 1),
        "record_every": Param(1, "record metrics every this many rounds", kind=int, low=1, high=10_000_000),
    },
    checks=(
        lambda s: (
            None
            if re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", s["name"])
            else "name is missing: every study needs one (1 to 64 letters, digits, '_' or '-')"
            if not s["name"]
            else f"name = {s['name']!r} is not allowed: use 1 to 64 letters, digits, '_' or '-'"
        ),
    ),
)


@dataclass(frozen=True)
class Run:
    """One simulation: a design point and a replication, with everything needed to rerun it."""

    run_id: str
    design_point: int
    replicate: int
    seed: int
    game: dict[str, Any]
    learners: dict[str, dict[str, Any]]


@dataclass
class StudyPlan:
    """A checked, fully resolved study: its identity, its runs, and where it came from."""

    study_id: str
    name: str
    description: str
    game: GameSpec
    rounds: int
    replications: int
    seed: int
    record_every: int
    config: dict[str, Any]
    design: dict[str, Any] = field(default_factory=lambda: DESIGN_PARAMS.defaults())
    axes: list[Axis] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    source: str = ""

    @property
    def swept(self) -> list[str]:
        """The swept parameters, as written in [sweep]."""
        return [axis.key for axis in self.axes]

    @property
    def design_points(self) -> int:
        return len(self.runs) // self.replications

    def point_values(self) -> dict[int, dict[str, Any]]:
        """Each design point's swept values, by sweep key."""
        values = {}
        for run in self.runs:
            if run.design_point not in values:
                values[run.design_point] = {axis.key: axis_value(axis, run) for axis in self.axes}
        return values


def axis_value(axis: Axis, run: Run) -> Any:
    return run.game[axis.name] if axis.section == "game" else run.learners[axis.role][axis.name]


def replicate_seed(study_seed: int, replicate: int) -> int:
    digest = hashlib.sha256(f"{study_seed}:{replicate}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _sweep_target(
    key: str, game: GameSpec, learners: dict[str, dict[str, Any]], kinds: dict[str, list[str]]
) -> tuple[tuple[str, str, str], Param]:
    """(('game', '', param) or ('learners', role, param)), and the parameter's declaration. A learner
    parameter swept beside the role's learner family must belong to every family swept (`kinds`)."""
    parts = key.split(".")
    if len(parts) == 1 and parts[0] in game.params.params:
        return ("game", "", parts[0]), game.params.params[parts[0]]
    if len(parts) == 3 and parts[0] == "learners" and parts[1] in game.role_names:
        if parts[2] == "kind":  # the learner family itself: each value brings its own parameter space
            family = Param(DEFAULT_KIND, "the learner family", kind=str, choices=tuple(LEARNERS))
            return ("learners", parts[1], "kind"), family
        families = kinds.get(parts[1]) or [learners[parts[1]]["kind"]]
        for kind in families:
            space = LEARNERS[kind].params
            if parts[2] not in space.params:
                raise ConfigError(
                    f"sweep.{key}: the {kind} learner has no parameter {parts[2]!r}: allowed are "
                    f"{', '.join(space.params)}."
                )
        return ("learners", parts[1], parts[2]), LEARNERS[families[0]].params.params[parts[2]]
    raise ConfigError(
        f"sweep.{key} is not a parameter of the {game.name} game: allowed are its parameters "
        f"({', '.join(game.params.params)}) or learners.<role>.<parameter> with role one of "
        f"{', '.join(game.role_names)}."
    )


def check_values(value: Any, where: str = "", depth: int = 0) -> None:
    """Refuse what no setting can hold, before any setting is read: numbers that are not finite or too
    large to compute with, dates and times, keys that would break a message over lines, and nesting deeper
    than MAX_DEPTH (later steps would exhaust Python's recursion on it)."""
    if depth > MAX_DEPTH:
        raise ConfigError(
            f"{where} nests lists or tables more than {MAX_DEPTH} deep: allowed are numbers, strings, "
            "true or false, and lists and tables of them."
        )
    if isinstance(value, dict):
        for key, item in value.items():
            if not key.isprintable():
                raise ConfigError(
                    f"{where or 'the study config'} has the key {key!r}: allowed are keys of printable "
                    "characters (parameter names)."
                )
            check_values(item, f"{where}.{key}" if where else key, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_values(item, f"{where}[{index}]", depth + 1)
    elif isinstance(value, float) and not (math.isfinite(value) and abs(value) <= MAX_NUMBER):
        raise ConfigError(
            f"{where} = {value!r} is not allowed: numbers must be finite and at most {MAX_NUMBER:g} in size "
            "(the engine computes in 32-bit floats)."
        )
    elif isinstance(value, datetime.date | datetime.time):
        raise ConfigError(
            f"{where} = {value.isoformat()} is a date or time: allowed are numbers, strings, true or false, "
            "and lists and tables of them."
        )


def learner_table(values: Any, where: str) -> dict[str, Any]:
    """A role's learner settings, refused unless a table whose `kind`, if given, is a family's name."""
    if not isinstance(values, dict):
        raise ConfigError(
            f"{where} = {values!r} is not allowed: give a table of the role's learner settings, such as "
            f'[{where}] with kind = "{DEFAULT_KIND}".'
        )
    if "kind" in values and not isinstance(values["kind"], str):
        raise ConfigError(
            f"{where}.kind = {values['kind']!r} has the wrong type: allowed is one of "
            f"{', '.join(repr(kind) for kind in LEARNERS)} (the learner family)."
        )
    return values


def plan_study(raw: dict[str, Any], source: str = "") -> StudyPlan:
    """Check a parsed study config and expand it into runs; raise ConfigError on anything wrong."""
    check_values(raw)
    unknown = sorted(set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(
            f"the study config has unknown section(s) {', '.join(unknown)}: allowed are "
            f"[{'], ['.join(SECTIONS)}]."
        )
    for section in SECTIONS:
        if not isinstance(raw.get(section, {}), dict):
            raise ConfigError(f"[{section}] must be a table of settings, not {raw[section]!r}.")
    study_raw = dict(raw.get("study", {}))
    extensions = check_extension_names(study_raw.pop("extensions", []))
    for name in extensions:
        if not MODULE_NAME.fullmatch(name):
            raise ConfigError(
                f'study.extensions names {name!r}: allowed are module names such as "my_lab.journal".'
            )
    load_extensions(extensions)  # before the game is looked up: they may register parameters, roles, metrics
    study = STUDY_PARAMS.resolve(study_raw, "study")
    if extensions:  # absent otherwise, so that the ids of studies without extensions do not change
        study["extensions"] = extensions
    game = get_game(study["game"])
    base_game = game.params.resolve(raw.get("game", {}), "game")
    learner_raw = raw.get("learners", {})
    unknown_roles = sorted(set(learner_raw) - set(game.role_names))
    if unknown_roles:
        raise ConfigError(
            f"learners has unknown role(s) {', '.join(unknown_roles)}: the {game.name} game's roles are "
            f"{', '.join(game.role_names)}."
        )
    base_learners = {
        role: resolve_learner(
            learner_table(learner_raw.get(role, {}), f"learners.{role}"), f"learners.{role}"
        )
        for role in game.role_names
    }

    design = DESIGN_PARAMS.resolve(raw.get("design", {}), "design")
    if "seed" not in raw.get("design", {}):
        design["seed"] = study["seed"] % 2**32
    axes = []
    swept_kinds = {
        key.split(".")[1]: [kind for kind in spec if kind in LEARNERS]
        for key, spec in raw.get("sweep", {}).items()
        if key.startswith("learners.") and key.endswith(".kind") and isinstance(spec, list)
    }
    for key, spec in raw.get("sweep", {}).items():
        target, param = _sweep_target(key, game, base_learners, swept_kinds)
        axes.append(parse_axis(key, spec, target, param, design["kind"]))
    if design["kind"] != "grid" and not axes:
        raise ConfigError(f"design.kind = {design['kind']!r} needs at least one swept range in [sweep].")
    planned = design_size(design, axes) * study["replications"]
    if planned > MAX_RUNS:
        raise ConfigError(
            f"the design has {planned:,} runs ({design_size(design, axes):,} design points x "
            f"{study['replications']} replications): allowed are at most {MAX_RUNS:,} per study, because a "
            "plan holds every run in memory; split the sweep into several studies."
        )

    config = {
        "study": study,
        "game": base_game,
        "learners": base_learners,
        "design": design,
        "sweep": raw.get("sweep", {}),
    }
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]
    plan = StudyPlan(
        study_id=f"{study['name']}-{digest}",
        name=study["name"],
        description=study["description"],
        game=game,
        rounds=study["rounds"],
        replications=study["replications"],
        seed=study["seed"],
        record_every=study["record_every"],
        config=config,
        design=design,
        axes=axes,
        source=source,
    )
    seeds = [replicate_seed(study["seed"], r) for r in range(study["replications"])]
    for point, combo in enumerate(design_points(design, axes)):
        game_values = dict(raw.get("game", {}))
        learner_values = {role: dict(learner_raw.get(role, {})) for role in game.role_names}
        for axis, value in zip(axes, combo, strict=True):
            if axis.section == "game":
                game_values[axis.name] = value
            else:
                learner_values[axis.role][axis.name] = value
        where = f"sweep point {dict(zip(plan.swept, combo, strict=True))}: game"
        point_game = game.params.resolve(game_values, where)
        point_learners = {
            role: resolve_learner(learner_table(values, f"learners.{role}"), f"learners.{role}")
            for role, values in learner_values.items()
        }
        unfit = game.rounds_fit(point_game, study["rounds"])
        if unfit:
            raise ConfigError(f"{where}.{unfit}.")
        traits, fields = game.role_traits(point_game), game.role_fields(point_game)
        for role, (n_agents, n_actions) in game.role_shapes(point_game).items():
            check_learner(
                point_learners[role],
                role,
                n_agents,
                n_actions,
                traits[role],
                study["rounds"],
                payoff_model=game.payoffs([point_game], role),
                fields=fields[role],
            )
        for replicate, seed in enumerate(seeds):
            plan.runs.append(
                Run(
                    run_id=f"{plan.study_id}:p{point}:r{replicate}",
                    design_point=point,
                    replicate=replicate,
                    seed=seed,
                    game=point_game,
                    learners=point_learners,
                )
            )
    return plan


def load_study(path: str | Path) -> StudyPlan:
    """Read and plan a study TOML file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"study file {str(path)!r} does not exist: give the path of a .toml study config.")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"study file {str(path)!r} is not valid TOML: {error}.") from None
    except RecursionError:
        raise ConfigError(
            f"study file {str(path)!r} nests lists or tables too deeply to read: allowed are at most "
            f"{MAX_DEPTH} levels."
        ) from None
    return plan_study(raw, source=str(path))
