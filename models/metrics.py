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


def gini(values: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The Gini coefficient of each row's non-negative values, (worlds, n) -> (worlds,), over the entries
    where `weights` (a bool mask) is true; NaN for a row with no entries or a zero total."""
    mask = torch.ones_like(values, dtype=torch.bool) if weights is None else weights
    # Masked-out entries sort to the front as -1 and are skipped by giving them rank 0 weight. The sort in
    # float32 (counts and funds), the sums in float64.
    keyed = torch.where(mask, values.float(), -1.0).sort(1).values.double()
    n = mask.sum(1, keepdim=True).double()
    valid = keyed >= 0
    rank = valid.double().cumsum(1)  # 1..n over the valid entries, in ascending order
    total = torch.where(valid, keyed, 0.0).sum(1, keepdim=True)
    weighted = torch.where(valid, (2 * rank - n - 1) * keyed, 0.0).sum(1, keepdim=True)
    out = weighted / (n * total)
    return torch.where((n > 0) & (total > 0), out, torch.nan).squeeze(1).float()
