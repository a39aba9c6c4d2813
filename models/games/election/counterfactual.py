"""Each voter's counterfactual winner: the election's winner had that voter abstained, batched.

A difference reward (Wolpert & Tumer 2002) pays a voter the world's reward minus the reward of the same
world without the voter's ballot, so it needs, for every voter, the winner without that ballot. By
definition that is `voting.elect` with the voter's turnout set to False (tests/models/test_counterfactual.py
checks exactly that, bit for bit, against one such call per voter), which would cost an election per
voter. Here every voter of every world is decided at once, with no loop over voters or worlds (loops run
over candidates, pairs of candidates, and chunks of worlds).

Every rule's winner is a function of a few integer counts: first-choice parts, the number of voters,
head-to-head counts, approvals. Removing a ballot subtracts the ballot's own contribution from its world's
totals, and the winner is decided on the reduced counts by elect's own arithmetic (the same float64
scores, the same TIE x tie_break, the same majority test), so ties fall exactly as elect breaks them.
Ballots that contribute alike get the same winner, so each winner is decided once per world and key:

- plurality, approval: the key is the ballot's set of favourites (approved candidates), one of 2^C.
- runoff, borda, condorcet, instant_runoff with at most TYPED candidates: the key is the ballot's type,
  its ranking with ties (13 of them for 3 candidates, 75 for 4); every count of a world comes from how
  many ballots of each type it has.
- runoff with more candidates: the favourite set (which fixes the finalists), then the ballot's
  preference between the two finalists.
- borda, condorcet with more candidates: each voter's ranking is taken off the head-to-head counts a pair
  of candidates at a time, on (worlds, voters).
- instant_runoff with more candidates: each voter has its own standing candidates. Each round, the
  distinct standing sets of each world (usually one, a few where a ballot is pivotal) are counted as elect
  counts them, the round is decided per (world, standing set) and favourite set among them, and each
  voter eliminates as its own decides.

elect's Copeland score multiplies by the largest Borda score of *all* worlds, so removing a voter's ballot
from every world (as the definition does) can change that scale; it is each voter's own, accounted for.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from models.games.election import voting
from models.games.election.voting import RULES, SPLIT, TIE

TYPED = 4  # up to this many candidates (75 rankings), ballots are grouped by type
CHUNK_ELEMENTS = 1 << 22  # instant runoff with more candidates: worlds x candidates x (voters + 2^C)

Compare = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def winners_without_each(
    rule: str,
    utilities: torch.Tensor,
    turnout: torch.Tensor,
    tie_break: torch.Tensor,
    counting: voting.Counting | None = None,
) -> torch.Tensor:
    """(worlds, voters) long: in each world, the winner had each voter abstained.

    Arguments as voting.elect's: utilities (worlds, voters, candidates), turnout (worlds, voters) bool,
    tie_break (worlds, candidates) in [0, 1). A voter who did not vote gets the actual winner."""
    if rule not in RULES:
        raise ValueError(f"rule {rule!r} is not one of {', '.join(RULES)}")
    n_worlds, n_voters, n_candidates = utilities.shape
    if n_worlds == 0 or n_voters == 0:
        return torch.zeros(n_worlds, n_voters, dtype=torch.long, device=utilities.device)
    counting = counting or voting.COUNTING
    ballots = voting.by_candidate(utilities)  # (W, C, V)
    tie = TIE * tie_break.double()  # (W, C), as elect adds it
    voters = turnout.sum(-1, dtype=torch.float64)  # (W,), before elect's clamp
    if rule == "plurality":
        return _plurality(ballots, turnout, tie)
    if rule == "approval":
        return _approval(ballots, turnout, tie)
    if n_candidates <= TYPED:
        return _by_type(rule, ballots, turnout, tie_break.double(), voters)
    if rule == "runoff":
        return _runoff(ballots, turnout, tie_break.double(), voters, counting)
    if rule == "instant_runoff":
        return _instant_runoff(ballots, turnout, tie, voters, counting)
    return _pairwise_rule(rule, ballots, turnout, tie, counting)


def _first_best(score: torch.Tensor, dim: int, better: Compare = torch.gt) -> torch.Tensor:
    """score.argmax(dim) (argmin with better=torch.lt), the first best where several tie, as a loop over
    the few candidates: arg-reducing a short dimension measured 10-20 times slower."""
    columns = score.unbind(dim)
    best, index = columns[0], torch.zeros(columns[0].shape, dtype=torch.long, device=score.device)
    for c, column in enumerate(columns[1:], 1):
        wins = better(column, best)
        best = torch.where(wins, column, best)
        index.masked_fill_(wins, c)
    return index


def _bits(members: torch.Tensor) -> torch.Tensor:
    """(W, C, V) bool -> (W, V) long: each voter's set of candidates as a bitmask (bit c: candidate c)."""
    mask = torch.zeros(members.shape[0], members.shape[2], dtype=torch.int32, device=members.device)
    for c in range(members.shape[1]):
        mask.add_(members[:, c], alpha=1 << c)
    return mask.long()


def _subsets(n_candidates: int, device: torch.device) -> torch.Tensor:
    """(2^C, C) bool: row m is the set of candidates whose bit is set in m."""
    masks = torch.arange(1 << n_candidates, device=device)
    return (masks.unsqueeze(1) >> torch.arange(n_candidates, device=device)) & 1 == 1


def _parts_of_subsets(n_candidates: int, device: torch.device) -> torch.Tensor:
    """(2^C, C) int64: the first-choice parts a ballot with favourites m gives each candidate."""
    subsets = _subsets(n_candidates, device)
    return subsets * (SPLIT // subsets.sum(-1, keepdim=True).clamp(min=1))


def _favourites(ballots: torch.Tensor, turnout: torch.Tensor) -> torch.Tensor:
    """(W, V) long: each voter's favourites as a bitmask (as voting.first_choice_parts finds them), 0
    where the voter did not vote."""
    return _bits(ballots == ballots.amax(1, keepdim=True)).masked_fill_(~turnout, 0)


def _tally(keys: torch.Tensor, n_keys: int) -> torch.Tensor:
    """(W, n_keys) float64: how many voters of each world have each key. Counts times integer tables are
    exact in float64, so a matrix product turns them into any integer count."""
    n_worlds = keys.shape[0]
    rows = torch.arange(n_worlds, device=keys.device).unsqueeze(1)
    tally = torch.bincount((rows * n_keys + keys).view(-1), minlength=n_worlds * n_keys)
    return tally.view(n_worlds, n_keys).double()


def _first_by_favourites(
    ballots: torch.Tensor, turnout: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each voter's favourites (W, V), and per world and favourite set, first choices without a ballot
    with those favourites (W, 2^C, C) float64 as elect divides them, and whether it was a ballot (2^C,)."""
    n_candidates = ballots.shape[1]
    favourites = _favourites(ballots, turnout)
    own = _parts_of_subsets(n_candidates, ballots.device)  # (2^C, C)
    parts = (_tally(favourites, 1 << n_candidates) @ own.double()).long()  # (W, C), first_choice_parts'
    first = (parts.unsqueeze(1) - own).double() / SPLIT
    return favourites, first, torch.arange(1 << n_candidates, device=ballots.device) > 0


def _plurality(ballots: torch.Tensor, turnout: torch.Tensor, tie: torch.Tensor) -> torch.Tensor:
    favourites, first, _ = _first_by_favourites(ballots, turnout)
    by_key = _first_best(first + tie.unsqueeze(1), -1)  # (W, 2^C): the winner without a ballot of each key
    return by_key.gather(1, favourites)


def _finalists(
    first: torch.Tensor, remaining: torch.Tensor, tie_break: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """elect's runoff up to the head-to-head, on counts per world and key (W, K, C): whether a majority
    decides, its winner, and the finalists a and b, each (W, K)."""
    scored = first + TIE * tie_break.unsqueeze(1)
    finalists = scored.topk(2, dim=-1).indices  # (W, K, 2), as elect picks them
    majority = first.amax(-1) > remaining / 2
    return majority, _first_best(scored, -1), finalists[..., 0], finalists[..., 1]


def _runoff_winner(
    decided: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    a_votes: torch.Tensor,
    b_votes: torch.Tensor,
    tie_break: torch.Tensor,
) -> torch.Tensor:
    """elect's runoff winner given _finalists and the head-to-head votes (float64) for a and for b."""
    majority, best, a, b = decided
    a_wins = (a_votes > b_votes) | ((a_votes == b_votes) & (tie_break.gather(1, a) > tie_break.gather(1, b)))
    return torch.where(majority, best, torch.where(a_wins, a, b))


def _runoff(
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    tie_break: torch.Tensor,
    voters: torch.Tensor,
    counting: voting.Counting,
) -> torch.Tensor:
    """The winner without a ballot depends on its favourites and, between the two finalists that leaves,
    on which it prefers: decided per world, favourite set and preference (W, 2^C, 3)."""
    n_worlds, n_candidates, _ = ballots.shape
    favourites, first, is_ballot = _first_by_favourites(ballots, turnout)
    remaining = (voters.unsqueeze(1) - is_ballot.double()).clamp(min=1)  # (W, 2^C)
    decided = _finalists(first, remaining, tie_break)
    a, b = decided[2:]
    p = counting.pairwise_counts(ballots, turnout.to(torch.int32)).long().view(n_worlds, -1)
    p_ab, p_ba = p.gather(1, a * n_candidates + b), p.gather(1, b * n_candidates + a)
    by_key = torch.stack(
        [  # the ballot prefers b, neither, a
            _runoff_winner(decided, p_ab.double(), (p_ba - is_ballot.long()).double(), tie_break),
            _runoff_winner(decided, p_ab.double(), p_ba.double(), tie_break),
            _runoff_winner(decided, (p_ab - is_ballot.long()).double(), p_ba.double(), tie_break),
        ],
        -1,
    ).view(n_worlds, -1)  # (W, 2^C * 3)
    u_a = ballots.gather(1, a.gather(1, favourites).unsqueeze(1)).squeeze(1)  # (W, V)
    u_b = ballots.gather(1, b.gather(1, favourites).unsqueeze(1)).squeeze(1)
    preference = (u_a > u_b).long() - (u_a < u_b).long()
    return by_key.gather(1, favourites * 3 + preference + 1)


def _approval(ballots: torch.Tensor, turnout: torch.Tensor, tie: torch.Tensor) -> torch.Tensor:
    wide = ballots.double()  # as elect: the mean over candidates in float64, over the whole batch
    approve = (wide >= wide.mean(1, keepdim=True)) & turnout.unsqueeze(1)  # (W, C, V)
    approvals = approve.sum(-1)  # (W, C)
    without = approvals.unsqueeze(1) - _subsets(ballots.shape[1], ballots.device).long()
    by_key = _first_best(without.double() + tie.unsqueeze(1), -1)  # (W, 2^C)
    return by_key.gather(1, _bits(approve))


# ---- few candidates: ballots grouped by type ----


@functools.lru_cache(maxsize=16)
def _types(n_candidates: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The ballot types: every ranking of C candidates, ties included (3 for 2 candidates, 13 for 3, 75
    for 4), then the abstainer's, which contributes nothing.

    A ballot is coded by how many candidates it puts strictly below each candidate, `below` (digit c of
    the code in base C for candidate c), which is its Borda score: c is above d exactly where below[c] >
    below[d], so the code is the ranking. Returns below (K, C), first-choice parts (K, 2^C, C) (what the
    ballot gives each candidate when the standing candidates are the subset m, bit c for candidate c),
    and each code's type (C^C + 1,) (the last code is the abstainer's)."""
    n_codes = n_candidates**n_candidates
    digits = n_candidates ** torch.arange(n_candidates, device=device)
    below = torch.arange(n_codes, device=device).unsqueeze(1) // digits % n_candidates  # (C^C, C)
    ranking = (below == (below.unsqueeze(1) < below.unsqueeze(2)).sum(-1)).all(-1)  # codes of a ranking
    below = torch.cat([below[ranking], torch.zeros(1, n_candidates, dtype=torch.long, device=device)])
    type_of = torch.cat([ranking.cumsum(0) - 1, ranking.sum().view(1)])  # non-ranking codes: never read
    subsets = _subsets(n_candidates, device)  # (2^C, C)
    among = torch.where(subsets, below.unsqueeze(1), -1)  # (K, 2^C, C)
    favourite = subsets & (among == among.amax(-1, keepdim=True))
    parts = favourite * (SPLIT // favourite.sum(-1, keepdim=True).clamp(min=1))
    parts[-1] = 0
    return below, parts, type_of


def _ballot_types(ballots: torch.Tensor, turnout: torch.Tensor, type_of: torch.Tensor) -> torch.Tensor:
    """(W, V) long: each ballot's type (see _types), the abstainer's for a voter who did not vote."""
    n_candidates = ballots.shape[1]
    code = torch.zeros(ballots.shape[0], ballots.shape[2], dtype=torch.int32, device=ballots.device)
    for i in range(n_candidates):
        for j in range(i + 1, n_candidates):
            code.add_(ballots[:, i] > ballots[:, j], alpha=n_candidates**i)
            code.add_(ballots[:, i] < ballots[:, j], alpha=n_candidates**j)
    return type_of[code.masked_fill_(~turnout, n_candidates**n_candidates)]


def _by_type(
    rule: str, ballots: torch.Tensor, turnout: torch.Tensor, tie_break: torch.Tensor, voters: torch.Tensor
) -> torch.Tensor:
    """runoff, instant_runoff, borda, condorcet with few candidates: decided once per world and ballot
    type (W, K), from how many ballots of each type each world has."""
    n_worlds, n_candidates, _ = ballots.shape
    below, parts, type_of = _types(n_candidates, ballots.device)
    n_types = len(below)  # the rankings and the abstainer
    types = _ballot_types(ballots, turnout, type_of)  # (W, V)
    tally = _tally(types, n_types)  # (W, K)
    tie = TIE * tie_break.unsqueeze(1)  # (W, 1, C), as elect adds it
    is_ballot = torch.arange(n_types, device=ballots.device) < n_types - 1
    remaining = (voters.unsqueeze(1) - is_ballot.double()).clamp(min=1)  # (W, K)
    if rule == "instant_runoff":
        totals = (tally @ parts.view(n_types, -1).double()).long().view(n_worlds, -1, n_candidates)
        return _instant_runoff_by_type(totals, parts, tie, remaining).gather(1, types)
    prefers = below.unsqueeze(2) > below.unsqueeze(1)  # (K, C, C)
    p = (tally @ prefers.view(n_types, -1).double()).long().view(n_worlds, n_candidates, n_candidates)
    if rule == "runoff":
        own = parts[:, -1]  # (K, C): first choices with every candidate standing
        first = ((tally @ own.double()).long().unsqueeze(1) - own).double() / SPLIT  # (W, K, C)
        decided = _finalists(first, remaining, tie_break)
        a, b = decided[2:]
        pairs = prefers.view(n_types, -1)
        kinds = torch.arange(n_types, device=ballots.device)
        p = p.view(n_worlds, -1)
        a_votes = p.gather(1, a * n_candidates + b) - pairs[kinds, a * n_candidates + b].long()
        b_votes = p.gather(1, b * n_candidates + a) - pairs[kinds, b * n_candidates + a].long()
        return _runoff_winner(decided, a_votes.double(), b_votes.double(), tie_break).gather(1, types)
    borda = p.sum(-1)  # (W, C)
    without = borda.unsqueeze(1) - below  # (W, K, C): Borda scores without a ballot of each type
    if rule == "borda":
        return _first_best(without.double() + tie, -1).gather(1, types)
    # Without a ballot whose margin for i over j is m (-1, 0 or 1), i beats j where margin - m > 0: the
    # sign depends on the margin only between -2 and 2, so it fits in int8.
    margin = (p - p.transpose(1, 2)).clamp(-2, 2).to(torch.int8).unsqueeze(1)  # (W, 1, C, C)
    own = (below.unsqueeze(2) - below.unsqueeze(1)).sign().to(torch.int8)  # (K, C, C): the ballot's margins
    # 2 x (wins + ties / 2) = C - 1 + the sum of the signs of the margins; float32, as elect's Copeland
    copeland = (n_candidates - 1 + (margin - own).sign().sum(-1, dtype=torch.int32)) * 0.5
    # elect's scale, (largest Borda score of all worlds + 1), a 0-dim float64 the float32 product casts
    # to float32: without voter v's ballot in every world, the largest is v's own, at most C - 1 below the
    # actual one. Decide every type for each shortfall that occurs, then take v's.
    largest = borda.amax()
    shortfall = largest - without.amax(-1).gather(1, types).amax(0)  # (V,)
    occurring = shortfall.unique().tolist()
    by_shortfall = torch.stack(
        [
            _first_best(copeland * (largest - short + 1).double().float() * 2 + without.double() + tie, -1)
            for short in occurring
        ],
        -1,
    )  # (W, K, occurring)
    which = torch.zeros(n_candidates, dtype=torch.long, device=ballots.device)
    which[occurring] = torch.arange(len(occurring), device=ballots.device)
    return by_shortfall.view(n_worlds, -1).gather(1, types * len(occurring) + which[shortfall])


def _instant_runoff_by_type(
    totals: torch.Tensor, parts: torch.Tensor, tie: torch.Tensor, remaining: torch.Tensor
) -> torch.Tensor:
    """elect's instant runoff for every world and ballot type at once, (W, K): the count without the
    ballot is the world's total for the standing set less the ballot's own parts for it."""
    n_worlds, n_types = remaining.shape
    n_candidates = totals.shape[-1]
    candidates = torch.arange(n_candidates, device=totals.device)
    kinds = torch.arange(n_types, device=totals.device)
    standing = torch.full((n_worlds, n_types), (1 << n_candidates) - 1, device=totals.device)
    decided = torch.zeros(n_worlds, n_types, dtype=torch.bool, device=totals.device)

    def counts() -> torch.Tensor:  # (W, K, C)
        world = totals.gather(1, standing.unsqueeze(-1).expand(-1, -1, n_candidates))
        return (world - parts[kinds, standing]).double() / SPLIT

    def members() -> torch.Tensor:
        return (standing.unsqueeze(-1) >> candidates) & 1 == 1

    for _ in range(n_candidates - 1):
        current = counts()
        decided |= current.amax(-1) > remaining / 2
        weakest = _first_best((current - tie).masked_fill(~members(), float("inf")), -1, torch.lt)
        standing = torch.where(decided, standing, standing & ~(1 << weakest))
    return _first_best(counts().masked_fill(~members(), -1) + tie, -1)


# ---- more candidates: each voter's ballot taken off directly ----


def _pairwise_rule(
    rule: str, ballots: torch.Tensor, turnout: torch.Tensor, tie: torch.Tensor, counting: voting.Counting
) -> torch.Tensor:
    """Borda and Copeland: each voter's ranking taken off the head-to-head counts, a pair at a time."""
    n_candidates = ballots.shape[1]
    p = counting.pairwise_counts(ballots, turnout.to(torch.int32)).long()  # (W, C, C)
    cast = torch.where(turnout.unsqueeze(1), ballots, 0)  # an abstainer's ballot: no preference
    # Without a ballot whose margin for i over j is m (-1, 0 or 1), i beats j where margin - m > 0: the
    # sign depends on the margin only between -2 and 2, so it fits in int8.
    margin = (p - p.transpose(1, 2)).clamp(-2, 2).to(torch.int8)
    below = [torch.zeros(cast.shape[0], cast.shape[2], dtype=torch.int32, device=cast.device)] * n_candidates
    signs = [torch.zeros(cast.shape[0], cast.shape[2], dtype=torch.int8, device=cast.device)] * n_candidates
    for i in range(n_candidates):
        for j in range(i + 1, n_candidates):
            above, under = cast[:, i] > cast[:, j], cast[:, i] < cast[:, j]
            below[i], below[j] = below[i] + above, below[j] + under
            if rule == "condorcet":
                sign = (margin[:, i, j].unsqueeze(1) - (above.to(torch.int8) - under.to(torch.int8))).sign()
                signs[i], signs[j] = signs[i] + sign, signs[j] - sign
    borda = p.sum(-1)  # (W, C)
    without = [borda[:, c : c + 1] - below[c] for c in range(n_candidates)]  # (W, V) each
    if rule == "borda":
        return _first_best(torch.stack([w.double() for w in without], 1) + tie.unsqueeze(-1), 1)
    # Copeland: 2 x (wins + ties / 2) = C - 1 + the sum of the signs of the margins; float32, as elect's.
    # elect scales it by (largest Borda score of all worlds + 1), which without voter v in every world is
    # v's own (a 0-dim float64 the float32 product casts to float32).
    largest = functools.reduce(torch.maximum, [w.amax(0) for w in without])  # (V,)
    scale = (largest.double() + 1).float()
    score = torch.stack(
        [
            (n_candidates - 1 + signs[c]) * 0.5 * scale * 2 + without[c].double() + tie[:, c : c + 1]
            for c in range(n_candidates)
        ],
        1,
    )
    return _first_best(score, 1)


def _instant_runoff(
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    tie: torch.Tensor,
    voters: torch.Tensor,
    counting: voting.Counting,
) -> torch.Tensor:
    n_worlds, n_candidates, n_voters = ballots.shape
    chunk = max(1, CHUNK_ELEMENTS // (n_candidates * (n_voters + (1 << n_candidates))))
    return torch.cat(
        [
            _instant_runoff_chunk(
                ballots[start : start + chunk],
                turnout[start : start + chunk],
                tie[start : start + chunk],
                voters[start : start + chunk],
                counting,
            )
            for start in range(0, n_worlds, chunk)
        ]
    )


def _instant_runoff_chunk(
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    tie: torch.Tensor,
    voters: torch.Tensor,
    counting: voting.Counting,
) -> torch.Tensor:
    """elect's instant runoff with each voter's ballot removed: every voter has its own standing set and
    decided flag. A round's counts without a ballot are its world's counts for its standing set less the
    ballot's own first choice among them (its favourites, one of 2^C sets), so each round is decided once
    per distinct (world, standing set) and favourite set, and each voter gathers its own."""
    n_worlds, n_candidates, n_voters = ballots.shape
    votes = turnout.to(torch.int32)
    own = _parts_of_subsets(n_candidates, ballots.device)  # (2^C, C); favourites 0: an abstainer
    is_ballot = torch.arange(1 << n_candidates, device=ballots.device) > 0
    standing = torch.full((n_worlds, n_voters), (1 << n_candidates) - 1, device=ballots.device)  # bitmasks
    decided = torch.zeros(n_worlds, n_voters, dtype=torch.bool, device=ballots.device)
    live = ballots.clone()  # each voter's ballot with its eliminated candidates at -inf, as elect masks it

    def round_tables() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Counts per (world, standing set) pair and favourite set (pairs, 2^C, C) float64 as elect divides
        them, the pairs' standing candidates (pairs, 1, C), their worlds, and each voter's row."""
        totals, members, worlds, pair = _standing_sets(ballots, votes, standing, counting)
        counts = (totals.unsqueeze(1) - own).double() / SPLIT
        favourites = _favourites(live, turnout)  # (W, V)
        return counts, members.unsqueeze(1), worlds, pair * (1 << n_candidates) + favourites

    for _ in range(n_candidates - 1):
        counts, members, worlds, row = round_tables()
        remaining = (voters[worlds].unsqueeze(1) - is_ballot.double()).clamp(min=1)  # (pairs, 2^C)
        majority = counts.amax(-1) > remaining / 2
        weakest = _first_best(
            (counts - tie[worlds].unsqueeze(1)).masked_fill(~members, float("inf")), -1, torch.lt
        )
        decided |= majority.view(-1)[row]
        weakest = weakest.view(-1)[row].unsqueeze(1)  # (W, 1, V)
        out = torch.where(decided.unsqueeze(1), live.gather(1, weakest), float("-inf"))
        live.scatter_(1, weakest, out)
        standing = torch.where(decided, standing, standing & ~(1 << weakest.squeeze(1)))
    counts, members, worlds, row = round_tables()
    by_row = _first_best(counts.masked_fill(~members, -1) + tie[worlds].unsqueeze(1), -1)
    return by_row.view(-1)[row]


def _standing_sets(
    ballots: torch.Tensor, votes: torch.Tensor, standing: torch.Tensor, counting: voting.Counting
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distinct (world, standing set) pairs among the voters' standing sets (`standing`, (W, V)
    bitmasks), each counted once as elect counts (first_choice_parts, in batches of W): totals (pairs, C),
    the standing candidates (pairs, C), the pairs' worlds (pairs,) and each voter's pair (W, V)."""
    n_worlds, n_candidates, _ = ballots.shape
    present = torch.zeros(n_worlds, 1 << n_candidates, dtype=torch.bool, device=ballots.device)
    present.scatter_(1, standing, True)
    worlds, sets = present.nonzero(as_tuple=True)  # sorted by world
    members = (sets.unsqueeze(1) >> torch.arange(n_candidates, device=ballots.device)) & 1 == 1
    first = torch.ones_like(worlds, dtype=torch.bool)  # each world's first pair: the worlds in order
    first[1:] = worlds[1:] != worlds[:-1]
    totals = torch.empty(len(worlds), n_candidates, dtype=torch.long, device=ballots.device)
    totals[first] = counting.first_choice_parts(ballots, votes, members[first])
    others = (~first).nonzero().squeeze(1)  # a few, where a ballot is pivotal: their worlds' copies
    for start in range(0, len(others), n_worlds):
        pairs = others[start : start + n_worlds]
        totals[pairs] = counting.first_choice_parts(
            ballots[worlds[pairs]], votes[worlds[pairs]], members[pairs]
        )
    index = torch.zeros(n_worlds, 1 << n_candidates, dtype=torch.long, device=ballots.device)
    index[worlds, sets] = torch.arange(len(worlds), device=ballots.device)
    return totals, members, worlds, index.gather(1, standing)
