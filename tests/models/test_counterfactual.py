"""winners_without_each against its definition, brute force: elect with each voter's ballot removed.

Profiles are random and full of the cases that decide close elections: electorates of 1 to 9 voters
(where one ballot often decides), larger ones, partial turnout, worlds where nobody or one voter votes,
candidates on one platform (equal utility columns) and integer utilities from a small range (many ties).
"""

from __future__ import annotations

import pytest
import torch

from models.games.election.counterfactual import TYPED, winners_without_each
from models.games.election.voting import MAX_CANDIDATES, RULES, elect


def brute_force(rule: str, utilities: torch.Tensor, turnout: torch.Tensor, tie_break: torch.Tensor):
    """(worlds, voters): elect with voter v's turnout set False in every world, one voter at a time."""
    winners = []
    for voter in range(utilities.shape[1]):
        without = turnout.clone()
        without[:, voter] = False
        winners.append(elect(rule, utilities, without, tie_break).winner)
    return torch.stack(winners, 1)


def profile(
    worlds: int, voters: int, candidates: int, seed: int, integer: bool
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Utilities (W, V, C), turnout (W, V) and tie-break (W, C) with many ties and close elections.

    Spatial utilities (minus the distance in 2-D) with some candidates on another's platform, or integers
    from 0 to 2. Turnout is partial, at a rate drawn per world; nobody votes in world 0, one voter in
    world 1, everyone in world 2."""
    generator = torch.Generator().manual_seed(seed)
    if integer:
        utilities = torch.randint(0, 3, (worlds, voters, candidates), generator=generator).float()
    else:
        people = torch.randn(worlds, voters, 1, 2, generator=generator)
        platforms = torch.randn(worlds, 1, candidates, 2, generator=generator)
        shared = torch.randint(0, candidates, (worlds, candidates), generator=generator)  # copy whose?
        copies = torch.rand(worlds, candidates, generator=generator) < 0.3
        source = torch.where(copies, shared, torch.arange(candidates))
        platforms = platforms.gather(2, source.view(worlds, 1, candidates, 1).expand(-1, -1, -1, 2))
        utilities = -(people - platforms).norm(dim=-1)
    rate = torch.rand(worlds, 1, generator=generator)
    turnout = torch.rand(worlds, voters, generator=generator) < rate
    turnout[0] = False
    if worlds > 1:
        turnout[1] = False
        turnout[1, torch.randint(0, voters, (1,), generator=generator)] = True
    if worlds > 2:
        turnout[2] = True
    tie_break = torch.rand(worlds, candidates, generator=generator)
    return utilities, turnout, tie_break


@pytest.mark.parametrize("rule", RULES)
def test_small_electorates_match_elect_with_each_ballot_removed(rule):
    changed = 0
    for seed in range(4):
        for voters in range(1, 10):
            candidates = 2 + (voters + seed) % (MAX_CANDIDATES - 1)  # 2 to 8, both sides of TYPED
            for integer in (False, True):
                utilities, turnout, tie_break = profile(24, voters, candidates, 100 * seed + voters, integer)
                expected = brute_force(rule, utilities, turnout, tie_break)
                got = winners_without_each(rule, utilities, turnout, tie_break)
                assert torch.equal(got, expected), (rule, seed, voters, candidates, integer)
                changed += (expected != elect(rule, utilities, turnout, tie_break).winner.unsqueeze(1)).sum()
    assert changed > 200  # the profiles are close enough that single ballots decide


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize(("voters", "candidates"), [(50, 3), (120, TYPED), (80, 5), (200, 8)])
def test_larger_electorates_match_elect_with_each_ballot_removed(rule, voters, candidates):
    for seed, integer in ((1, False), (2, True)):
        utilities, turnout, tie_break = profile(10, voters, candidates, seed * voters + candidates, integer)
        expected = brute_force(rule, utilities, turnout, tie_break)
        assert torch.equal(winners_without_each(rule, utilities, turnout, tie_break), expected)


@pytest.mark.parametrize("rule", RULES)
def test_a_voter_who_did_not_vote_gets_the_actual_winner(rule):
    utilities, turnout, tie_break = profile(40, 15, 4, seed=7, integer=True)
    actual = elect(rule, utilities, turnout, tie_break).winner.unsqueeze(1).expand(-1, 15)
    got = winners_without_each(rule, utilities, turnout, tie_break)
    assert (~turnout).sum() > 100
    assert torch.equal(got[~turnout], actual[~turnout])


def test_an_unknown_rule_is_refused():
    with pytest.raises(ValueError, match="not one of"):
        winners_without_each(
            "dictatorship", torch.zeros(1, 2, 3), torch.ones(1, 2, dtype=torch.bool), torch.zeros(1, 3)
        )
