"""Polls, credit that reaches one vote, strategic voters and Duverger's law in the election game.

Duverger's law (plurality rule favours two parties) rests on voters who do not waste their votes on
candidates who cannot win (Cox 1997, Making Votes Count, ch. 4; Fey 1997, APSR 91: 135-147). A voter paid
the election's outcome cannot learn that: one ballot almost never changes it (the credit assignment
problem). These tests check the pivot probabilities against their definition, the credit schemes against
hand computations, and Duverger's law for best-responding voters and for learners with pivotal and
difference credit, with the run lengths, seeds and tolerances stated at each.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.games import get_game
from models.games.election.pivotal import ballot_points, pivot_probabilities, pivotal_gain
from models.games.election.rules import ElectionRules
from models.learners import check_learner, resolve_learner
from models.params import ConfigError
from models.simulate import play, simulate

SPEC = get_game("election")
METRICS = [metric.name for metric in SPEC.metrics]
# Four candidates held on the grid at -1.2, -0.4, 0.4 and 1.2 (grid of 21 over [-2, 2]).
FOUR_CANDIDATES = {"kind": "fixed_actions", "actions": [4, 8, 12, 16]}
LEARNING_VOTER = {"kind": "q_learning", "exploration": "epsilon_greedy", "epsilon": 0.05}


def run(
    voter: dict, rounds: int, seeds: range = range(4), n_voters: int = 101, **game: object
) -> torch.Tensor:
    """The election with four fixed candidates; metrics (rounds, worlds, metrics)."""
    params = SPEC.params.resolve({"n_voters": n_voters, "n_candidates": 4, "strategic_voting": True, **game})
    learners = {
        "voter": resolve_learner(voter, "learners.voter"),
        "candidate": resolve_learner(FOUR_CANDIDATES, "learners.candidate"),
        "institution": resolve_learner({}, "learners.institution"),
    }
    return simulate("election", [params] * len(seeds), learners, list(seeds), rounds)


def late(series: torch.Tensor, metric: str, last: int = 50) -> float:
    """The metric's mean over the last rounds and every world."""
    return series[-last:, :, METRICS.index(metric)].mean().item()


# -- pivot probabilities ---------------------------------------------------------------------------------


def test_pivot_probability_of_an_even_two_way_race_is_the_normal_density_at_a_tie():
    """Two candidates at 1/2 each among n voters: the margin's variance is 1/n (a Poisson electorate), so the
    chance of a tie within one vote is 1 / sqrt(2 pi n)."""
    for n in (11, 101, 10_001):
        p = pivot_probabilities(torch.tensor([[0.5, 0.5]]), n, None)
        assert p[0, 0, 1].item() == pytest.approx(1 / math.sqrt(2 * math.pi * n), rel=1e-9)
        assert p[0, 1, 0] == p[0, 0, 1] and p[0, 0, 0] == 0


def test_pivot_probabilities_match_a_poisson_electorate_by_monte_carlo():
    """Against their definition (Myerson & Weber 1993): with N_c ~ Poisson(n s_c), p_kj is the chance that
    N_k = N_j and no other candidate has more. 400,000 draws, n = 101, shares (0.40, 0.35, 0.25); the
    normal approximation is within 20% of the exact chance for the two leading pairs (measured 3-12%)."""
    shares, n = np.array([0.40, 0.35, 0.25]), 101
    counts = np.random.default_rng(0).poisson(n * shares, size=(400_000, 3))
    p = pivot_probabilities(torch.from_numpy(shares).unsqueeze(0), n, None)[0]
    for k, j in ((0, 1), (0, 2)):
        other = 3 - k - j
        exact = np.mean((counts[:, k] == counts[:, j]) & (counts[:, k] >= counts[:, other]))
        assert p[k, j].item() == pytest.approx(exact, rel=0.2), (k, j, exact)
    assert p[0, 1] > p[0, 2] > p[1, 2]  # the closer and the more leading, the likelier


def test_a_sampled_poll_widens_the_belief_and_no_poll_makes_every_pair_alike():
    lopsided = torch.tensor([[0.7, 0.3]])
    exact = pivot_probabilities(lopsided, 1001, None)[0, 0, 1]
    small_poll = pivot_probabilities(lopsided, 1001, 20)[0, 0, 1]
    assert small_poll > 1000 * exact  # a 40-point lead in a poll of 20 is far less certain
    blind = pivot_probabilities(torch.zeros(1, 4), 101, None)[0]
    off = blind[~torch.eye(4, dtype=torch.bool)]
    assert torch.allclose(off, off[0].expand_as(off)) and off[0] > 0


# -- what each ballot gains ------------------------------------------------------------------------------


def test_pivotal_gain_is_the_calculus_of_voting_for_each_kind_of_rule():
    """By hand, with random pivot probabilities: plurality sum_j p_kj (u_k - u_j) for a vote for k; approval
    and Borda sum over pairs of p_kj (b_k - b_j)(u_k - u_j); the head-to-head rules the same with the sign of
    the ballot's preference; nothing for a voter who abstains."""
    generator = torch.Generator().manual_seed(3)
    c = 4
    raw = torch.rand(1, c, c, generator=generator, dtype=torch.float64)
    pivots = (raw + raw.transpose(1, 2)) * (1 - torch.eye(c, dtype=torch.float64))
    utility = -torch.rand(1, 3, c, generator=generator)
    ballots = utility.clone()
    ballots[0, 1, 2] = 5.0  # voter 1 puts candidate 2 first (a strategic ballot)
    turnout = torch.tensor([[True, True, False]])
    for rule in ("plurality", "approval", "borda", "instant_runoff", "condorcet"):
        gain = pivotal_gain(rule, pivots, ballots, utility, turnout)[0]
        for v in range(2):
            b, u = ballots[0, v].double(), utility[0, v].double()
            if rule in ("instant_runoff", "condorcet"):
                points = None
            else:
                points = torch.stack(ballot_points(rule, ballots[:, v : v + 1]), -1)[0, 0].double()
            expected = 0.0
            for k in range(c):
                for j in range(k + 1, c):
                    effect = torch.sign(b[k] - b[j]) if points is None else points[k] - points[j]
                    expected += pivots[0, k, j] * effect * (u[k] - u[j])
            assert gain[v].item() == pytest.approx(float(expected), rel=1e-5, abs=1e-9), (rule, v)
        assert gain[2] == 0


def test_credit_schemes_pay_what_they_say():
    """One round, fixed platforms: outcome pays the winner's policy utility; difference pays it minus the
    utility of the winner had the voter abstained (by re-running the election without its ballot); every
    scheme adds the same voting cost and expressive benefit."""
    base = {"n_voters": 7, "n_candidates": 3, "strategic_voting": True, "voting_cost": 0.1,
            "expressive_benefit": 0.03}  # fmt: skip
    votes = torch.tensor([[1, 2, 3, 1, 0, 2, 1]])
    candidates = torch.tensor([[6, 10, 14]])
    paid = {}
    for credit in ("outcome", "difference", "pivotal"):
        game = ElectionRules([SPEC.params.resolve({**base, "credit": credit})], [4])
        paid[credit] = game.step({"voter": votes, "candidate": candidates}).payoffs["voter"][0]
    game = ElectionRules([SPEC.params.resolve(base)], [4])
    winner = game.step({"voter": votes, "candidate": candidates}).tallies.winner[0]
    direct = 0.03 - 0.1
    for v in range(7):
        without = votes.clone()
        without[0, v] = 0
        alone = ElectionRules([SPEC.params.resolve(base)], [4])
        other = alone.step({"voter": without, "candidate": candidates}).tallies.winner[0]
        platforms = alone.platforms_of(candidates)[0, :, 0]
        utility = -(alone.voters[0, v, 0] - platforms).abs()
        voted = votes[0, v] > 0
        assert paid["outcome"][v].item() == pytest.approx((utility[winner] + direct * voted).item(), abs=1e-6)
        expected = (utility[winner] - utility[other] + direct * voted).item() if voted else 0.0
        assert paid["difference"][v].item() == pytest.approx(expected, abs=1e-6)
    # before any poll the pivotal credit knows nothing: a vote is worth its expected gain under even odds
    assert paid["pivotal"][4].item() == 0.0  # voter 4 abstained


# -- Duverger's law --------------------------------------------------------------------------------------


def test_best_responding_voters_leave_two_parties_under_plurality_and_three_under_runoff():
    """Cox (1997, ch. 4 and 6): with polls, strategic voters leave M + 1 viable candidates: two under
    plurality, three under a runoff; without polls, or under instant runoff and approval, they vote
    sincerely. 4 fixed candidates, 101 normal voters, 4 seeds, 30 rounds (it settles after one poll)."""
    voter = {"kind": "strategic_voter"}
    plurality = run(voter, 30)
    enp = plurality[-10:, :, METRICS.index("effective_number_of_parties")]
    assert (enp <= 2.0 + 1e-9).all() and enp.mean() > 1.6  # two parties share the vote
    assert late(plurality, "sincere_vote_share") < 0.8  # the supporters of the others desert them
    runoff = late(run(voter, 30, rule="runoff"), "effective_number_of_parties", 10)
    assert 2.0 < runoff <= 3.0
    for game in ({"poll": "none"}, {"rule": "instant_runoff"}, {"rule": "approval"}):
        assert late(run(voter, 30, **game), "effective_number_of_parties", 10) > 2.5, game


def test_learning_voters_coordinate_with_pivotal_credit_and_polls_but_not_with_outcome_credit():
    """Duverger's law learned (the issue's reproduction of Cox 1997 and Fey 1997 with learning voters):
    independent epsilon-greedy Q-learners (epsilon 0.05), 101 voters, 4 fixed candidates, plurality, 4
    seeds, 1,000 rounds, the effective number of parties over the last 50. Measured: pivotal credit with
    an exact poll 2.07 (a sampled poll of 100: 2.07); without a poll 3.84; outcome credit 3.48 (and 3.53
    after 3,000 rounds): one ballot never moves the outcome, so every action looks the same. Instant
    runoff with pivotal credit 3.90, approval 3.81: no Duvergerian pressure."""
    pivotal = late(run(LEARNING_VOTER, 1000, credit="pivotal"), "effective_number_of_parties")
    assert 2.0 <= pivotal <= 2.4
    blind = late(run(LEARNING_VOTER, 1000, credit="pivotal", poll="none"), "effective_number_of_parties")
    outcome = late(run(LEARNING_VOTER, 1000, credit="outcome"), "effective_number_of_parties")
    assert blind > 3.0 and outcome > 3.0
    for rule in ("instant_runoff", "approval"):
        other = late(run(LEARNING_VOTER, 1000, credit="pivotal", rule=rule), "effective_number_of_parties")
        assert other > 2.5, rule


def test_difference_credit_coordinates_slowly_as_single_ballots_rarely_decide():
    """The difference reward is exact but sparse: it is non-zero only in the rounds a ballot decides, about
    1 / sqrt(n) of them. Measured (same set-up as above, 1,000 rounds): 101 voters 2.62 against 3.48 with
    outcome credit, 2.45 after 3,000 rounds; 21 voters 2.29 after 3,000. The issue's 2.0-2.4 comes only
    for small electorates within these run lengths (a discrepancy, explained in docs/games.md)."""
    difference = late(run(LEARNING_VOTER, 1000, credit="difference"), "effective_number_of_parties")
    outcome = late(run(LEARNING_VOTER, 1000, credit="outcome"), "effective_number_of_parties")
    assert difference < outcome - 0.5
    small = late(run(LEARNING_VOTER, 3000, n_voters=21, credit="difference"), "effective_number_of_parties")
    assert small <= 2.4


# -- the electorate, polls, entry and exit ---------------------------------------------------------------


def test_a_lognormal_electorate_is_standardised_and_skewed_right():
    worlds = [SPEC.params.resolve({"n_voters": 20_000, "voter_distribution": "lognormal", "skew": s})
              for s in (0.25, 1.0)]  # fmt: skip
    game = ElectionRules(worlds, [1, 1])
    positions = game.voters[..., 0].double()
    assert positions.mean(-1).abs().max() < 0.05 and (positions.std(-1) - 1).abs().max() < 0.1
    gap = positions.mean(-1) - positions.median(-1).values
    assert 0 < gap[0] < gap[1]  # the median voter left of the mean, the more so the larger the skew


def test_a_sampled_poll_is_a_multinomial_survey_and_no_poll_shows_nothing():
    """The poll of a sampled election: counts of poll_sample_size respondents, whose mean over many worlds
    is the true share (within 4 standard errors), and zeros with poll = 'none'."""
    base = {"n_voters": 50, "n_candidates": 3, "poll": "sampled", "poll_sample_size": 40}
    worlds = 400
    game = ElectionRules([SPEC.params.resolve(base)] * worlds, list(range(worlds)))
    votes = torch.ones(worlds, 50, dtype=torch.long)
    result = game.step({"voter": votes, "candidate": torch.tensor([[6, 10, 14]]).expand(worlds, -1)})
    poll = result.observations["voter"][:, 0, SPEC.roles[0].layout({})["shares"]][:, :3]
    shares = result.tallies.vote_shares.float()
    assert torch.allclose(poll.sum(-1), torch.ones(worlds))
    assert ((poll * 40) - (poll * 40).round()).abs().max() < 1e-4  # whole respondents
    error = (poll - shares).mean(0)
    standard = (shares * (1 - shares) / 40).mean(0).sqrt() / math.sqrt(worlds)
    assert (error.abs() < 4 * standard + 1e-6).all()
    hidden = ElectionRules([SPEC.params.resolve({**base, "poll": "none"})], [0])
    hidden.step({"voter": votes[:1], "candidate": torch.tensor([[6, 10, 14]])})
    assert not hidden.observe("voter")[..., SPEC.roles[0].layout({})["shares"]].any()


def test_a_party_below_the_threshold_leaves_and_a_new_one_enters_at_a_voters_ideal_point():
    """Laver & Sergenti (2011, ch. 5) endogenous parties, as replacement: a party below exit_threshold for
    exit_after rounds leaves, and a new party stands at a drawn voter's ideal point the next round."""
    params = SPEC.params.resolve({"n_voters": 31, "n_candidates": 3, "exit_threshold": 0.15, "exit_after": 3,
                                  "compulsory_voting": True})  # fmt: skip
    learners = {"voter": resolve_learner({}, "v"),
                "candidate": resolve_learner({"kind": "fixed_actions", "actions": [9, 11, 20]}, "c"),
                "institution": resolve_learner({}, "i")}  # fmt: skip
    tallies = play("election", [params], learners, [2], 6)
    assert all(t.vote_shares[0, 2] < 0.15 for t in tallies[:3])  # at the grid's edge, a few vote for it
    assert [t.exits[0].item() for t in tallies] == [0, 0, 1, 0, 0, 0]
    game = ElectionRules([params], [2])
    entrant = tallies[3].platforms[0, 2]
    assert entrant.tolist() != tallies[2].platforms[0, 2].tolist()
    assert any(torch.allclose(entrant, game.placed(game.voters[:, v : v + 1])[0, 0]) for v in range(31))
    assert tallies[4].platforms[0, 2].tolist() == tallies[2].platforms[0, 2].tolist()  # its learner's choice


# -- bad input -------------------------------------------------------------------------------------------


def test_bad_strategic_settings_are_refused_in_one_line():
    with pytest.raises(ConfigError, match="viable = 0"):
        resolve_learner({"kind": "strategic_voter", "viability": "fixed", "viable": 0}, "learners.voter")
    config = resolve_learner({"kind": "strategic_voter", "viability": "fixed", "viable": 5}, "learners.voter")
    fields = SPEC.role_fields({})["voter"]
    with pytest.raises(ConfigError, match="viable = 5 is more than the 4 candidates"):
        check_learner(config, "voter", 101, 5, fields=fields)
    with pytest.raises(ConfigError, match="strategic_voting = true"):
        check_learner(config, "voter", 101, 2, fields=fields)
    with pytest.raises(ConfigError, match="observation's ideal, platforms, shares, rule"):
        check_learner(resolve_learner({"kind": "strategic_voter"}, "l"), "candidate", 3, 21, fields={})
    candidates = SPEC.role_fields({})["candidate"]  # they see the poll, but their actions are platforms
    strategic = resolve_learner({"kind": "strategic_voter"}, "l")
    with pytest.raises(ConfigError, match="allowed only for the election game's voter role"):
        check_learner(strategic, "candidate", 3, 21, fields=candidates)
    with pytest.raises(ConfigError, match="poll_sample_size = 0"):
        SPEC.params.resolve({"poll": "sampled", "poll_sample_size": 0})
    with pytest.raises(ConfigError, match="credit = 'shapley'"):
        SPEC.params.resolve({"credit": "shapley"})
    for message in (str(error) for error in _errors()):
        assert "\n" not in message


def _errors() -> list[ConfigError]:
    caught = []
    for bad in ({"credit": "shapley"}, {"poll_sample_size": 0}, {"poll": "rumour"}, {"skew": 0}):
        try:
            SPEC.params.resolve(bad)
        except ConfigError as error:
            caught.append(error)
    assert len(caught) == 4
    return caught
