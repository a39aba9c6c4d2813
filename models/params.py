"""Typed parameters with ranges, shared by every game, learner and study config.

A bad value is refused before anything runs, with one message that names the field, the value and what
is allowed; that is why every parameter is declared here with its type, range and meaning instead of
being read ad hoc from a dict.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch


class ConfigError(ValueError):
    """A configuration value that is not allowed; the message says which and what is allowed."""


@dataclass(frozen=True)
class Param:
    """One parameter: its default, type, allowed range or choices, and what it means."""

    default: Any
    doc: str
    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    choices: tuple[Any, ...] | None = None
    per_world: bool = True  # may differ between worlds of one batch (shape parameters may not)
    same_as: str | None = None  # a shorthand's part: unless given, it takes that parameter's value
    # A named choice that worlds of one batch may differ in: the batch holds it as (worlds,) int64 indices
    # into `choices` where its worlds differ (the rules then read it per world), else as the name.
    indexed: bool = False

    @property
    def varies_per_world(self) -> bool:
        """A number that worlds of one batch may differ in; other parameters set shapes or code paths."""
        return self.per_world and self.kind in (int, float)

    def allowed(self) -> str:
        if self.choices is not None:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}.get(
            self.kind, self.kind.__name__
        )
        if self.kind is list:
            kind = "a list of numbers"
        bounds = []
        if self.low is not None:
            bounds.append(f"{'>' if self.low_open else '>='} {self.low:g}")
        if self.high is not None:
            bounds.append(f"{'<' if self.high_open else '<='} {self.high:g}")
        return kind + (" " + " and ".join(bounds) if bounds else "")

    def check(self, where: str, value: Any) -> Any:
        """Return the value converted to this parameter's type, or raise ConfigError."""

        def refuse(problem: str) -> ConfigError:
            return ConfigError(f"{where} = {value!r} {problem}: allowed is {self.allowed()} ({self.doc}).")

        if self.choices is not None:
            if value not in self.choices:
                raise refuse("is not a known choice")
            return value
        if self.kind is bool:
            if not isinstance(value, bool):
                raise refuse("has the wrong type")
            return value
        if self.kind is str:
            if not isinstance(value, str):
                raise refuse("has the wrong type")
            return value
        if self.kind is list:
            if not isinstance(value, list) or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in value
            ):
                raise refuse("has the wrong type")
            return [float(v) for v in value]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise refuse("has the wrong type")
        if self.kind is int:
            if isinstance(value, float) and not value.is_integer():
                raise refuse("is not a whole number")
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise refuse("is not finite")
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise refuse("is out of range")
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            raise refuse("is out of range")
        return value


@dataclass(frozen=True)
class ParamSpace:
    """A named set of parameters, plus checks that involve several of them at once."""

    name: str
    params: Mapping[str, Param]
    checks: tuple[Callable[[dict[str, Any]], str | None], ...] = field(default=())
    # Named bundles of values from the literature (a model's published defaults), chosen with `preset`;
    # values given beside a preset override its own.
    presets: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        return {key: p.default for key, p in self.params.items()}

    def defaults_for(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The defaults as they resolve beside these values: a shorthand's part takes its shorthand's
        value (so a part equal to its shorthand is at its default)."""
        defaults = self.defaults()
        for key, p in self.params.items():
            if p.same_as is not None:
                defaults[key] = values.get(p.same_as, defaults[p.same_as])
        return defaults

    def resolve(self, values: Mapping[str, Any], where: str | None = None) -> dict[str, Any]:
        """Fill defaults, refuse unknown keys, check types, ranges and cross-field rules."""
        where = where or self.name
        values = dict(values)
        if "preset" in values and self.presets:
            preset = values.pop("preset")
            if preset not in self.presets:
                raise ConfigError(
                    f"{where}.preset = {preset!r} is not a known preset: allowed are "
                    f"{', '.join(repr(name) for name in self.presets)}."
                )
            values = {**self.presets[preset], **values}
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            allowed = [*self.params, *(["preset"] if self.presets else [])]
            raise ConfigError(
                f"{where} has unknown parameter(s) {', '.join(unknown)}: allowed are {', '.join(allowed)}."
            )
        resolved = self.defaults()
        for key, value in values.items():
            resolved[key] = self.params[key].check(f"{where}.{key}", value)
        for key, p in self.params.items():
            if p.same_as is not None and key not in values:
                resolved[key] = resolved[p.same_as]
        for check in self.checks:
            problem = check(resolved)
            if problem:
                raise ConfigError(f"{where}: {problem}.")
        return resolved


def batch_values(
    space: ParamSpace, configs: list[dict[str, Any]], where: str, device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """One batch's parameters: per-world numbers as (worlds, 1, 1) float32 tensors, the rest shared.

    Worlds of one batch may differ in any per-world number (a sweep then runs as one batch); parameters
    that set shapes or pick code paths must be equal, and a batch that mixes them is refused.
    """
    values: dict[str, Any] = {}
    for key, param in space.params.items():
        column = [config[key] for config in configs]
        if param.varies_per_world:
            values[key] = torch.tensor(column, dtype=torch.float32, device=device).view(-1, 1, 1)
        elif param.indexed and any(value != column[0] for value in column):
            indices = [param.choices.index(value) for value in column]
            values[key] = torch.tensor(indices, dtype=torch.int64, device=device)
        elif any(value != column[0] for value in column):
            raise ConfigError(
                f"{where}.{key} differs between worlds of one batch ({column[0]!r}, ...): it sets shapes or "
                "code paths, so worlds run together must share it."
            )
        else:
            values[key] = column[0]
    return values
