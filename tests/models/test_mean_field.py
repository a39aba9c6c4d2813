"""Mean-field Q-learning (models/learners/mean_field.py), tested without a game: payoffs are computed here.

The known answer is a coordination game on the network: an agent is paid +1 for each neighbour playing its
action and -1 for each playing another, divided by its degree (2 x share - 1). The best response to the
neighbours' mean action is the modal action, so mean-field learners should learn Q[b, b] > Q[b, a] and
reach agreement with their neighbours; on the complete graph, consensus.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch
from helpers import needs_cpp_compiler, tiny_config

from models.game import Credit
from models.learners import LEARNERS, Experience, Observation, make_learner, resolve_learner
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from studies.config import plan_study


def learners(worlds: int, agents: int, n_actions: int = 2, **params):
    config = resolve_learner({"kind": "mean_field_q", **params}, "learners.player")
    return make_learner(
        config, "player", worlds, agents, n_actions, RandomStreams(world_keys(list(range(worlds))))
    )


def coordination_round(learner, t: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Play round t of the coordination game; returns the actions and each agent's share of neighbours
    that played its action."""
    actions = learner.act(Observation(t))
    counts = learner.network.counts(actions, learner.n_actions)
    share = counts.gather(-1, actions.unsqueeze(-1)).squeeze(-1).float() / counts.sum(-1).float()
    learner.learn(Experience(t, actions, 2 * share - 1, None, Observation(t + 1)))
    return actions, share


def test_the_update_moves_the_played_action_in_the_bin_of_the_neighbours_modal_action(tmp_path: Path):
    """A star (agent 0 linked to 1, 2 and 3) and an isolated agent 4: agent 0's neighbours play 0, 0, 1
    (mode 0), the leaves' only neighbour plays 1, and the isolate's own action (1) is its mode."""
    path = tmp_path / "star.txt"
    path.write_text("0 1\n0 2\n0 3\n")
    learner = learners(1, 5, 2, network="edge_list", network_file=str(path), learning_rate=0.5)
    learner.values.zero_()
    actions = torch.tensor([[1, 0, 0, 1, 1]])
    payoffs = torch.tensor([[2.0, 4.0, -2.0, 6.0, 8.0]])
    learner.learn(Experience(0, actions, payoffs, None, Observation(1)))
    assert learner.mean_action.tolist() == [[0, 1, 1, 1, 1]]
    expected = torch.zeros(1, 5, 2, 2)
    for agent, (mode, action) in enumerate([(0, 1), (1, 0), (1, 0), (1, 1), (1, 1)]):
        expected[0, agent, mode, action] = 0.5 * payoffs[0, agent]
    assert torch.equal(learner.values, expected)


def test_ties_between_modal_actions_are_broken_at_random():
    """On a ring of degree 2 with alternating actions 0, 0, 1, 1, ... an agent's neighbours play 0 and 1:
    each is the mode about half the time."""
    learner = learners(400, 20, 2, network="ring", degree=2)
    actions = (torch.arange(20) // 2 % 2).expand(400, 20)
    modes = learner.modal_action(0, actions)
    assert 0.45 < modes.double().mean() < 0.55


def test_credit_reaches_the_action_in_every_bin():
    learner = learners(2, 3, 3, learning_rate=0.5)
    before = learner.values.clone()
    credit = Credit(
        2, torch.tensor([1, 1]), torch.tensor([2, 2]), torch.tensor([1, 1]), torch.tensor([1.0, 3.0])
    )
    learner._take_credit(credit)
    change = learner.values - before
    assert torch.allclose(change[1, 2, :, 1], torch.full((3,), 2.0))
    change[1, 2, :, 1] = 0
    assert (change == 0).all()


def test_mean_field_learners_reach_consensus_on_the_complete_graph():
    """200 worlds of 30 agents, two actions: by round 50 every world has reached consensus, and over rounds
    50-99 at least 99.5% of agents play their world's majority action in every round (the rest is softmax
    exploration at temperature 0.1)."""
    learner = learners(200, 30, temperature=0.1, learning_rate=0.2)
    for t in range(100):
        actions, share = coordination_round(learner, t)
        if t == 0:
            assert (share == 1).double().mean() < 0.01  # uniform first actions: no world agrees
        if t >= 50:
            majority = torch.maximum(actions.double().mean(1), 1 - actions.double().mean(1))
            assert majority.mean() >= 0.995
        if t == 50:
            assert (share == 1).all(1).double().mean() >= 0.99


def test_mean_field_learners_coordinate_with_their_neighbours_on_a_small_world():
    """200 worlds of 30 agents on Watts-Strogatz networks (k = 4, rewiring 0.3): about 1 agent in 16 agrees
    with all its neighbours at first; by round 200 at least 90% do, and at least 98% of agents' greedy
    action in their current bin is that bin (they learned the best response: follow the neighbours)."""
    learner = learners(200, 30, temperature=0.1, learning_rate=0.2, network="watts_strogatz", degree=4,
                       rewire=0.3)  # fmt: skip
    agreed = []
    for t in range(200):
        _, share = coordination_round(learner, t)
        agreed.append((share == 1).double().mean().item())
    assert agreed[0] < 0.15 and min(agreed[-20:]) >= 0.9
    bins = learner.mean_action[:, :, None, None].expand(-1, -1, 1, 2)
    greedy = learner.values.gather(2, bins).squeeze(2).argmax(-1)
    assert (greedy == learner.mean_action).double().mean() >= 0.98


def test_the_same_seed_gives_the_same_actions():
    def trajectory() -> torch.Tensor:
        learner = learners(5, 12, 3, network="barabasi_albert", attach=2)
        return torch.stack([coordination_round(learner, t)[0] for t in range(20)])

    assert torch.equal(trajectory(), trajectory())


def test_mean_field_researchers_play_the_publication_game_reproducibly():
    from models.games import get_game
    from models.simulate import simulate

    assert "mean_field_q" in LEARNERS
    worlds = [get_game("publication").params.resolve({"n_researchers": 30})] * 2
    config = {"kind": "mean_field_q", "network": "ring", "degree": 4}
    researchers = {"researcher": resolve_learner(config, "learners.researcher")}
    first = simulate("publication", worlds, researchers, [3, 4], 30)
    again = simulate("publication", worlds, researchers, [3, 4], 30)
    assert torch.allclose(first, again, rtol=0, atol=0, equal_nan=True)


@pytest.mark.parametrize(
    ("researcher", "fragments"),
    [
        ({"temperature": 0}, ["learners.researcher.temperature = 0.0 is out of range", "> 0"]),
        ({"learning_rate": 1.5}, ["learners.researcher.learning_rate = 1.5 is out of range", "<= 1"]),
        ({"learning_rate": 0}, ["learning_rate = 0.0 is out of range"]),
        ({"network": "grid"}, ["learners.researcher.network = 'grid' is not a known choice"]),
        ({"network": "ring", "degree": 5}, ["learners.researcher.degree = 5 is odd"]),
        ({"network": "barabasi_albert", "attach": 25}, ["attach = 25 is not below the 20 agents"]),
        ({"epsilon": 0.1}, ["unknown parameter(s) epsilon"]),
    ],
)
def test_bad_mean_field_configs_are_refused_in_one_line_when_planned(researcher, fragments):
    config = copy.deepcopy(tiny_config())  # 20 researchers
    config["learners"] = {"researcher": {"kind": "mean_field_q", **researcher}}
    with pytest.raises(ConfigError) as error:
        plan_study(config)
    assert "\n" not in str(error.value)
    for fragment in fragments:
        assert fragment in str(error.value)


@needs_cpp_compiler
def test_a_fused_mean_field_batch_gives_the_eager_numbers_bit_for_bit():
    """The learner's kernels (its modal action and its softmax draw) compiled or eager: the same values
    and the same game, round by round, on a complete graph and a ring."""
    from models.games import get_game
    from models.simulate import build_batch

    worlds = [get_game("publication").params.resolve({"n_researchers": 37})] * 3
    for network in ({}, {"network": "ring", "degree": 4}):
        config = resolve_learner({"kind": "mean_field_q", **network}, "learners.researcher")
        runs = []
        for fused in (False, True):
            batch = build_batch("publication", worlds, {"researcher": config}, [5, 6, 7])
            batch.fused = fused
            with torch.inference_mode():
                tallies = [vars(batch.round().tallies) for _ in range(25)]
            runs.append((tallies, batch.learners["researcher"].values.clone()))
        (eager, eager_values), (fused, fused_values) = runs
        assert torch.equal(eager_values, fused_values)
        for a, b in zip(eager, fused, strict=True):
            for name, value in a.items():
                if isinstance(value, torch.Tensor):
                    assert torch.equal(value.nan_to_num(-1.5), b[name].nan_to_num(-1.5)), name
