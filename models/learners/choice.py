"""Drawing actions: inverse-CDF sampling and softmax weights, shared by every learner that draws.

Written unrolled over the few actions, one tensor per action: every operation is then elementwise over the
agents, which is what a batched round (and a fused kernel, models/speed) runs fast.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from models.random import hashed_uniforms


def softmax(logits: torch.Tensor, dim: int) -> torch.Tensor:
    """The softmax along `dim`. On the CPU, torch.softmax along a dimension as short as a role's actions
    (a handful) is several times slower than these three passes over the logits."""
    weights = (logits - logits.amax(dim, keepdim=True)).exp_()
    return weights.div_(weights.sum(dim, keepdim=True))


def sample_categorical(weights: Sequence[torch.Tensor], uniform: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: one draw per uniform from non-negative weights (any positive sum), given as
    one tensor per action (each broadcastable to `uniform`).

    Unrolled over the few actions, so every operation is elementwise over agents: a reduction or cumsum
    along a last axis of 4-16 entries runs several times slower, eager or compiled. The count, and so the
    action, is int32: compiled, a uint8 count vectorises badly, and an int64 one costs a third more eagerly
    and twice the memory traffic.
    """
    cdf = [weights[0]]
    for weight in weights[1:]:
        cdf.append(cdf[-1] + weight)
    threshold = uniform * cdf[-1]
    drawn = torch.zeros(threshold.shape, dtype=torch.int32, device=uniform.device)
    for below in cdf[:-1]:  # below the total: the last action is drawn when no other is
        drawn += threshold >= below
    return drawn


# exp2's argument floor: below -126 float32 exp2 gives subnormals, whose slow path costs 10x. 2^-115 ~ 2e-35
# is as good as zero: a draw is a 24-bit uniform times a total of at least 1, so it is 0 or at least 6e-8,
# and no action of smaller weight can be drawn either way.
EXP2_FLOOR = -115.0
LOG2E = 1.4426950408889634  # exp(x) = exp2(x * log2(e)): compiled, exp2 is bit for bit eager's, exp is not


def softmax_weights(values: Sequence[torch.Tensor], scale: torch.Tensor) -> list[torch.Tensor]:
    """exp((Q - max Q) / T) of each action's values, computed as exp2((Q - max Q) * scale) with scale =
    log2(e) / T, unnormalised: sample_categorical needs no normalising. One tensor per action: compiled,
    each action's weight is then computed once per agent in one loop."""
    peak = values[0]
    for value in values[1:]:
        peak = torch.maximum(peak, value)
    return [((value - peak) * scale).clamp(min=EXP2_FLOOR).exp2() for value in values]


def softmax_draw(
    values: Sequence[torch.Tensor], scale: torch.Tensor, key: torch.Tensor, offsets: torch.Tensor
) -> torch.Tensor:
    """Each agent's softmax draw from one tensor of values per action, (worlds, agents) each, at scale
    log2(e) / T per world (worlds, 1), its uniform hashed from a stream's counters
    (RandomStreams.counters)."""
    return sample_categorical(softmax_weights(values, scale), hashed_uniforms(key + offsets))


def greedy(values: Sequence[torch.Tensor]) -> torch.Tensor:
    """The first best action per agent from one tensor of values per action: argmax over the actions,
    unrolled, as an arg-reduction along a short middle axis runs many times slower than these passes."""
    best, chosen = values[0], torch.zeros(values[0].shape, dtype=torch.long, device=values[0].device)
    for action, value in enumerate(values[1:], start=1):
        better = value > best
        best = torch.where(better, value, best)
        chosen = torch.where(better, action, chosen)
    return chosen
