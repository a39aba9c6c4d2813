"""Compiled forms of the institutions' part of the publication round, which PublicationStudyKernels plays in
place of the rules' (PublicationRules.cited_places, class_codes, cited_by_record): the citations' search
and the literature's tallies. Each gives the rules' numbers, bit for bit (tests check it); each runs
compiled only where the batch is fused, and eagerly is the rules' own form. (The funder's draws, a million
a decision, are hashed compiled by the engine's draws' kernel, random_kernels.py.)

Why: at 1,000 x 1,000 every one of them is a chain of passes over a million places or citations, and
eagerly each pass goes through memory; compiled, a chain is one loop.
"""

from __future__ import annotations

from typing import Any

import torch

from models.games.publication.beliefs import class_codes
from models.games.publication.citations import cited_by_record, searched_places, targets
from models.speed import kernel


def cited_places(*search: torch.Tensor) -> torch.Tensor:
    """searched_places' numbers, from its arguments (cdf, start, total, key, world, number); where the batch
    is fused, found by a compiled search (_branchless) with as many halvings as a world's places need."""
    cdf, start = search[:2]
    return _branchless(*search, (cdf.shape[0] // start.shape[0]).bit_length())


def _searched(*search: Any) -> torch.Tensor:
    """_branchless' eager form: searched_places (the last argument, the halvings, is the compiled form's)."""
    return searched_places(*search[:-1])


@kernel(eager=_searched)
def _branchless(
    cdf: torch.Tensor,
    start: torch.Tensor,
    total: torch.Tensor,
    key: torch.Tensor,
    world: torch.Tensor,
    number: torch.Tensor,
    bits: int,
) -> torch.Tensor:
    """searched_places' numbers, compiled: the search within the world's own places, `bits` halvings
    without branches (a binary search's branches go at random, and cost most of its time), the uniforms
    hashed in the same loop. The places before the world's own hold cumulative weights at most its start,
    and the target is at least that start, so the first place above the target is in the world's span, or
    past it, where both clamp to the span's last place."""
    target = targets(start, total, key, world, number)
    places = cdf.shape[0] // start.shape[0]
    first = world * places
    # How many of the world's places hold cumulative weights <= target, built from the largest power of two
    # down: each step goes on where the place it reaches is still at most the target.
    below = torch.zeros_like(world)
    for step in (1 << k for k in reversed(range(bits))):
        reach = below + step
        at_most = (reach <= places) & (cdf[first + reach.clamp(max=places) - 1] <= target)
        below = torch.where(at_most, reach, below)
    return first + below.clamp(max=places - 1)


# The literature's tallies: class_codes and cited_by_record as they are, compiled (a chain of elementwise
# passes and integer sums, exact in any order).
compiled_class_codes = kernel(class_codes)
compiled_cited_by_record = kernel(cited_by_record)
