"""Citations: each published study cites earlier findings, and a citation pays the finding's author.

Every study published in a round cites `citations_per_paper` findings of its world's literature as it stood
at the round's start (its published novel positives: negative results and replications are never cited, the
field's preference for positive and novel findings at its extreme). Each citation picks a finding with
probability proportional to 1 + b c, where c is the citations the finding has received so far and b the
`citation_bias`: b = 0 cites uniformly, b > 0 is preferential attachment (Price 1976), the already-cited
drawing more. Citations are drawn with replacement and are blind to a finding's truth and replication record,
so any citation advantage of findings that later fail to replicate (Serra-Garcia & Gneezy 2021) must come from
who publishes them and when, not from the citers. Each citation pays its finding's author `citation_reward`,
as delayed credit for the action that produced the finding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from models.games.publication.literature import Literature
from models.random import RandomStreams


@dataclass
class Citations:
    """A round's citations, one entry per citation made, as flat (world, place) indices into the
    literature, in (world, citing slot, k) order."""

    world: torch.Tensor  # (citations,) int64
    place: torch.Tensor  # (citations,) int64: world * places + place


def draw_citations(
    rng: RandomStreams,
    round_index: int,
    literature: Literature,
    citing: torch.Tensor,
    per_paper: int,
    bias: torch.Tensor,
) -> Citations:
    """The citations of the round's published studies (`citing`, (worlds, slots) bool), `per_paper` each,
    from `literature` at the round's start, with preferential attachment `bias`, (worlds, 1)."""
    n_worlds, places = literature.hypothesis.shape
    filled = literature.hypothesis >= 0
    weight = torch.where(filled, 1 + bias * literature.citations.float(), 0.0).double()
    # One cumulative sum over every world's places in turn: world w's span starts where w - 1's ends.
    cdf = weight.view(-1).cumsum(0)
    end = cdf.view(n_worlds, places)[:, -1]
    start = torch.cat([end.new_zeros(1), end[:-1]])
    total = end - start
    # Citation k of slot s is number s x per_paper + k of its world's draws this round, in (world, slot, k)
    # order; a world with nothing to cite makes none. Only the citations made are drawn.
    slots = citing.shape[1]
    citing_slot = (citing & (total > 0).view(-1, 1)).view(-1).nonzero()  # world x slots + s, (citing, 1)
    world = (citing_slot // slots).expand(-1, per_paper).reshape(-1)
    number = ((citing_slot % slots) * per_paper + torch.arange(per_paper, device=citing.device)).view(-1)
    uniform = rng.uniforms_at(round_index, "citation", world, number)
    # The first place whose cumulative weight exceeds start + u x total: drawn in proportion to the weights.
    target = start[world] + uniform.double() * total[world]
    place = torch.searchsorted(cdf, target, right=True)
    place = torch.minimum(place, (world + 1) * places - 1)  # u x total rounding up to the span's end
    return Citations(world=world, place=place)


def count_citations(literature: Literature, citations: Citations) -> torch.Tensor:
    """Each place's citations this round, (worlds, places) int32."""
    counts = torch.zeros(literature.citations.numel(), dtype=torch.int32, device=citations.place.device)
    counts.index_add_(0, citations.place, torch.ones_like(citations.place, dtype=torch.int32))
    return counts.view_as(literature.citations)
