"""Journals and peer review (models/games/publication/journals.py): the closed form of review, several
journals, journals that act on their policy, and the journal and funder agents of the PettingZoo env."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import learner
from pettingzoo.test import parallel_api_test

from models.envs import publication_v0
from models.games import get_game
from models.games.publication.params import PUBLICATION_PARAMS
from models.simulate import play

SPEC = get_game("publication")
NOVEL_AT_RIGOR_0 = 0  # the first action: a novel study at rigor 0 (alpha = hacked_alpha, always finished)


def worlds(n: int, **values: object) -> list[dict]:
    return [PUBLICATION_PARAMS.resolve({"n_researchers": 100, **values})] * n


def fixed(n_agents: int, action: int) -> dict:
    return learner("fixed_actions", actions=[action] * n_agents)


def totals(tallies: list, *names: str) -> list[int]:
    return [sum(int(getattr(t, name).sum()) for t in tallies) for name in names]


@pytest.mark.parametrize("detection", [0.0, 0.5, 0.9])
def test_review_leaves_ioannidis_ppv_with_alpha_times_one_minus_d(detection: float):
    """Ioannidis (2005), PPV = W pi / (W pi + alpha (1 - pi)) for one study per hypothesis without bias; peer
    review that rejects a detected false positive with probability d leaves (1 - d) of the false positives,
    so PPV = W pi / (W pi + alpha (1 - d) (1 - pi)). Every researcher runs novel studies at rigor 0 (alpha =
    hacked_alpha = 0.3, every study finished), pi = 0.1, W = 0.8, every positive published: 20 worlds x 100
    researchers x 30 rounds (about 21,000 positives at d = 0), seeds 0-19; within 4 standard errors."""
    alpha, power, prior = 0.3, 0.8, 0.1
    batch = worlds(20, review_detection=detection)
    tallies = play("publication", batch, {"researcher": fixed(100, NOVEL_AT_RIGOR_0)}, list(range(20)), 30)
    new, false = totals(tallies, "published_novel_positives", "published_false_positives")
    ppv = 1 - false / new
    expected = power * prior / (power * prior + alpha * (1 - detection) * (1 - prior))
    assert abs(ppv - expected) < 4 * math.sqrt(expected * (1 - expected) / new), (ppv, expected)
    # The false positives published per study: alpha (1 - d) (1 - pi), exactly the closed form's share.
    studies = 20 * 100 * 30
    share = alpha * (1 - detection) * (1 - prior)
    assert abs(false / studies - share) < 4 * math.sqrt(share * (1 - share) / studies)


def test_several_journals_following_the_games_policy_publish_exactly_what_one_journal_would():
    """Submitting each study to one of several journals with the same policy changes nothing: the journal
    draw is a stream of its own, so every other number of every round is the same."""
    learners = {"researcher": learner("q_learning")}
    one = play("publication", worlds(4, publish_null_prob=0.3), learners, [1, 2, 3, 4], 25)
    five = play("publication", worlds(4, publish_null_prob=0.3, n_journals=5), learners, [1, 2, 3, 4], 25)
    for a, b in zip(one, five, strict=True):
        for name in ("publications", "published_false_positives", "replication_studies", "payoff_sum"):
            assert torch.equal(getattr(a, name), getattr(b, name)), name


def test_journals_that_act_set_their_own_policy_and_are_paid_what_they_publish():
    """Two journals per world that act: journal 0 publishes no negative result, journal 1 every one (actions
    (0, 0) and (2, 0) of the 3 x 3 menu). Researchers at rigor 0 get 35% positive results (0.1 x 0.8 + 0.9 x
    0.3), so journal 0 accepts 35% of its submissions and journal 1 all; submissions split evenly."""
    batch_worlds = worlds(8, n_journals=2, journals_act=True)
    learners = {
        "researcher": fixed(100, NOVEL_AT_RIGOR_0),
        "journal": learner("fixed_actions", actions=[0, 6]),
    }
    from models.simulate import build_batch

    batch = build_batch("publication", batch_worlds, learners, list(range(8)))
    accepted, paid = [], []
    for _ in range(20):
        result = batch.round()
        acceptance = batch.engine.observe("journal")[..., 0]  # JOURNAL_FIELDS: acceptance rate first
        accepted.append(acceptance)
        paid.append(result.payoffs["journal"])
        assert torch.equal(result.payoffs["journal"].sum(1), result.tallies.publications.float())
    acceptance = torch.stack(accepted).mean((0, 1))
    assert abs(acceptance[0] - 0.35) < 0.02 and acceptance[1] == 1
    # Journal 1 publishes every submission it gets, about half of the 100 studies a round.
    assert abs(torch.stack(paid)[..., 1].mean() - 50) < 2


def test_a_journals_novelty_preference_of_one_publishes_no_replication():
    """Half the labs do novel studies, half replicate (rigor 0); negative novel results go unpublished, so
    every publication beyond the new findings is a replication, and a journal with novelty_preference 1
    publishes none of them."""
    mixed = {"researcher": learner("fixed_actions", actions=[NOVEL_AT_RIGOR_0] * 50 + [3] * 50)}
    for preference, replications_published in ((1.0, False), (0.0, True)):
        batch_worlds = worlds(4, novelty_preference=preference, publish_null_prob=0.0)
        tallies = play("publication", batch_worlds, mixed, list(range(4)), 10)
        published, new, replications = totals(
            tallies, "publications", "published_novel_positives", "replication_studies"
        )
        assert replications > 0
        assert (published > new) is replications_published


def test_journal_and_funder_agents_pass_pettingzoo_api_test_with_every_institution_on():
    env = publication_v0.parallel_env(
        n_researchers=6,
        max_rounds=30,
        n_journals=2,
        journals_act=True,
        review_detection=0.5,
        review_cost=0.1,
        citations_per_paper=2,
        citation_bias=1.0,
        citation_reward=0.2,
        study_cost=1.0,
        initial_funds=5.0,
        grant_budget=6.0,
        grants_per_period=2,
        funding_period=3,
        funder_acts=True,
    )
    assert env.possible_agents[-3:] == ["journal_0", "journal_1", "funder_0"]
    assert env.action_space("journal_0").n == 9 and env.action_space("funder_0").n == 5
    assert env.observation_space("journal_1").shape == (3,) and env.observation_space("funder_0").shape == (
        3,
    )
    parallel_api_test(env, num_cycles=40)


def test_the_env_lets_a_user_leave_institutions_out_of_its_actions():
    """Researchers-only code keeps working: an institution left out plays its first action, which changes
    nothing where it does not act."""
    env = publication_v0.parallel_env(n_researchers=4, max_rounds=3)
    env.reset(seed=1)
    _, rewards, *_ = env.step({f"researcher_{i}": 0 for i in range(4)})
    assert set(rewards) == {*(f"researcher_{i}" for i in range(4)), "journal_0", "funder_0"}
