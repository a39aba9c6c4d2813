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
    where `weights` (a bool mask) is true; NaN for a row with no entries or a zero total.

    G = sum_i (2 i - n - 1) x_(i) / (n sum x) over the values in ascending order x_(1) <= ... <= x_(n).
    Whole numbers with few distinct values (citation counts, funds in whole grants) are counted rather than
    sorted: a value v held by h entries with C below it contributes v h (2 C + h - n), the same integer
    sum. Other values are sorted by their float32 bits, which order non-negative floats as their values do
    and sort faster as integers. Either way the sums are exact in float64 for whole numbers, so the two
    ways give the same coefficient."""
    keyed = values if values.dtype == torch.int32 else values.float()
    if weights is not None:
        keyed = torch.where(weights, keyed, -1)
    negative = values.numel() and float(values.min()) < 0  # masked-out entries may be
    if negative and (weights is None or bool((weights & (values < 0)).any())):
        raise ValueError(f"gini of a negative value ({float(values.min())}): allowed are values >= 0")
    if values.numel() and _whole(keyed):
        return _gini_of_counts(keyed.int())
    # Masked-out entries sort to the front (-1.0's bits are a negative int32) and are skipped by rank.
    ordered = keyed.float().view(torch.int32).sort(1).values.view(torch.float32).double()
    if weights is None:
        n = torch.full((values.shape[0], 1), values.shape[1], dtype=torch.float64, device=values.device)
    else:
        n = weights.sum(1, keepdim=True).double()
    rank = (ordered >= 0).cumsum(1, dtype=torch.float64)  # 1..n over the valid entries, in ascending order
    ordered.clamp_(min=0)  # the masked-out entries count nothing
    total = ordered.sum(1, keepdim=True)
    weighted = 2 * (rank * ordered).sum(1, keepdim=True) - (n + 1) * total  # sum of (2 rank - n - 1) x
    return _coefficient(weighted, n, total)


# Counting pays while the table of counts, rows x distinct values, is at most this many times the values.
COUNTING_BINS_PER_VALUE = 2


def _whole(keyed: torch.Tensor) -> bool:
    """Whether the values (masked-out ones -1) are whole numbers, few enough distinct ones to count."""
    top = float(keyed.max())
    if (top + 2) * keyed.shape[0] > min(COUNTING_BINS_PER_VALUE * keyed.numel() + 1024, 2**31 - 1):
        return False  # too many distinct values to count, or more than int32 indices reach
    return not keyed.is_floating_point() or not bool(keyed.frac().any())


def _gini_of_counts(keyed: torch.Tensor) -> torch.Tensor:
    """gini of whole values (masked-out entries -1) from each row's count of each value."""
    rows, top = keyed.shape[0], int(keyed.max())
    span = top + 2  # a row's bins: its masked-out entries (-1), then the values 0 to top
    first = torch.arange(rows, device=keyed.device, dtype=torch.int32).view(-1, 1) * span + 1
    held = (keyed + first).view(-1).bincount(minlength=rows * span).view(rows, span)[:, 1:].double()
    value = torch.arange(top + 1, device=keyed.device, dtype=torch.float64)
    below = held.cumsum(1) - held
    n = held.sum(1, keepdim=True)
    total = (held * value).sum(1, keepdim=True)
    weighted = (value * held * (2 * below + held - n)).sum(1, keepdim=True)
    return _coefficient(weighted, n, total)


def _coefficient(weighted: torch.Tensor, n: torch.Tensor, total: torch.Tensor) -> torch.Tensor:
    out = weighted / (n * total)
    return torch.where((n > 0) & (total > 0), out, torch.nan).squeeze(1).float()
