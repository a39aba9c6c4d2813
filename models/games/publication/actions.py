"""A researcher's actions: a novel study or a replication, at one of `rigor_levels` evenly spaced rigors."""

from __future__ import annotations

import torch


def rigor_level(action: torch.Tensor, rigor_levels: int) -> torch.Tensor:
    """The rigor level of each action, 0 to rigor_levels - 1: novel ones first, then replications.
    Arithmetic rather than a table lookup, so that a fused kernel computes it in vector registers."""
    return torch.where(action >= rigor_levels, action - rigor_levels, action)


def rigor(action: torch.Tensor, rigor_levels: int) -> torch.Tensor:
    """The rigor of each action, evenly spaced from 0 to 1 over the levels."""
    return rigor_level(action, rigor_levels) / (rigor_levels - 1)


def replicates(action: torch.Tensor, rigor_levels: int) -> torch.Tensor:
    """Whether each action is a replication (the actions past the novel ones)."""
    return action >= rigor_levels


def action_names(rigor_levels: int) -> list[str]:
    """Human-readable names of the researcher actions, in action-index order."""
    levels = rigor(torch.arange(rigor_levels), rigor_levels).tolist()
    return [f"{kind} at rigor {r:.2f}" for kind in ("novel", "replicate") for r in levels]
