"""The counter-based draws (models/random.py) compiled: an accelerated engine sets `RandomStreams.hashing`
to `hashed_draws`, and a fused batch then hashes each large draw in one compiled pass that keeps the hash's
state in registers, where eagerly its ten passes go block by block through the cache (six times the time
for a million draws on 2 CPU cores). The same numbers: the hash is integer arithmetic, and the uniform its
24 low bits times 2**-24."""

from __future__ import annotations

import torch

from models.random import hashed_by_block, hashed_uniforms
from models.speed import kernel


@kernel(eager=hashed_by_block)
def hashed_draws(key: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """hashed_by_block's uniforms, (worlds, n), from a stream's keys (worlds, 1) and offsets (n,)."""
    return hashed_uniforms(key + offsets)
