"""Parameter sharing in the policy-gradient learners (models/learners/policy_gradient.py, sharing = "role" or
"agent"): per-agent policies learn a bandit on their own, learn from their own experience only, learn
different things where agents are rewarded differently (which one shared policy cannot), keep per-world
learning rates, and an unknown sharing is refused."""

from __future__ import annotations

import pytest
import torch

from models.learners import Experience, Observation, make_learner, resolve_learner
from models.params import ConfigError
from models.random import RandomStreams, world_keys

KINDS = ["policy_gradient", "actor_critic"]


def learners(kind: str, worlds: int, agents: int, actions: int, **params):
    config = resolve_learner({"kind": kind, **params}, "learners.player")
    streams = RandomStreams(world_keys(list(range(worlds))))
    return make_learner(config, "player", worlds, agents, actions, streams)


def play_bandit(learner, rounds: int, pay) -> None:
    """`rounds` rounds in which every agent observes nothing and is paid pay(round, actions)."""
    for t in range(rounds):
        actions = learner.act(Observation(t))
        learner.learn(Experience(t, actions, pay(t, actions), None, Observation(t + 1)))


@pytest.mark.parametrize(("kind", "sharing"), [(kind, s) for kind in KINDS for s in ("role", "agent")])
def test_it_puts_nine_tenths_on_the_best_arm_of_a_noisy_bandit(kind: str, sharing: str):
    """Three arms paying 0, 0.5 and 1 plus Gaussian noise of standard deviation 0.5 (torch generator seed
    0); 20 worlds (seeds 0-19) of 8 agents that observe nothing, learning rate 0.2. After 400 rounds
    every agent of every world puts at least 0.9 of its probability on arm 2 (measured: at least 0.97 for
    per-agent policies, 0.99 for shared ones, over seeds 0-5)."""
    means = torch.tensor([0.0, 0.5, 1.0])
    noise = torch.Generator().manual_seed(0)
    learner = learners(kind, 20, 8, 3, learning_rate=0.2, sharing=sharing)
    play_bandit(learner, 400, lambda t, a: means[a.long()] + 0.5 * torch.randn(a.shape, generator=noise))
    best = learner.probabilities(Observation(400))[..., 2]
    assert best.shape == (20, 8)
    assert (best >= 0.9).all(), best.min()


@pytest.mark.parametrize("kind", KINDS)
def test_agents_rewarded_for_different_arms_learn_different_arms_only_with_their_own_policies(kind: str):
    """Agents 0-2 of each world are paid 1 for arm 0, agents 3-5 for arm 1, nothing else (10 worlds, 3 arms,
    learning rate 0.5, 300 rounds). With sharing = "agent" each group puts at least 0.9 on its own arm; one
    shared policy on a constant observation gives every agent of a world the same probabilities, so it
    cannot."""
    paid_arm = torch.tensor([0, 0, 0, 1, 1, 1])

    def pay(t: int, actions: torch.Tensor) -> torch.Tensor:
        return (actions == paid_arm).float()

    own = learners(kind, 10, 6, 3, learning_rate=0.5, sharing="agent")
    play_bandit(own, 300, pay)
    probabilities = own.probabilities(Observation(300))
    own_arm = probabilities.gather(-1, paid_arm.expand(10, 6).unsqueeze(-1))[..., 0]
    assert (own_arm >= 0.9).all(), own_arm.min()

    shared = learners(kind, 10, 6, 3, learning_rate=0.5, sharing="role")
    play_bandit(shared, 300, pay)
    probabilities = shared.probabilities(Observation(300))
    assert torch.allclose(probabilities, probabilities[:, :1].expand_as(probabilities))


def test_each_agent_learns_from_its_own_experience_only():
    """sharing = "agent": a round that changes one agent's advantage moves that agent's weights alone.
    (REINFORCE's per-agent baseline is the agent's mean of its earlier rounds: a first round teaches
    nothing, a second one paying agent 1 more than the first moves agent 1's policy only.)"""
    learner = learners("policy_gradient", 2, 4, 3, sharing="agent", initial_scale=1.0)
    play_bandit(learner, 1, lambda t, a: torch.ones(a.shape))
    before = [weight.clone() for weight in (learner.w1, learner.b1, learner.w2, learner.b2)]
    assert before[0].shape == (2, 4, 1, 16)  # (worlds, agents, inputs, hidden)
    play_bandit(learner, 1, lambda t, a: torch.tensor([1.0, 2.0, 1.0, 1.0]).expand(a.shape))
    for old, new in zip(before, (learner.w1, learner.b1, learner.w2, learner.b2), strict=True):
        moved = (old != new).flatten(2).any(-1)  # (worlds, agents)
        assert moved[:, 1].all() and not moved[:, [0, 2, 3]].any()


def test_per_agent_reinforce_climbs_autograds_gradient():
    """Two rounds of sharing = "agent": the second step equals, for every agent, a step along autograd's
    gradient of its own advantage x log pi(a | o), the advantage its payoff less its first round's."""
    learner = learners("policy_gradient", 3, 5, 4, sharing="agent", learning_rate=0.05, hidden=4,
                       initial_scale=1.0)  # fmt: skip
    generator = torch.Generator().manual_seed(2)
    features = [torch.randn(3, 5, 2, generator=generator) for _ in range(2)]
    payoffs = [torch.randn(3, 5, generator=generator) for _ in range(2)]
    actions = learner.act(Observation(0, lambda: features[0]))
    learner.learn(Experience(0, actions, payoffs[0], None, Observation(1)))
    actions = learner.act(Observation(1, lambda: features[1]))
    weights = [w.clone().requires_grad_() for w in (learner.w1, learner.b1, learner.w2, learner.b2)]
    w1, b1, w2, b2 = weights  # (worlds, agents, ...)
    hidden = torch.tanh(torch.einsum("wai,waih->wah", features[1], w1) + b1[:, :, 0])
    logits = torch.einsum("wah,wahk->wak", hidden, w2) + b2[:, :, 0]
    log_pi = torch.log_softmax(logits, -1).gather(-1, actions.long().unsqueeze(-1))[..., 0]
    ((payoffs[1] - payoffs[0]) * log_pi).sum().backward()
    learner.learn(Experience(1, actions, payoffs[1], None, Observation(2)))
    for name, weight in zip(("w1", "b1", "w2", "b2"), weights, strict=True):
        expected = weight.detach() + 0.05 * weight.grad
        assert torch.allclose(getattr(learner, name), expected, atol=1e-6), name


def test_per_world_learning_rates_hold_with_per_agent_policies():
    """A batch of two worlds, learning rates 1e-6 and 0.5, sharing = "agent", on a bandit paying arm 1:
    the first world's agents stay near uniform, the second's learn arm 1."""
    configs = [
        resolve_learner({"kind": "policy_gradient", "sharing": "agent", "learning_rate": rate}, "learners.p")
        for rate in (1e-6, 0.5)
    ]
    learner = make_learner(configs, "player", 2, 4, 2, RandomStreams(world_keys([0, 1])))
    play_bandit(learner, 200, lambda t, a: (a == 1).float())
    arm = learner.probabilities(Observation(200))[..., 1]
    assert ((arm[0] - 0.5).abs() < 0.05).all() and (arm[1] >= 0.9).all(), arm


@pytest.mark.parametrize("kind", KINDS)
def test_an_unknown_sharing_is_refused_in_one_line(kind: str):
    with pytest.raises(ConfigError, match=r"learners\.researcher\.sharing = 'world'") as refused:
        resolve_learner({"kind": kind, "sharing": "world"}, "learners.researcher")
    assert "\n" not in str(refused.value) and "'role', 'agent'" in str(refused.value)
