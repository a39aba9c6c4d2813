"""The mean-field learner's per-agent passes as kernels (models/speed): its neighbours' modal action with
ties broken by hashed uniforms, one pass where eagerly it is a pass per action and per hashing step. The
rule is mean_field.py's; these are the same numbers (tests check fused against eager)."""

from __future__ import annotations

import torch

from models.learners.choice import greedy
from models.random import hashed_uniforms
from models.speed import kernel


@kernel
def modal_action(counts: torch.Tensor, key: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """Each agent's most played neighbour action, (worlds, agents), from the counts (worlds, agents,
    actions) as float32, ties broken by the uniforms RandomStreams.uniform draws for (agents, actions) from
    the stream's counters (key, offsets): a uniform in [0, 1) never reorders unequal integer counts."""
    ties = hashed_uniforms(key + offsets).view(counts.shape)
    return greedy((counts + ties).unbind(-1))
