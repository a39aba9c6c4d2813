"""REINFORCE with a shared policy network (models/learners/policy_gradient.py), on cases with known answers:
a bandit with a known gap (the best arm is learned), a contextual bandit (the policy conditions on the
observation), the gradient itself against autograd, and a run of the publication game."""

from __future__ import annotations

import torch

from models.games import get_game
from models.learners import Experience, Observation, make_learner, resolve_learner
from models.random import RandomStreams, world_keys
from models.simulate import simulate


def learners(worlds: int, agents: int, actions: int, **params: float):
    config = resolve_learner({"kind": "policy_gradient", **params}, "learners.player")
    streams = RandomStreams(world_keys(list(range(worlds))))
    return make_learner(config, "player", worlds, agents, actions, streams)


def test_it_learns_the_best_arm_of_a_bandit_with_a_known_gap():
    """Four arms paying 0, 0.2, 1 and 0.5 (deterministic); 50 worlds of 30 agents that observe nothing:
    after 300 rounds every world's agents pull arm 2 at least 90% of the time."""
    pay = torch.tensor([0.0, 0.2, 1.0, 0.5])
    learner = learners(50, 30, 4, learning_rate=0.5)
    for t in range(300):
        actions = learner.act(Observation(t))
        learner.learn(Experience(t, actions, pay[actions.long()], None, Observation(t + 1)))
    share = (learner.act(Observation(300)) == 2).float().mean(1)
    assert (share >= 0.9).all(), share.min()


def test_it_conditions_on_the_observation():
    """A contextual bandit: each agent sees a sign s = +-1; action 0 pays when s > 0, action 1 when s < 0.
    A policy that ignored the observation could not beat half; this one gets at least 95% right."""
    worlds, agents = 20, 40
    learner = learners(worlds, agents, 2, learning_rate=0.5, initial_scale=0.5)
    gen = torch.Generator().manual_seed(1)
    correct = 0.0
    for t in range(400):
        sign = torch.randint(0, 2, (worlds, agents, 1), generator=gen).float() * 2 - 1
        actions = learner.act(Observation(t, lambda sign=sign: sign))
        right = torch.where(sign[..., 0] > 0, actions == 0, actions == 1)
        learner.learn(Experience(t, actions, right.float(), None, Observation(t + 1)))
        correct = right.float().mean().item()
    assert correct >= 0.95


def test_the_written_out_gradient_is_autograds():
    """One learning step equals a step along autograd's gradient of mean(advantage x log pi(a | o))."""
    learner = learners(3, 7, 5, learning_rate=0.05, hidden=4, initial_scale=1.0)
    features = torch.randn(3, 7, 2, generator=torch.Generator().manual_seed(2))
    actions = learner.act(Observation(0, lambda: features))
    payoffs = torch.randn(3, 7, generator=torch.Generator().manual_seed(3))
    weights = [w.clone().requires_grad_() for w in (learner.w1, learner.b1, learner.w2, learner.b2)]
    w1, b1, w2, b2 = weights
    hidden = torch.tanh(torch.baddbmm(b1, features, w1))
    log_pi = torch.log_softmax(torch.baddbmm(b2, hidden, w2), -1).gather(-1, actions.long().unsqueeze(-1))
    advantage = payoffs - payoffs.mean(1, keepdim=True)
    (advantage * log_pi[..., 0]).mean(1).sum().backward()
    learner.learn(Experience(0, actions, payoffs, None, Observation(1)))
    for name, weight in zip(("w1", "b1", "w2", "b2"), weights, strict=True):
        expected = weight.detach() + 0.05 * weight.grad
        assert torch.allclose(getattr(learner, name), expected, atol=1e-6), name


def test_policy_gradient_researchers_play_the_publication_game_on_their_observations():
    spec = get_game("publication")
    worlds = [spec.params.resolve({"n_researchers": 40})] * 2
    config = {"researcher": resolve_learner({"kind": "policy_gradient"}, "learners.researcher")}
    first = simulate("publication", worlds, config, [5, 6], 50)
    again = simulate("publication", worlds, config, [5, 6], 50)
    assert torch.allclose(first, again, rtol=0, atol=0, equal_nan=True)  # the same numbers, bit for bit
    assert not torch.isnan(first[:, :, 3]).any()  # mean rigor is defined every round
