"""Batched voting rules against the pref_voting library on random profiles, and their known properties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from models.games.election.voting import RULES, condorcet_winner, elect, pairwise

pref_voting = pytest.importorskip("pref_voting")
from pref_voting.c1_methods import copeland  # noqa: E402
from pref_voting.iterative_methods import instant_runoff_put, plurality_with_runoff_put  # noqa: E402
from pref_voting.profiles import Profile  # noqa: E402
from pref_voting.scoring_methods import borda, plurality  # noqa: E402

REFERENCE = {
    "plurality": plurality,
    "runoff": plurality_with_runoff_put,  # parallel-universe tie-breaking: all winners any tie-break gives
    "instant_runoff": instant_runoff_put,
    "borda": borda,
    "condorcet": copeland,
}


def random_profiles(worlds: int, voters: int, candidates: int, seed: int) -> torch.Tensor:
    """Utilities of voters in a 2-D spatial model (so profiles look like elections), shape (W, V, C)."""
    generator = torch.Generator().manual_seed(seed)
    voter_points = torch.randn(worlds, voters, 2, generator=generator)
    candidate_points = torch.randn(worlds, candidates, 2, generator=generator)
    return -torch.cdist(voter_points, candidate_points)


def profile_of(utilities: np.ndarray) -> Profile:
    return Profile([list(row) for row in np.argsort(-utilities, axis=1)])


@pytest.mark.parametrize(("voters", "candidates"), [(7, 3), (25, 4), (101, 5)])
def test_rules_agree_with_pref_voting_wherever_the_winner_does_not_hinge_on_a_tie(voters, candidates):
    utilities = random_profiles(120, voters, candidates, seed=voters)
    turnout = torch.ones(120, voters, dtype=torch.bool)
    tie_break = torch.rand(120, candidates, generator=torch.Generator().manual_seed(1))
    ours = {rule: elect(rule, utilities, turnout, tie_break).winner.tolist() for rule in REFERENCE}
    compared = dict.fromkeys(REFERENCE, 0)
    for world in range(120):
        profile = profile_of(utilities[world].numpy())
        for rule, method in REFERENCE.items():
            winners = method(profile)
            if len(winners) == 1:
                assert ours[rule][world] == winners[0], (rule, world, winners)
                compared[rule] += 1
    assert all(count >= 60 for count in compared.values()), compared  # most worlds have no decisive tie


def test_approval_counts_candidates_at_least_as_good_as_the_voters_mean():
    utilities = random_profiles(50, 31, 4, seed=3)
    turnout = torch.rand(50, 31, generator=torch.Generator().manual_seed(2)) < 0.7
    outcome = elect("approval", utilities, turnout, torch.zeros(50, 4))
    u, voting = utilities.numpy(), turnout.numpy()
    for world in range(50):
        approvals = np.zeros(4)
        for voter in range(31):
            if voting[world, voter]:
                approvals += u[world, voter] >= u[world, voter].mean()
        assert approvals[outcome.winner[world]] == approvals.max()
        np.testing.assert_allclose(outcome.vote_shares[world].numpy(), approvals / approvals.sum())


def test_condorcet_winner_matches_pref_voting_and_the_condorcet_method_elects_it():
    utilities = random_profiles(150, 41, 5, seed=9)
    turnout = torch.ones(150, 41, dtype=torch.bool)
    found = condorcet_winner(utilities, turnout).tolist()
    elected = elect("condorcet", utilities, turnout, torch.rand(150, 5)).winner.tolist()
    for world in range(150):
        reference = profile_of(utilities[world].numpy()).condorcet_winner()
        assert found[world] == (-1 if reference is None else reference)
        if found[world] >= 0:
            assert elected[world] == found[world]
    assert sum(w >= 0 for w in found) > 100  # spatial electorates usually have a Condorcet winner


def test_abstainers_do_not_count_and_a_majority_winner_wins_every_majoritarian_rule():
    # 3 voters love candidate 0, 2 love candidate 1, 4 abstainers love candidate 2.
    utilities = torch.tensor([[[3.0, 1, 0]] * 3 + [[1.0, 3, 0]] * 2 + [[0.0, 1, 3]] * 4])
    turnout = torch.tensor([[True] * 5 + [False] * 4])
    for rule in ("plurality", "runoff", "instant_runoff", "condorcet"):
        assert elect(rule, utilities, turnout, torch.zeros(1, 3)).winner.item() == 0, rule
    shares = elect("plurality", utilities, turnout, torch.zeros(1, 3)).vote_shares
    torch.testing.assert_close(shares, torch.tensor([[0.6, 0.4, 0.0]], dtype=torch.float64))


def test_pairwise_counts_are_complementary_without_ties():
    utilities = random_profiles(10, 15, 4, seed=4)
    p = pairwise(utilities, torch.ones(10, 15, dtype=torch.bool))
    off_diagonal = ~torch.eye(4, dtype=torch.bool)
    assert torch.equal((p + p.transpose(1, 2))[:, off_diagonal], torch.full((10, 12), 15.0))


def test_every_rule_is_known_and_an_unknown_one_is_refused():
    assert set(REFERENCE) | {"approval"} == set(RULES)
    with pytest.raises(ValueError, match="not one of"):
        elect("dictatorship", torch.zeros(1, 2, 2), torch.ones(1, 2, dtype=torch.bool), torch.zeros(1, 2))


def test_candidates_on_one_platform_split_their_voters_and_ties_go_either_way():
    """Hotelling and Downs: two candidates at the same position share its voters equally."""
    voters = torch.linspace(-1, 1, 11).view(1, 11, 1).expand(200, -1, -1)
    platforms = torch.tensor([[[0.3], [0.3], [-1.2]]]).expand(200, -1, -1)  # the pair shares 8 voters
    utilities = -torch.cdist(voters, platforms)
    turnout = torch.ones(200, 11, dtype=torch.bool)
    tie_break = torch.rand(200, 3, generator=torch.Generator().manual_seed(5))
    outcome = elect("plurality", utilities, turnout, tie_break)
    torch.testing.assert_close(
        outcome.vote_shares[0], torch.tensor([4 / 11, 4 / 11, 3 / 11], dtype=torch.float64)
    )
    wins = torch.bincount(outcome.winner, minlength=3)
    assert wins[2] == 0 and wins[0] > 60 and wins[1] > 60  # the tie is decided by each world's tie-break
