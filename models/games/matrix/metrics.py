"""Metrics of the matrix game: how each role mixes, what it earns, and how far play is from the mixed
equilibrium (the quantities learning-in-games results are stated in: Fudenberg & Levine 1998)."""

from __future__ import annotations

import torch

from models.games.matrix.rules import MatrixTallies
from models.metrics import Metric

SHARED_ACTIONS = 3  # the shares of actions 0-2 are metrics (rock, paper, scissors); NaN past a role's last


def _share(counts: str, action: int) -> Metric:
    role = counts.split("_")[0]

    def share(t: MatrixTallies) -> torch.Tensor:
        table = getattr(t, counts)
        if action >= table.shape[1]:
            return torch.full(table.shape[:1], torch.nan, dtype=torch.float64, device=table.device)
        return table[:, action].double() / t.agents

    doc = f"share of {role} players who played action {action} (undefined where the role has fewer)"
    return Metric(f"{role}_share_{action}", doc, share, bounded=True)


def _equilibrium_distance(t: MatrixTallies) -> torch.Tensor:
    row = t.row_counts[:, 0].double() / t.agents - t.equilibrium_row.double()
    column = t.column_counts[:, 0].double() / t.agents - t.equilibrium_column.double()
    return torch.sqrt(row**2 + column**2)


MATRIX_METRICS: tuple[Metric, ...] = (
    *(_share(counts, a) for counts in ("row_counts", "column_counts") for a in range(SHARED_ACTIONS)),
    Metric("row_payoff", "mean payoff of the row players this round", lambda t: t.row_payoff_sum / t.agents),
    Metric(
        "column_payoff",
        "mean payoff of the column players this round",
        lambda t: t.column_payoff_sum / t.agents,
    ),
    Metric(
        "equilibrium_distance",
        "distance of (row_share_0, column_share_0) from the 2x2 game's completely mixed Nash equilibrium "
        "(undefined where the game has none)",
        _equilibrium_distance,
    ),
)
