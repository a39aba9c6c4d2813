"""Sweep designs: which parameter values a study visits.

- `grid`: every combination of each axis's values (a list, or `{low, high, steps}`).
- `random`: `samples` points drawn uniformly in each axis's `{low, high}` range.
- `latin_hypercube`: `samples` points, one in each of `samples` equal slices of every axis (SALib).
- `sobol`: Saltelli's sampling for first- and total-order Sobol indices, `samples` * (axes + 2) points.
- `morris`: `samples` one-at-a-time trajectories on a `levels` grid, `samples` * (axes + 1) points.

SALib (Herman & Usher 2017) draws the Latin hypercube, Sobol and Morris designs and computes their
indices: its estimators and confidence intervals are the field's reference, so we do not rewrite them.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.params import ConfigError, Param, ParamSpace

DESIGNS = ("grid", "random", "latin_hypercube", "sobol", "morris")
SAMPLED = DESIGNS[1:]
MAX_DESIGN_POINTS = 1_000_000

DESIGN_PARAMS = ParamSpace(
    name="design",
    params={
        "kind": Param("grid", "how parameter values are chosen", kind=str, choices=DESIGNS),
        "samples": Param(
            16, "points (random, latin_hypercube), base samples (sobol) or trajectories (morris)",
            kind=int, low=1, high=MAX_DESIGN_POINTS,
        ),
        "levels": Param(4, "grid levels of a morris design", kind=int, low=2, high=1000),
        "seed": Param(0, "seed of the design's sampling", kind=int, low=0, high=2**32 - 1),
    },
    checks=(
        lambda d: None
        if d["kind"] != "sobol" or d["samples"] & (d["samples"] - 1) == 0
        else f"samples = {d['samples']} is not a power of two, which Sobol sequences need: use "
        f"{2 ** round(math.log2(d['samples']))}",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Axis:
    """One swept parameter: where it lives in the config, its type, and its values or range."""

    key: str  # as written in [sweep]: `base_rate` or `learners.researcher.temperature`
    section: str  # "game" or "learners"
    role: str
    name: str
    param: Param
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None

    def cast(self, value: float) -> Any:
        """A sampled number as the parameter's type (integers are rounded)."""
        return round(float(value)) if self.param.kind is int else float(value)


def parse_axis(key: str, spec: Any, target: tuple[str, str, str], param: Param, kind: str) -> Axis:
    section, role, name = target
    where = f"sweep.{key}"
    if isinstance(spec, list):
        if kind != "grid":
            raise ConfigError(
                f"{where} = {spec!r} is a list, but a {kind} design samples a range: write "
                f"{key} = {{low = ..., high = ...}}."
            )
        if not spec:
            raise ConfigError(f"{where} = [] must be a non-empty list of values.")
        typed = [json.dumps(_as_typed(param, v)) for v in spec]
        if len(set(typed)) != len(typed):
            again = next(i for i, value in enumerate(typed) if typed.index(value) != i)
            first = spec[typed.index(typed[again])]
            raise ConfigError(
                f"{where} = {spec!r} lists a value twice ({first!r} and {spec[again]!r} are one value of "
                f"{name}): each value once."
            )
        return Axis(key, section, role, name, param, values=tuple(spec))
    if not isinstance(spec, dict):
        raise ConfigError(
            f"{where} = {spec!r} must be a non-empty list of values or a range {{low = ..., high = ...}}."
        )
    allowed = {"low", "high", "steps"} if kind == "grid" else {"low", "high"}
    if set(spec) - allowed or not {"low", "high"} <= set(spec):
        raise ConfigError(
            f"{where} = {spec!r} is not a range: allowed keys are {', '.join(sorted(allowed))}, with low "
            f"and high required{' and steps for a grid' if kind == 'grid' else ''}."
        )
    if param.kind not in (int, float):
        raise ConfigError(f"{where} is a {param.kind.__name__} parameter: sweep it with a list of values.")
    low, high = (param.check(f"{where}.{end}", spec[end]) for end in ("low", "high"))
    if not low < high:
        raise ConfigError(
            f"{where} has low = {low!r} and high = {high!r}: allowed is a range with low < high."
        )
    if kind == "grid":
        steps = spec.get("steps")
        if steps is None:
            raise ConfigError(
                f"{where} has low and high but no steps: a grid axis needs steps, its number of evenly "
                "spaced values (a whole number of at least 2), or a list of values instead."
            )
        if not isinstance(steps, int) or isinstance(steps, bool) or not 2 <= steps <= MAX_DESIGN_POINTS:
            raise ConfigError(
                f"{where}.steps = {steps!r}: allowed is a whole number from 2 to {MAX_DESIGN_POINTS:,}."
            )
        values = [low + (high - low) * i / (steps - 1) for i in range(steps)]
        cast = [round(float(v)) if param.kind is int else round(v, 12) for v in values]
        if len(set(cast)) != len(cast):
            raise ConfigError(f"{where}: {steps} steps between {low} and {high} repeat integer values.")
        return Axis(key, section, role, name, param, values=tuple(cast))
    return Axis(key, section, role, name, param, low=float(low), high=float(high))


def _as_typed(param: Param, value: Any) -> Any:
    """A listed value as the parameter takes it (2.0 is the integer 2), to tell repeats; a value the
    parameter refuses is left as written, for planning to refuse with its design point."""
    try:
        return param.check("", value)
    except ConfigError:
        return value


def problem(axes: list[Axis]) -> dict[str, Any]:
    """The SALib problem description of sampled axes."""
    return {"num_vars": len(axes), "names": [a.key for a in axes], "bounds": [[a.low, a.high] for a in axes]}


def design_size(design: dict[str, Any], axes: list[Axis]) -> int:
    kind, n, d = design["kind"], design["samples"], len(axes)
    if kind == "grid":
        return math.prod(len(a.values or ()) for a in axes)
    return {"random": n, "latin_hypercube": n, "sobol": n * (d + 2), "morris": n * (d + 1)}[kind]


def design_points(design: dict[str, Any], axes: list[Axis]) -> list[tuple[Any, ...]]:
    """The design's points in order: one tuple of values (one per axis) each."""
    kind = design["kind"]
    if kind == "grid" or not axes:
        return list(itertools.product(*(a.values or () for a in axes)))
    n, seed = design["samples"], design["seed"]
    if kind == "random":
        unit = np.random.default_rng(seed).random((n, len(axes)))
        matrix = np.array([a.low for a in axes]) + unit * np.array([a.high - a.low for a in axes])
    elif kind == "latin_hypercube":
        from SALib.sample import latin

        matrix = latin.sample(problem(axes), n, seed=seed)
    elif kind == "sobol":
        from SALib.sample import sobol

        matrix = sobol.sample(problem(axes), n, calc_second_order=False, scramble=True, seed=seed)
    else:
        from SALib.sample import morris

        matrix = morris.sample(problem(axes), n, num_levels=design["levels"], seed=seed)
    return [tuple(a.cast(v) for a, v in zip(axes, row, strict=True)) for row in matrix]
