"""Metrics: pure functions of a round's tallies, defined once and reused by engine, store, app and report."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

import torch


@dataclass(frozen=True)
class Metric:
    """A named per-world outcome of one round, with what it means for the people reading it."""

    name: str
    doc: str
    fn: Callable[[Any], torch.Tensor]
    bounded: bool = False  # a share in [0, 1]


def ratio(numerator: torch.Tensor, denominator: torch.Tensor) -> torch.Tensor:
    """numerator / denominator, NaN where the denominator is 0 (the metric is undefined that round)."""
    numerator, denominator = numerator.double(), denominator.double()
    defined = denominator > 0
    return torch.where(defined, numerator / torch.where(defined, denominator, 1.0), torch.nan)


def compute(metrics: tuple[Metric, ...], tallies: Any) -> torch.Tensor:
    """All metrics of one round, shape (worlds, metrics), float64."""
    return torch.stack([m.fn(tallies).double() for m in metrics], dim=1)


def compute_rounds(metrics: tuple[Metric, ...], rounds: list[Any]) -> torch.Tensor:
    """All metrics of many rounds' tallies at once, shape (rounds, worlds, metrics), float64.

    Every metric is a function of one world's tallies, so the rounds are joined along the worlds axis
    and computed in one call: one call instead of one per round (per round, the small tensor operations
    cost about as much as a round of a small study).
    """
    first = rounds[0]
    joined = {
        f.name: torch.cat([getattr(t, f.name) for t in rounds])
        for f in fields(first)
        if isinstance(getattr(first, f.name), torch.Tensor)
    }
    return compute(metrics, replace(first, **joined)).view(len(rounds), -1, len(metrics))
