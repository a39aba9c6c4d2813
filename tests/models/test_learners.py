"""Batched learners: convergence on a bandit, exploration rates, softmax frequencies, delayed credit."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import needs_cpp_compiler

from models import speed
from models.game import Credit
from models.learners import LEARNERS, Experience, Observation, check_learner, make_learner, resolve_learner
from models.learners.choice import LOG2E, sample_categorical, softmax_weights
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from models.speed import fusing

MEANS = torch.tensor([0.2, 0.5, 0.8, 0.4])


def learner(n_worlds=4, n_agents=500, **params):
    config = resolve_learner(params, "learners.agent")
    rng = RandomStreams(world_keys(list(range(n_worlds))))
    return make_learner(config, "agent", n_worlds, n_agents, len(MEANS), rng), rng


def experience(t, actions, payoffs, credit=None):
    """Round t as a learner gets it: its actions, their payoffs, the credit that arrived, what comes next."""
    return Experience(t, actions, payoffs, credit, Observation(t + 1))


@pytest.mark.parametrize("exploration", ["epsilon_greedy", "softmax"])
def test_independent_learners_find_the_best_arm_of_a_bernoulli_bandit(exploration):
    # Optimistic initial values make every agent try every arm early (Sutton & Barto, section 2.6).
    agents, rng = learner(exploration=exploration, epsilon=0.1, temperature=0.05, initial_value=1.0)
    for t in range(400):
        actions = agents.act(Observation(t))
        payoffs = (rng.uniform(t, "bandit", (500,)) < MEANS[actions]).float()
        agents.learn(experience(t, actions, payoffs))
    greedy = agents.action_values.argmax(-1)
    assert (greedy == 2).float().mean() > 0.9
    # Values estimate the arms' means where agents sampled them a lot.
    assert abs(agents.action_values[..., 2].mean().item() - 0.8) < 0.05


def test_epsilon_greedy_explores_at_the_stated_rate():
    agents, _ = learner(n_worlds=10, n_agents=1000, exploration="epsilon_greedy", epsilon=0.2)
    agents.action_values[..., 1] = 1.0  # action 1 is greedy for everybody
    off_greedy = sum((agents.act(Observation(t)) != 1).float().mean().item() for t in range(20)) / 20
    expected = 0.2 * 3 / 4
    assert abs(off_greedy - expected) < 4 * math.sqrt(expected * (1 - expected) / 200_000)


def test_softmax_chooses_in_proportion_to_exponentiated_values():
    agents, _ = learner(n_worlds=10, n_agents=1000, exploration="softmax", temperature=0.5)
    agents.action_values[:] = torch.tensor([0.0, 0.5, 1.0, -1.0])
    counts = torch.zeros(4)
    for t in range(10):
        counts += torch.bincount(agents.act(Observation(t)).reshape(-1), minlength=4)
    expected = torch.softmax(torch.tensor([0.0, 0.5, 1.0, -1.0]) / 0.5, 0) * counts.sum()
    chi_square = ((counts - expected) ** 2 / expected).sum().item()
    assert chi_square < 16.3  # 3 degrees of freedom, p = 0.001


def test_delayed_credit_moves_the_credited_action_not_the_chosen_one():
    agents, _ = learner(n_worlds=1, n_agents=2, learning_rate=0.5, initial_value=1.0)
    before = agents.action_values.clone()
    actions = torch.tensor([[0, 0]])
    # Agent 1's earlier action 3 is charged 2 (the second entry charges nothing).
    credit = Credit(
        worlds=1,
        world=torch.tensor([0, 0]),
        agent=torch.tensor([1, 0]),
        action=torch.tensor([3, 2]),
        amount=torch.tensor([-2.0, 0.0]),
    )
    payoffs = torch.tensor([[3.0, 3.0]])  # this round's payoff, 3 each; agent 1 also receives the charge
    agents.learn(experience(0, actions, payoffs, credit))
    assert agents.action_values[0, 0, 0] == pytest.approx(before[0, 0, 0] + 0.5 * (3.0 - before[0, 0, 0]))
    assert agents.action_values[0, 1, 0] == pytest.approx(before[0, 1, 0] + 0.5 * (3.0 - before[0, 1, 0]))
    assert agents.action_values[0, 1, 3] == pytest.approx(before[0, 1, 3] - 1.0)
    assert agents.action_values[0, 0, 3] == before[0, 0, 3]


@pytest.mark.parametrize("fused", [False, pytest.param(True, marks=needs_cpp_compiler)])
@pytest.mark.parametrize("exploration", ["epsilon_greedy", "softmax"])
def test_learning_and_acting_in_one_call_gives_the_numbers_of_learn_then_act(exploration, fused):
    # Batch.round draws the next round's actions as its learners learn (one pass over the table where
    # fused): the values and actions must be those of learn, then act at the next round's start.
    (apart, rng), (together, _) = (learner(n_worlds=3, n_agents=37, exploration=exploration) for _ in "ab")
    credit = Credit(
        worlds=3,
        world=torch.tensor([0, 2, 2]),
        agent=torch.tensor([5, 36, 36]),
        action=torch.tensor([3, 1, 2]),
        amount=torch.tensor([-2.0, -0.5, -1.0]),
    )
    with fusing(fused):
        actions = apart.act(Observation(0))
        for t in range(5):
            payoffs = rng.uniform(t, "test/reward", (37,))
            apart.learn(experience(t, actions, payoffs, credit))
            next_actions = together.learn_and_act(experience(t, actions, payoffs, credit))
            actions = apart.act(Observation(t + 1))
            assert torch.equal(next_actions, actions), t
            assert torch.equal(together.values, apart.values), t
    assert not speed._unavailable


def test_fixed_policy_plays_its_probabilities_and_refuses_a_misfit():
    config = resolve_learner({"kind": "fixed", "probabilities": [1, 0, 3, 0]}, "learners.agent")
    agents = make_learner(config, "agent", 5, 1000, 4, RandomStreams(world_keys(list(range(5)))))
    counts = torch.bincount(agents.act(Observation(0)).reshape(-1), minlength=4).float()
    assert counts[1] == 0 and counts[3] == 0
    assert abs(counts[2] / counts.sum() - 0.75) < 0.03
    with pytest.raises(ConfigError, match="list of 6 non-negative numbers"):
        check_learner(config, "agent", 1000, 6)


def test_sample_categorical_inverts_the_cdf():
    probabilities = torch.tensor([0.25, 0.0, 0.5, 0.25])
    uniform = torch.tensor([0.0, 0.2499, 0.25, 0.7499, 0.75, 0.9999])
    assert sample_categorical(probabilities.unbind(), uniform).tolist() == [0, 0, 2, 2, 3, 3]


def test_softmax_never_draws_an_action_whose_weight_underflows():
    # Per action, two agents: actions 1 and 2 are 100 and a million temperatures worse. exp underflows
    # there; the floor keeps their weight tiny and positive, never drawable by any 24-bit uniform, the
    # smallest (0) and the largest included.
    values = torch.tensor([[0.0, 0.0], [-100.0, -100.0], [-1e6, -1e6]])
    weights = softmax_weights(values.unbind(), torch.tensor(LOG2E / 1.0))
    assert (weights[0] == 1).all() and all(((w > 0) & (w < 1e-30)).all() for w in weights[1:])
    extremes = torch.tensor([0.0, 1 - 2**-24])
    assert sample_categorical(weights, extremes).tolist() == [0, 0]


def test_unknown_learner_is_refused_with_the_choices():
    """One line, the default family first, then every registered family."""
    with pytest.raises(ConfigError, match="allowed are q_learning, ") as refused:
        resolve_learner({"kind": "ppo"}, "learners.researcher")
    message = str(refused.value)
    assert "\n" not in message and all(kind in message for kind in LEARNERS)


def test_fixed_actions_hold_each_agent_to_its_own_action_and_refuse_a_misfit():
    config = resolve_learner({"kind": "fixed_actions", "actions": [3, 0, 2]}, "learners.candidate")
    agents = make_learner(config, "candidate", 4, 3, 4, RandomStreams(world_keys(list(range(4)))))
    assert agents.act(Observation(0)).tolist() == [[3, 0, 2]] * 4
    assert agents.act(Observation(7)).tolist() == [[3, 0, 2]] * 4
    with pytest.raises(ConfigError, match="list of 3 whole numbers from 0 to 3"):
        check_learner({"kind": "fixed_actions", "actions": [3, 0, 4]}, "candidate", 3, 4)
    with pytest.raises(ConfigError, match="list of 2 whole numbers"):
        check_learner(config, "candidate", 2, 4)
