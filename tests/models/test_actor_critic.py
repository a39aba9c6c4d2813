"""The advantage actor-critic learner (models/learners/actor_critic.py) on cases with known answers: a noisy
bandit with bootstrapping (gamma > 0), an agent alone in its world (where REINFORCE's world-mean baseline
teaches nothing), both written-out gradients against autograd, the publication game's best response in a
closed-form case, devices, and refused configs. The bandit at gamma = 0 and the sharing cases are in
test_policy_sharing.py, beside REINFORCE's."""

from __future__ import annotations

import pytest
import torch
from helpers import DEVICES

from models.games import get_game
from models.learners import Experience, Observation, make_learner, resolve_learner
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from models.simulate import build_batch, observation


def learners(
    worlds: int, agents: int, actions: int, kind: str = "actor_critic", device: str = "cpu", **params
):
    config = resolve_learner({"kind": kind, **params}, "learners.player")
    streams = RandomStreams(world_keys(list(range(worlds)), device))
    return make_learner(config, "player", worlds, agents, actions, streams)


def play_bandit(learner, rounds: int, means: torch.Tensor, noise: float, seed: int = 0) -> None:
    """Rounds in which every agent observes nothing and is paid its arm's mean plus Gaussian noise."""
    generator = torch.Generator().manual_seed(seed)
    for t in range(rounds):
        actions = learner.act(Observation(t))
        pay = means[actions.long().cpu()] + noise * torch.randn(actions.shape, generator=generator)
        learner.learn(Experience(t, actions, pay.to(actions.device), None, Observation(t + 1)))


@pytest.mark.parametrize("sharing", ["role", "agent"])
def test_with_bootstrapping_it_still_learns_the_best_arm(sharing: str):
    """gamma = 0.9: the critic learns values near mean / (1 - gamma) and its TD error stays an unbiased
    advantage. Three arms paying 0, 0.5, 1 plus noise of standard deviation 0.5 (generator seed 0), 20
    worlds (seeds 0-19) of 8 agents, learning rate 0.2: after 400 rounds every agent puts at least 0.9 on
    arm 2 (measured at least 0.97)."""
    learner = learners(20, 8, 3, learning_rate=0.2, gamma=0.9, sharing=sharing)
    play_bandit(learner, 400, torch.tensor([0.0, 0.5, 1.0]), 0.5)
    assert (learner.probabilities(Observation(400))[..., 2] >= 0.9).all()


def test_an_agent_alone_learns_where_a_world_mean_baseline_cannot():
    """One agent per world (10 worlds), two arms paying 0 and 1: the critic's baseline lets it learn arm 1
    (at least 0.9 after 200 rounds at learning rate 0.5); REINFORCE with sharing = "role" subtracts the
    world's mean, the agent's own payoff, so its advantage is zero and its policy stays as drawn."""
    critic = learners(10, 1, 2, learning_rate=0.5)
    play_bandit(critic, 200, torch.tensor([0.0, 1.0]), 0.0)
    assert (critic.probabilities(Observation(200))[..., 1] >= 0.9).all()
    reinforce = learners(10, 1, 2, kind="policy_gradient", learning_rate=0.5)
    first = reinforce.probabilities(Observation(0))
    play_bandit(reinforce, 200, torch.tensor([0.0, 1.0]), 0.0)
    assert torch.equal(reinforce.probabilities(Observation(200)), first)


def network(weights, inputs):
    """The learner's network with autograd: one hidden tanh layer per group, (groups, members, ...)."""
    w1, b1, w2, b2 = weights
    hidden = torch.tanh(torch.baddbmm(b1, inputs, w1))
    return torch.baddbmm(b2, hidden, w2)


@pytest.mark.parametrize("sharing", ["role", "agent"])
def test_the_written_out_gradients_are_autograds(sharing: str):
    """One learning step: the actor moves along autograd's gradient of the members' mean of delta x log
    pi(a | o), the critic along that of -delta^2 / 2 with its target held fixed (semi-gradient TD(0)),
    delta = r + gamma V(o') - V(o), from the weights the round was played with."""
    learner = learners(3, 7, 5, learning_rate=0.05, critic_learning_rate=0.2, gamma=0.7, hidden=4,
                       initial_scale=1.0, sharing=sharing)  # fmt: skip
    generator = torch.Generator().manual_seed(2)
    features, next_features = torch.randn(2, 3, 7, 2, generator=generator)
    payoffs = torch.randn(3, 7, generator=generator)
    actions = learner.act(Observation(0, lambda: features))
    members = 7 if sharing == "role" else 1
    grouped = learner.grouped
    names = ("w1", "b1", "w2", "b2")
    actor = [getattr(learner.actor, name).clone().requires_grad_() for name in names]
    critic = [getattr(learner.critic, name).clone().requires_grad_() for name in names]
    value = network(critic, grouped(features))
    with torch.no_grad():
        target = grouped(payoffs.unsqueeze(-1)) + 0.7 * network(critic, grouped(next_features))
    delta = (target - value).detach()
    log_pi = torch.log_softmax(network(actor, grouped(features)), -1)
    chosen = log_pi.gather(-1, grouped(actions.long().unsqueeze(-1)))
    (delta * chosen).sum().div(members).backward()
    (-0.5 * (target - value).square()).sum().div(members).backward()
    learner.learn(Experience(0, actions, payoffs, None, Observation(1, lambda: next_features)))
    for net, weights, rate in ((learner.actor, actor, 0.05), (learner.critic, critic, 0.2)):
        for name, weight in zip(names, weights, strict=True):
            expected = weight.detach() + rate * weight.grad
            assert torch.allclose(getattr(net, name), expected, atol=1e-6), name


CLOSED_FORM = {
    "n_researchers": 2,
    "failed_replication_penalty": 0.0,
    "replication_reward": 0.0,
    "null_reward": 0.0,
    "publish_null_prob": 0.0,
    "novelty_reward": 1.0,
}


def expected_pay(p: dict) -> torch.Tensor:
    """A researcher's expected pay per action, novel studies at each rigor level and then replications,
    when only published novel positives pay: (1 - rigor_cost r) x P(positive) x novelty_reward, P(positive)
    = b W + (1 - b) alpha(r), alpha(r) = hacked_alpha + (alpha - hacked_alpha) r (methods.py); a
    replication pays replication_reward = 0, and a refuted finding costs nothing."""
    r = torch.arange(p["rigor_levels"]) / (p["rigor_levels"] - 1)
    alpha = p["hacked_alpha"] + (p["alpha"] - p["hacked_alpha"]) * r
    positive = p["base_rate"] * p["power"] + (1 - p["base_rate"]) * alpha
    novel = (1 - p["rigor_cost"] * r) * positive * p["novelty_reward"] * p["publish_novel_positive_prob"]
    return torch.cat([novel, torch.zeros(p["rigor_levels"])])


@pytest.mark.parametrize(("kind", "sharing"), [("actor_critic", "role"), ("actor_critic", "agent"),
                                               ("policy_gradient", "agent")])  # fmt: skip
def test_researchers_learn_the_closed_form_best_response_of_the_publication_game(kind: str, sharing: str):
    """Only published novel positives pay, so a researcher's pay does not depend on the other's actions (2
    researchers, the game's least, per world) and the best response is the argmax of expected_pay: a
    novel study at rigor 0 (0.35 against 0.18 at rigor 0.5 and 0 for replications, with the defaults'
    rates). 8 worlds (seeds 0-7), learning rate 0.2, 600 rounds: every researcher's most probable action
    on its last observation is that one (measured probability at least 0.92, seeds 0-23)."""
    game = get_game("publication").params.resolve(CLOSED_FORM)
    best = int(expected_pay(game).argmax())
    assert best == 0
    config = resolve_learner({"kind": kind, "sharing": sharing, "learning_rate": 0.2}, "learners.researcher")
    batch = build_batch("publication", [game] * 8, {"researcher": config}, list(range(8)))
    for _ in range(600):
        batch.round()
    with torch.inference_mode():
        last = observation(batch.engine, "researcher", batch.engine.round_index)
        probabilities = batch.learners["researcher"].probabilities(last)
    assert (probabilities.argmax(-1) == best).all(), probabilities[..., best]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("sharing", ["role", "agent"])
def test_it_runs_and_learns_on_the_batchs_device(device: str, sharing: str):
    """Every tensor on the streams' device: a two-armed bandit (arm 1 pays 1) of 4 worlds x 3 agents."""
    learner = learners(4, 3, 2, device=device, learning_rate=0.5, gamma=0.5, sharing=sharing)
    play_bandit(learner, 150, torch.tensor([0.0, 1.0]), 0.0)
    probabilities = learner.probabilities(Observation(150))
    assert probabilities.device.type == device and learner.critic.w1.device.type == device
    assert (probabilities[..., 1] >= 0.9).all()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"learning_rate": 0.0}, "learning_rate = 0.0"),
        ({"learning_rate": 1.5}, "learning_rate = 1.5"),
        ({"critic_learning_rate": 0.0}, "critic_learning_rate = 0.0"),
        ({"critic_learning_rate": 2.5}, "critic_learning_rate = 2.5"),
        ({"gamma": 1.0}, "gamma = 1.0"),
        ({"gamma": -0.1}, "gamma = -0.1"),
        ({"sharing": "world"}, "sharing = 'world'"),
    ],
)
def test_configs_out_of_range_are_refused_in_one_line(values: dict, field: str):
    with pytest.raises(ConfigError) as refused:
        resolve_learner({"kind": "actor_critic", **values}, "learners.researcher")
    message = str(refused.value)
    assert message.startswith(f"learners.researcher.{field} ") and "allowed is" in message
    assert "\n" not in message
