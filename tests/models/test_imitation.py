"""Payoff-biased imitation with the Fermi rule (models/learners/imitation.py).

The reference dynamics: with two actions of fixed payoffs pi_A and pi_B in a population of N agents that
each compare with one uniformly drawn other agent, the expected change of A's share x in one round is
exactly x (1 - x) N / (N - 1) (F(d) - F(-d)) = x (1 - x) N / (N - 1) tanh(d / (2 noise)), with d = pi_A -
pi_B and F the Fermi function (Traulsen, Nowak & Pacheco 2006: the pairwise-comparison process whose mean
field is the replicator equation with a tanh selection term). Tolerances are Monte Carlo errors: 4 standard
errors of a mean over worlds.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch

from models.game import Credit
from models.games import get_game
from models.learners import Experience, Observation, make_learner, resolve_learner
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from models.simulate import simulate

WORLDS, AGENTS = 200, 400


def imitators(worlds: int = WORLDS, agents: int = AGENTS, **params: float):
    config = resolve_learner({"kind": "imitation", **params}, "learners.player")
    rng = RandomStreams(world_keys(list(range(worlds))))
    return make_learner(config, "player", worlds, agents, 2, rng)


def play_round(learner, t: int, pay_a: float, pay_b: float) -> torch.Tensor:
    """One round with fixed payoffs per action (action 0 is A); returns A's share per world before it."""
    actions = learner.act(Observation(t))
    payoffs = torch.where(actions == 0, pay_a, pay_b).float()
    share = (actions == 0).double().mean(1)
    learner.learn(Experience(t, actions, payoffs, None, Observation(t + 1)))
    return share


def test_the_share_of_the_better_action_grows_as_the_pairwise_comparison_process_predicts():
    """Run for 25 rounds: each round's mean change of A's share over 200 worlds equals the exact expected
    change given each world's share, and the mean trajectory follows the deterministic map x -> x + k x
    (1 - x) from the same start (one round a unit of time, the discrete form of the replicator equation)."""
    noise, pay_a, pay_b = 0.5, 1.0, 0.5
    k = AGENTS / (AGENTS - 1) * math.tanh((pay_a - pay_b) / (2 * noise))
    learner = imitators(noise=noise)
    shares = [play_round(learner, t, pay_a, pay_b) for t in range(26)]
    predicted = shares[0].mean().item()
    for before, after in itertools.pairwise(shares):
        change, expected = after - before, k * before * (1 - before)
        se = change.std().item() / math.sqrt(WORLDS)
        # (once most worlds have fixed, the spread is 0: the floor is a 25th of one agent's switch, 1/N)
        assert abs(change.mean().item() - expected.mean().item()) < 4 * se + 1e-4
        predicted += k * predicted * (1 - predicted)
        se_share = after.std().item() / math.sqrt(WORLDS)
        # The map of the mean differs from the mean of the map by k Var(x), about k x (1 - x) / N a round.
        assert abs(after.mean().item() - predicted) < 4 * se_share + 0.01
    assert shares[-1].mean().item() > 0.95 and shares[0].mean().item() < 0.6


def test_noise_sets_how_often_the_worse_action_is_copied():
    """At noise near 0 nobody copies a worse-paid action; at very large noise copying ignores payoffs, so
    the share does not move in expectation."""
    sharp = imitators(noise=1e-4)
    shares = [play_round(sharp, t, 0.0, 1.0) for t in range(15)]  # B is better: A's share only falls
    assert all((later <= earlier).all() for earlier, later in itertools.pairwise(shares))
    flat = imitators(noise=1e6)
    shares = torch.stack([play_round(flat, t, 1.0, 0.0) for t in range(15)])
    drift = (shares[-1] - shares[0]).mean().item()
    assert abs(drift) < 4 * (shares[-1] - shares[0]).std().item() / math.sqrt(WORLDS)


def test_agents_that_never_revise_keep_their_first_action():
    learner = imitators(revision_rate=0.0)
    first = learner.act(Observation(0)).clone()
    for t in range(5):
        play_round(learner, t, 1.0, 0.0)
    assert torch.equal(learner.act(Observation(5)), first)


def test_imitators_compare_what_they_received_credit_included():
    """Two agents: the one on action 0 is paid more but charged more in credit, so it received less; the
    other must not copy it (and it copies the other at small noise)."""
    learner = imitators(worlds=1, agents=2, noise=1e-4)
    learner.actions = torch.tensor([[0, 1]])
    credit = Credit(1, torch.tensor([0]), torch.tensor([0]), torch.tensor([0]), torch.tensor([-2.0]))
    payoffs = torch.tensor([[1.0, 0.5]])
    learner.learn(Experience(0, learner.actions, payoffs, credit, Observation(1)))
    assert learner.act(Observation(1)).tolist() == [[1, 1]]


def test_imitating_researchers_play_the_publication_game_reproducibly():
    spec = get_game("publication")
    worlds = [spec.params.resolve({"n_researchers": 50})] * 2
    learners = {"researcher": resolve_learner({"kind": "imitation", "noise": 0.2}, "learners.researcher")}
    first = simulate("publication", worlds, learners, [3, 4], 60)
    again = simulate("publication", worlds, learners, [3, 4], 60)
    assert torch.allclose(first, again, rtol=0, atol=0, equal_nan=True)  # the same numbers, bit for bit
    novel_share = first[:, :, 4]  # imitation keeps actions that exist: shares stay in [0, 1] and move
    assert ((novel_share >= 0) & (novel_share <= 1)).all() and (novel_share[-1] != novel_share[0]).any()


@pytest.mark.parametrize("bad", [{"noise": 0.0}, {"noise": -1.0}, {"revision_rate": 1.5}])
def test_a_bad_imitation_config_is_refused_naming_the_parameter(bad):
    with pytest.raises(ConfigError, match=next(iter(bad))):
        resolve_learner({"kind": "imitation", **bad}, "learners.researcher")
