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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from models.games.publication.literature import Literature
from models.random import RandomStreams, hashed_uniforms_at


@dataclass
class Citations:
    """A round's citations, one entry per citation made, as flat (world, place) indices into the
    literature, in (world, citing slot, k) order, with the columns of the cited findings that the round
    reads (by the literature's column names)."""

    world: torch.Tensor  # (citations,) int64
    place: torch.Tensor  # (citations,) int64: world * places + place
    cited: dict[str, torch.Tensor] = field(default_factory=dict)  # (citations,) each


def draw_citations(
    rng: RandomStreams,
    round_index: int,
    literature: Literature,
    citing: torch.Tensor,
    per_paper: int,
    bias: torch.Tensor,
    columns: Sequence[str] = (),
    search: Callable[..., torch.Tensor] | None = None,
) -> Citations:
    """The citations of the round's published studies (`citing`, (worlds, slots) bool), `per_paper` each,
    from `literature` at the round's start, with preferential attachment `bias`, (worlds, 1); with the
    cited findings' `columns` of the literature. `search`: what finds the cited places, searched_places or
    an accelerated engine's form of it (institution_kernels.py)."""
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
    key = rng.keys_of(round_index, "citation")
    place = (search or searched_places)(cdf, start, total, key, world, number)
    cited = {name: getattr(literature, name).view(-1).index_select(0, place) for name in columns}
    return Citations(world=world, place=place, cited=cited)


def searched_places(
    cdf: torch.Tensor,
    start: torch.Tensor,
    total: torch.Tensor,
    key: torch.Tensor,
    world: torch.Tensor,
    number: torch.Tensor,
) -> torch.Tensor:
    """Each citation's place, as flat (world, place) indices: its uniform (number `number` of its world's
    `citation` stream, whose keys are `key`) times its world's total weight, past the world's start in the
    cumulative weights `cdf` (every world's places in turn), falls in the place drawn: the first whose
    cumulative weight exceeds it, in proportion to the weights."""
    target = targets(start, total, key, world, number)
    place = torch.searchsorted(cdf, target, right=True)
    places = cdf.shape[0] // start.shape[0]
    return torch.minimum(place, (world + 1) * places - 1)  # u x total rounding up to the span's end


def targets(
    start: torch.Tensor, total: torch.Tensor, key: torch.Tensor, world: torch.Tensor, number: torch.Tensor
) -> torch.Tensor:
    """Each citation's cumulative weight to search for: its uniform times its world's total past its start."""
    return start[world] + hashed_uniforms_at(key[world], number).double() * total[world]


def count_citations(literature: Literature, citations: Citations) -> torch.Tensor:
    """Each place's citations this round, (worlds, places) int32."""
    counts = torch.zeros(literature.citations.numel(), dtype=torch.int32, device=citations.place.device)
    counts.index_add_(0, citations.place, torch.ones_like(citations.place, dtype=torch.int32))
    return counts.view_as(literature.citations)


def cited_by_record(
    hypothesis: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor, citations: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per world, (worlds,) int64 each: how many of the literature's findings have a published failed
    replication and the citations they received, and how many were confirmed by all their published
    replications (at least one) and theirs; from its columns `hypothesis` (-1 an empty place), the
    published replications `positive` and `negative`, and `citations`. Integer sums: exact in any order."""
    filled = hypothesis >= 0
    failed = filled & (negative > 0)
    confirmed = filled & (positive > 0) & (negative == 0)
    cited = citations.long()
    zero = torch.zeros_like(cited)
    return (
        failed.sum(1),
        torch.where(failed, cited, zero).sum(1),
        confirmed.sum(1),
        torch.where(confirmed, cited, zero).sum(1),
    )
