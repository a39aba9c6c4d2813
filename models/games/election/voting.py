"""Single-winner voting rules, batched over worlds: one call decides every world's election.

Ballots come from utilities, shape (worlds, voters, candidates), higher is better: a voter ranks
candidates by utility, votes for its first choice, and approves every candidate at least as good as its
mean over candidates (Merrill's sincere approval threshold). `turnout` (worlds, voters) says who votes.
Ties are broken by `tie_break` (worlds, candidates), numbers in [0, 1) that order candidates wherever
their scores are equal; the caller draws them from the world's random stream.

The rules are checked against the pref_voting library on random profiles (tests/models/test_rules.py),
with no per-voter or per-world Python. Every rule counts through two functions, first-choice votes and
head-to-head counts (`Counting`): the ones here are the reference, and kernels.py has the same counts as
kernels that fuse, used by the accelerated engine.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch

RULES = ("plurality", "runoff", "instant_runoff", "approval", "borda", "condorcet")


@dataclass
class Outcome:
    """Each world's winner, and the share of the vote each candidate got on the ballot's first count."""

    winner: torch.Tensor  # (worlds,) candidate index
    vote_shares: torch.Tensor  # (worlds, candidates): first choices (approvals under approval voting)


MAX_CANDIDATES = 8
SPLIT = math.lcm(*range(1, MAX_CANDIDATES + 1))  # 840 parts to a vote: divisible among any 1-8 favourites


def by_candidate(utilities: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    """(worlds, voters, C) utilities as (worlds, C, voters), contiguous, in `dtype` (theirs if None).

    Every count runs over voters; with voters last, each operation vectorises over them instead of over
    the 2-8 candidates (measured 2-4 times faster for the first-choice count and the pairwise matrix).
    The transpose and the conversion are one copy.
    """
    flipped = utilities.transpose(1, 2)
    return torch.empty(flipped.shape, dtype=dtype or utilities.dtype, device=utilities.device).copy_(flipped)


def first_choices(
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    standing: torch.Tensor | None = None,
    counting: Counting | None = None,
) -> torch.Tensor:
    """First-choice vote counts (worlds, candidates) among the candidates still standing (all if None).

    `ballots` are utilities by candidate (see by_candidate). A voter indifferent between several
    favourites (candidates on one platform) splits the vote evenly among them, as in Hotelling's and
    Downs' models, rather than handing it to the lowest index. A vote is SPLIT parts, split evenly among
    the favourites: whole parts, counted exactly in integers, so the count is the same in any batch on
    any device (a float sum of thirds is not), and 15% faster than the float matrix product it replaces.
    """
    parts = (counting or COUNTING).first_choice_parts(ballots, turnout.to(torch.int32), standing)
    return parts.double() / SPLIT


def first_choice_parts(
    ballots: torch.Tensor, turnout: torch.Tensor, standing: torch.Tensor | None
) -> torch.Tensor:
    """The parts of votes (SPLIT to a vote) each candidate gets as a first choice, int64 (worlds,
    candidates), from ballots by candidate and turnout as int32 0 or 1 (worlds, voters); see
    first_choices."""
    if standing is not None:
        ballots = torch.where(standing.unsqueeze(-1), ballots, float("-inf"))
    favourite = ballots == ballots.amax(1, keepdim=True)  # (W, C, V)
    parts = (SPLIT // favourite.sum(1, dtype=torch.int32)) * turnout  # (W, V)
    return (favourite * parts.unsqueeze(1)).sum(-1, dtype=torch.int64)


def pairwise(
    utilities: torch.Tensor, turnout: torch.Tensor, counting: Counting | None = None
) -> torch.Tensor:
    """P[w, i, j]: voters in world w who prefer candidate i to candidate j, shape (worlds, C, C)."""
    counts = (counting or COUNTING).pairwise_counts(by_candidate(utilities), turnout.to(torch.int32))
    return counts.to(utilities.dtype)


def pairwise_counts(ballots: torch.Tensor, turnout: torch.Tensor) -> torch.Tensor:
    """pairwise() on ballots by candidate and turnout as int32 0 or 1: int32 counts, every pair in one
    comparison."""
    prefers = (ballots.unsqueeze(2) > ballots.unsqueeze(1)) & turnout.view(-1, 1, 1, turnout.shape[-1])
    return prefers.sum(-1, dtype=torch.int32)  # (W, C, C)


@dataclass(frozen=True)
class Counting:
    """The two counts every rule is made of: first-choice parts and head-to-head counts."""

    first_choice_parts: Callable[..., torch.Tensor]
    pairwise_counts: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


COUNTING = Counting(first_choice_parts, pairwise_counts)  # the reference counts


def condorcet_winner(
    utilities: torch.Tensor, turnout: torch.Tensor, counting: Counting | None = None
) -> torch.Tensor:
    """The candidate who beats every other head to head, per world; -1 where there is none."""
    p = pairwise(utilities, turnout, counting)
    beats = (p > p.transpose(1, 2)).sum(-1)
    exists = beats == utilities.shape[-1] - 1
    return torch.where(exists.any(-1), exists.int().argmax(-1), -1)


# Scores are counts of (possibly split) votes: distinct scores differ by at least 1/840 (split among at
# most 8 candidates), so a tie-break this small reorders only exactly tied candidates.
TIE = 1e-6


def _best(score: torch.Tensor, tie_break: torch.Tensor) -> torch.Tensor:
    """argmax with exact ties decided by tie_break."""
    return (score + TIE * tie_break).argmax(-1)


def elect(
    rule: str,
    utilities: torch.Tensor,
    turnout: torch.Tensor,
    tie_break: torch.Tensor,
    counting: Counting | None = None,
) -> Outcome:
    """Decide every world's election under `rule`.

    The ballots stay in the utilities' float32: the counts compare them, which float64 would not change
    (float32 widens exactly), at twice the memory traffic. Scores are float64: a tie-break of TIE must
    tell apart counts of millions of votes."""
    counting = counting or COUNTING
    ballots = by_candidate(utilities)  # (W, C, V)
    tie_break, votes = tie_break.double(), turnout.to(torch.int32)
    n_worlds, n_candidates, _ = ballots.shape
    first = first_choices(ballots, votes, counting=counting)
    voters = turnout.sum(-1, dtype=torch.float64).clamp(min=1)
    shares = first / voters.unsqueeze(-1)

    def head_to_head() -> torch.Tensor:
        return counting.pairwise_counts(ballots, votes).double()

    if rule == "plurality":
        winner = _best(first, tie_break)
    elif rule == "runoff":
        majority = first.amax(-1) > voters / 2
        finalists = (first + TIE * tie_break).topk(2, dim=-1).indices
        p = head_to_head()
        a, b = finalists[:, 0], finalists[:, 1]
        rows = torch.arange(n_worlds, device=ballots.device)
        a_votes, b_votes = p[rows, a, b], p[rows, b, a]
        a_wins = (a_votes > b_votes) | ((a_votes == b_votes) & (tie_break[rows, a] > tie_break[rows, b]))
        winner = torch.where(majority, _best(first, tie_break), torch.where(a_wins, a, b))
    elif rule == "instant_runoff":
        standing = torch.ones(n_worlds, n_candidates, dtype=torch.bool, device=ballots.device)
        decided = torch.zeros(n_worlds, dtype=torch.bool, device=ballots.device)
        for _ in range(n_candidates - 1):
            counts = first_choices(ballots, votes, standing, counting)
            decided |= counts.amax(-1) > voters / 2
            weakest = (counts - TIE * tie_break).masked_fill(~standing, float("inf")).argmin(-1)
            eliminate = torch.zeros_like(standing).scatter_(
                1, weakest.unsqueeze(1), True
            ) & ~decided.unsqueeze(1)
            standing &= ~eliminate
        last = first_choices(ballots, votes, standing, counting)
        winner = _best(last.masked_fill(~standing, -1), tie_break)
    elif rule == "approval":
        wide = ballots.double()  # the mean over candidates in float64
        approve = (wide >= wide.mean(1, keepdim=True)) & turnout.unsqueeze(1)
        approvals = approve.sum(-1).double()
        winner = _best(approvals, tie_break)
        shares = approvals / approvals.sum(-1, keepdim=True).clamp(min=1)
    elif rule == "borda":
        winner = _best(head_to_head().sum(-1), tie_break)
    elif rule == "condorcet":  # Copeland's method, ties broken by Borda score: elects any Condorcet winner
        p = head_to_head()
        copeland = (p > p.transpose(1, 2)).sum(-1) + 0.5 * ((p == p.transpose(1, 2)).sum(-1) - 1)
        borda = p.sum(-1)
        # Copeland first, Borda among equals: each world's Copeland score in steps larger than its Borda
        # scores, in float64, where every such score is exact.
        scale = (borda.amax(-1, keepdim=True) + 1) * 2
        winner = _best(copeland.double() * scale + borda, tie_break)
    else:
        raise ValueError(f"rule {rule!r} is not one of {', '.join(RULES)}")
    return Outcome(winner=winner, vote_shares=shares)
