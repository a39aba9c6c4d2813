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
Ballots that contribute alike get the same winner, so each winner is decided once per distinct (world,
key) among the voters, and each voter gathers its own:

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
  counts them, the round is decided per (world, standing set, favourite set among them), and each voter
  eliminates as its own decides.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import torch

from models.games.election import voting
from models.games.election.voting import RULES, SPLIT, TIE

TYPED = 4  # up to this many candidates (75 rankings; codes below C^C <= 256), ballots are grouped by type
CHUNK_ELEMENTS = 1 << 21  # instant runoff with more candidates: worlds x candidates x voters per chunk

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
    tie_break = tie_break.double()  # as elect
    voters = turnout.sum(-1, dtype=torch.float64)  # (W,), before elect's clamp
    if rule == "plurality":
        return _plurality(ballots, turnout, tie_break)
    if rule == "approval":
        return _approval(ballots, turnout, tie_break)
    if n_candidates <= TYPED:
        return _by_type(rule, ballots, turnout, tie_break, voters)
    if rule == "runoff":
        return _runoff(ballots, turnout, tie_break, voters, counting)
    if rule == "instant_runoff":
        return _instant_runoff(ballots, turnout, tie_break, voters, counting)
    return _pairwise_rule(rule, ballots, turnout, tie_break, counting)


# ---- helpers ----


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


def _distinct(keys: torch.Tensor, n_keys: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The distinct values of `keys` (integers below n_keys), ascending (R,), and each key's place among
    them (keys' shape): by a mark per possible value where they are few enough, else by sorting."""
    if n_keys > 4 * keys.numel():
        values, place = torch.unique(keys, sorted=True, return_inverse=True)
        return values, place
    present = torch.zeros(n_keys, dtype=torch.bool, device=keys.device)
    present[keys] = True
    values = present.nonzero().squeeze(1)
    place = torch.zeros(n_keys, dtype=torch.int32, device=keys.device)
    place[values] = torch.arange(len(values), dtype=torch.int32, device=keys.device)
    return values, place[keys].long()


def _rows(keys: torch.Tensor, n_keys: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distinct (world, key) pairs among the voters' keys (W, V): their worlds and keys (R,), and
    each voter's row (W, V)."""
    worlds = torch.arange(keys.shape[0], device=keys.device).unsqueeze(1)
    values, row = _distinct(worlds * n_keys + keys, keys.shape[0] * n_keys)
    return values // n_keys, values % n_keys, row


def _bits(members: torch.Tensor) -> torch.Tensor:
    """(W, C, V) bool -> (W, V) long: each voter's set of candidates as a bitmask (bit c: candidate c)."""
    mask = torch.zeros(members.shape[0], members.shape[2], dtype=torch.uint8, device=members.device)
    for c in range(members.shape[1]):  # at most 8 candidates: a byte (3 times faster than int32)
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


def _first_by_favourites(
    ballots: torch.Tensor, turnout: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distinct (world, favourite set) rows: their worlds and favourite sets (R,), each voter's row
    (W, V), and the first choices without a ballot of the row's favourites (R, C), float64 as elect
    divides them."""
    n_worlds, n_candidates, _ = ballots.shape
    worlds, favourites, row = _rows(_favourites(ballots, turnout), 1 << n_candidates)
    own = _parts_of_subsets(n_candidates, ballots.device)[favourites]  # (R, C)
    ballots_per_row = torch.bincount(row.view(-1), minlength=len(worlds))
    parts = torch.zeros(n_worlds, n_candidates, dtype=torch.long, device=ballots.device)
    parts.index_add_(0, worlds, ballots_per_row.unsqueeze(1) * own)  # (W, C): first_choice_parts'
    return worlds, favourites, row, (parts[worlds] - own).double() / SPLIT


# ---- plurality, approval: by favourite (approved) set ----


def _plurality(ballots: torch.Tensor, turnout: torch.Tensor, tie_break: torch.Tensor) -> torch.Tensor:
    worlds, _, row, first = _first_by_favourites(ballots, turnout)
    return _first_best(first + TIE * tie_break[worlds], -1)[row]


def _approval(ballots: torch.Tensor, turnout: torch.Tensor, tie_break: torch.Tensor) -> torch.Tensor:
    wide = ballots.double()  # as elect: the mean over candidates in float64, over the whole batch
    approve = (wide >= wide.mean(1, keepdim=True)) & turnout.unsqueeze(1)  # (W, C, V)
    approvals = approve.sum(-1)  # (W, C)
    worlds, approved, row = _rows(_bits(approve), 1 << ballots.shape[1])
    without = approvals[worlds] - _subsets(ballots.shape[1], ballots.device)[approved].long()  # (R, C)
    return _first_best(without.double() + TIE * tie_break[worlds], -1)[row]


# ---- runoff ----


def _finalists(
    first: torch.Tensor, remaining: torch.Tensor, tie_break: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """elect's runoff up to the head-to-head, per row: first choices (R, C), voters (R,) and tie-break
    (R, C) -> whether a majority decides, its winner, and the finalists a and b, each (R,)."""
    scored = first + TIE * tie_break
    finalists = scored.topk(2, dim=-1).indices  # (R, 2), as elect picks them
    majority = first.amax(-1) > remaining / 2
    return majority, _first_best(scored, -1), finalists[:, 0], finalists[:, 1]


def _runoff_winner(
    decided: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor],
    a_votes: torch.Tensor,
    b_votes: torch.Tensor,
    tie_break: torch.Tensor,
) -> torch.Tensor:
    """elect's runoff winner per row, given _finalists and the head-to-head votes for a and for b."""
    majority, best, a, b = decided
    tie_a = tie_break.gather(1, a.unsqueeze(1)).squeeze(1)
    tie_b = tie_break.gather(1, b.unsqueeze(1)).squeeze(1)
    a_votes, b_votes = a_votes.double(), b_votes.double()
    a_wins = (a_votes > b_votes) | ((a_votes == b_votes) & (tie_a > tie_b))
    return torch.where(majority, best, torch.where(a_wins, a, b))


def _runoff(
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    tie_break: torch.Tensor,
    voters: torch.Tensor,
    counting: voting.Counting,
) -> torch.Tensor:
    """The winner without a ballot depends on its favourites and, between the two finalists that leaves,
    on which it prefers: decided per (world, favourite set) row and preference, (R, 3)."""
    worlds, favourites, row, first = _first_by_favourites(ballots, turnout)
    is_ballot = (favourites > 0).long()
    tie_break = tie_break[worlds]
    decided = _finalists(first, (voters[worlds] - is_ballot).clamp(min=1), tie_break)
    a, b = decided[2:]
    p = counting.pairwise_counts(ballots, turnout.to(torch.int32)).long()  # (W, C, C)
    p_ab, p_ba = p[worlds, a, b], p[worlds, b, a]
    by_row = torch.stack(
        [  # the ballot prefers b, neither, a
            _runoff_winner(decided, p_ab, p_ba - is_ballot, tie_break),
            _runoff_winner(decided, p_ab, p_ba, tie_break),
            _runoff_winner(decided, p_ab - is_ballot, p_ba, tie_break),
        ],
        -1,
    )
    u_a = ballots.gather(1, a[row].unsqueeze(1)).squeeze(1)  # (W, V)
    u_b = ballots.gather(1, b[row].unsqueeze(1)).squeeze(1)
    preference = (u_a > u_b).long() - (u_a < u_b).long()
    return by_row.view(-1)[row * 3 + preference + 1]


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
    code = torch.zeros(ballots.shape[0], ballots.shape[2], dtype=torch.uint8, device=ballots.device)
    for i in range(n_candidates):  # codes below C^C <= 256: a byte
        for j in range(i + 1, n_candidates):
            code.add_(ballots[:, i] > ballots[:, j], alpha=n_candidates**i)
            code.add_(ballots[:, i] < ballots[:, j], alpha=n_candidates**j)
    return type_of[code.long().masked_fill_(~turnout, n_candidates**n_candidates)]


def _by_type(
    rule: str, ballots: torch.Tensor, turnout: torch.Tensor, tie_break: torch.Tensor, voters: torch.Tensor
) -> torch.Tensor:
    """runoff, instant_runoff, borda, condorcet with few candidates: decided once per distinct (world,
    ballot type) row, from how many ballots of each type each world has."""
    n_worlds, n_candidates, _ = ballots.shape
    below, parts, type_of = _types(n_candidates, ballots.device)
    n_types = len(below)  # the rankings and the abstainer
    types = _ballot_types(ballots, turnout, type_of)  # (W, V)
    worlds, kinds, row = _rows(types, n_types)
    rows = torch.arange(n_worlds, device=ballots.device).unsqueeze(1)
    tally = torch.bincount((rows * n_types + types).view(-1), minlength=n_worlds * n_types)
    tally = tally.view(n_worlds, n_types).double()  # (W, K); integer counts x tables exact in float64
    remaining = (voters[worlds] - (kinds < n_types - 1).double()).clamp(min=1)  # (R,)
    tie_break = tie_break[worlds]  # (R, C)
    if rule == "instant_runoff":
        totals = (tally @ parts.view(n_types, -1).double()).long().view(n_worlds, -1, n_candidates)
        return _instant_runoff_by_type(totals, parts, worlds, kinds, TIE * tie_break, remaining)[row]
    prefers = below.unsqueeze(2) > below.unsqueeze(1)  # (K, C, C)
    p = (tally @ prefers.view(n_types, -1).double()).long().view(n_worlds, n_candidates, n_candidates)
    if rule == "runoff":
        own = parts[:, -1]  # (K, C): first choices with every candidate standing
        first = ((tally @ own.double()).long()[worlds] - own[kinds]).double() / SPLIT  # (R, C)
        decided = _finalists(first, remaining, tie_break)
        a, b = decided[2:]
        a_votes = p[worlds, a, b] - prefers[kinds, a, b].long()
        b_votes = p[worlds, b, a] - prefers[kinds, b, a].long()
        return _runoff_winner(decided, a_votes, b_votes, tie_break)[row]
    borda = p.sum(-1)  # (W, C)
    without = borda[worlds] - below[kinds]  # (R, C): Borda scores without the row's ballot
    if rule == "borda":
        return _first_best(without.double() + TIE * tie_break, -1)[row]
    # Without a ballot whose margin for i over j is m (-1, 0 or 1), i beats j where margin - m > 0: the
    # sign depends on the margin only between -2 and 2, so it fits in int8.
    margin = (p - p.transpose(1, 2)).clamp(-2, 2).to(torch.int8)  # (W, C, C)
    own = (below.unsqueeze(2) - below.unsqueeze(1)).sign().to(torch.int8)  # (K, C, C): the ballot's margins
    # 2 x (wins + ties / 2) = C - 1 + the sum of the signs of the margins
    copeland = (n_candidates - 1 + (margin[worlds] - own[kinds]).sign().sum(-1, dtype=torch.int32)) * 0.5
    # elect's order: Copeland first, Borda among equals, in steps larger than the row's Borda scores
    scale = (without.amax(-1, keepdim=True) + 1) * 2
    return _first_best(copeland.double() * scale + without.double() + TIE * tie_break, -1)[row]


def _instant_runoff_by_type(
    totals: torch.Tensor,
    parts: torch.Tensor,
    worlds: torch.Tensor,
    kinds: torch.Tensor,
    tie: torch.Tensor,
    remaining: torch.Tensor,
) -> torch.Tensor:
    """elect's instant runoff for every (world, ballot type) row at once, (R,): the count without the
    ballot is the world's total for the standing set (totals (W, 2^C, C)) less the ballot's own parts."""
    n_candidates = totals.shape[-1]
    candidates = torch.arange(n_candidates, device=totals.device)
    standing = torch.full_like(worlds, (1 << n_candidates) - 1)  # (R,) bitmasks
    decided = torch.zeros_like(worlds, dtype=torch.bool)

    def counts() -> torch.Tensor:  # (R, C)
        return (totals[worlds, standing] - parts[kinds, standing]).double() / SPLIT

    def members() -> torch.Tensor:
        return (standing.unsqueeze(1) >> candidates) & 1 == 1

    for _ in range(n_candidates - 1):
        current = counts()
        decided |= current.amax(-1) > remaining / 2
        weakest = _first_best((current - tie).masked_fill(~members(), float("inf")), -1, torch.lt)
        standing = torch.where(decided, standing, standing & ~(1 << weakest))
    return _first_best(counts().masked_fill(~members(), -1) + tie, -1)


# ---- more candidates: each voter's ballot taken off directly ----


def _pairwise_rule(
    rule: str,
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    tie_break: torch.Tensor,
    counting: voting.Counting,
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
    tie = TIE * tie_break.unsqueeze(-1)  # (W, C, 1)
    if rule == "borda":
        return _first_best(torch.stack([w.double() for w in without], 1) + tie, 1)
    # Copeland: 2 x (wins + ties / 2) = C - 1 + the sum of the signs of the margins; elect's order,
    # Copeland first and Borda among equals, in steps larger than each (world, voter)'s Borda scores
    scale = (functools.reduce(torch.maximum, without).double() + 1) * 2  # (W, V)
    score = torch.stack(
        [
            ((n_candidates - 1 + signs[c]) * 0.5).double() * scale + without[c].double()
            for c in range(n_candidates)
        ],
        1,
    )
    return _first_best(score + tie, 1)


def _instant_runoff(
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    tie_break: torch.Tensor,
    voters: torch.Tensor,
    counting: voting.Counting,
) -> torch.Tensor:
    n_worlds, n_candidates, n_voters = ballots.shape
    chunk = max(1, CHUNK_ELEMENTS // (n_candidates * n_voters))
    return torch.cat(
        [
            _instant_runoff_chunk(
                ballots[start : start + chunk],
                turnout[start : start + chunk],
                tie_break[start : start + chunk],
                voters[start : start + chunk],
                counting,
            )
            for start in range(0, n_worlds, chunk)
        ]
    )


def _instant_runoff_chunk(
    ballots: torch.Tensor,
    turnout: torch.Tensor,
    tie_break: torch.Tensor,
    voters: torch.Tensor,
    counting: voting.Counting,
) -> torch.Tensor:
    """elect's instant runoff with each voter's ballot removed: every voter has its own standing set and
    decided flag. A round's counts without a ballot are its world's counts for its standing set less the
    ballot's own first choice among them (its favourites), so each round is decided once per distinct
    (world, standing set, favourite set) row, and each voter gathers its own."""
    n_worlds, n_candidates, n_voters = ballots.shape
    n_sets = 1 << n_candidates
    votes = turnout.to(torch.int32)
    own = _parts_of_subsets(n_candidates, ballots.device)  # (2^C, C); favourites 0: an abstainer
    standing = torch.full((n_worlds, n_voters), n_sets - 1, device=ballots.device)  # bitmasks
    decided = torch.zeros(n_worlds, n_voters, dtype=torch.bool, device=ballots.device)
    live = ballots.clone()  # each voter's ballot with its eliminated candidates at -inf, as elect masks it

    def round_rows() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Per row: counts without the ballot (R, C) float64 as elect divides them, standing candidates
        (R, C), tie-break x TIE (R, C) and remaining voters (R,); each voter's row (W, V)."""
        totals, members, set_worlds, pair = _standing_sets(ballots, votes, standing, counting)
        values, row = _distinct(pair * n_sets + _favourites(live, turnout), len(set_worlds) * n_sets)
        pairs, favourites = values // n_sets, values % n_sets
        worlds = set_worlds[pairs]
        counts = (totals[pairs] - own[favourites]).double() / SPLIT
        remaining = (voters[worlds] - (favourites > 0).double()).clamp(min=1)
        return counts, members[pairs], TIE * tie_break[worlds], remaining, row

    for _ in range(n_candidates - 1):
        counts, members, tie, remaining, row = round_rows()
        decided |= (counts.amax(-1) > remaining / 2)[row]
        weakest = _first_best((counts - tie).masked_fill(~members, float("inf")), -1, torch.lt)
        weakest = weakest[row].unsqueeze(1)  # (W, 1, V)
        live.scatter_(1, weakest, torch.where(decided.unsqueeze(1), live.gather(1, weakest), float("-inf")))
        standing = torch.where(decided, standing, standing & ~(1 << weakest.squeeze(1)))
    counts, members, tie, _, row = round_rows()
    return _first_best(counts.masked_fill(~members, -1) + tie, -1)[row]


def _standing_sets(
    ballots: torch.Tensor, votes: torch.Tensor, standing: torch.Tensor, counting: voting.Counting
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The distinct (world, standing set) pairs among the voters' standing sets (`standing`, (W, V)
    bitmasks), each counted as elect counts (first_choice_parts): totals (S, C), the standing candidates
    (S, C), the pairs' worlds (S,) and each voter's pair (W, V)."""
    n_worlds, n_candidates, _ = ballots.shape
    worlds, sets, pair = _rows(standing, 1 << n_candidates)  # sorted by world
    members = (sets.unsqueeze(1) >> torch.arange(n_candidates, device=ballots.device)) & 1 == 1
    first = torch.ones_like(worlds, dtype=torch.bool)  # each world's first pair: the worlds in order
    first[1:] = worlds[1:] != worlds[:-1]
    totals = torch.empty(len(worlds), n_candidates, dtype=torch.long, device=ballots.device)
    totals[first] = counting.first_choice_parts(ballots, votes, members[first])
    others = (~first).nonzero().squeeze(1)  # a few, where a ballot is pivotal: copies of their worlds
    for start in range(0, len(others), n_worlds):
        at = others[start : start + n_worlds]
        totals[at] = counting.first_choice_parts(ballots[worlds[at]], votes[worlds[at]], members[at])
    return totals, members, worlds, pair
