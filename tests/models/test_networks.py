"""Interaction networks (models/networks.py) and payoff-biased imitation on them.

The generators' statistics are checked against their definitions: a ring lattice has every degree k; a
Watts-Strogatz rewiring keeps n k / 2 edges; networkx's Barabási-Albert graph has m (n - m) edges; a
stochastic block model's densities within and between blocks are binomial around p_in and p_out (tolerance:
4 standard errors). Refusals are one line and come when the study config is planned, before anything runs.
Test-made numbers come from a seeded generator, so every run of a test sees the same ones.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import networkx as nx
import pytest
import torch
from helpers import tiny_config

from models.learners import Experience, Observation, make_learner, resolve_learner
from models.networks import Network, block_sizes, build_network
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from studies.cli import main
from studies.config import plan_study


def uniforms(*shape: int) -> torch.Tensor:
    return torch.rand(*shape, generator=torch.Generator().manual_seed(sum(shape)))


RANDOM_KINDS = [
    {"network": "watts_strogatz", "degree": 6, "rewire": 0.2},
    {"network": "barabasi_albert", "attach": 3},
    {"network": "stochastic_block", "blocks": 3, "p_in": 0.3, "p_out": 0.05},
]


def imitators(seeds: list[int], agents: int, n_actions: int = 2, **params):
    config = resolve_learner({"kind": "imitation", **params}, "learners.player")
    return make_learner(config, "player", len(seeds), agents, n_actions, RandomStreams(world_keys(seeds)))


def network(seeds: list[int], agents: int, **params) -> Network:
    return imitators(seeds, agents, **params).network


def adjacency(net: Network) -> torch.Tensor:
    """(worlds, agents, agents) counts of table entries: entry [w, i, j] is how often j is i's neighbour."""
    worlds, agents, _ = net.neighbours.shape
    table = torch.zeros(worlds, agents, agents, dtype=torch.int64)
    return table.scatter_add_(2, net.neighbours, net.mask.long())


def edges(graph: nx.Graph) -> set[tuple[int, int]]:
    return {(min(i, j), max(i, j)) for i, j in graph.edges()}


def test_a_ring_lattice_links_each_agent_to_its_k_nearest():
    net = network([1, 2], 20, network="ring", degree=4)
    assert (net.degree == 4).all()
    me = torch.arange(20)
    expected = torch.stack([(me + d) % 20 for d in (-2, -1, 1, 2)], -1).sort(-1).values
    assert torch.equal(net.neighbours[0], expected) and torch.equal(net.neighbours[1], expected)


def test_watts_strogatz_keeps_n_k_over_2_edges_and_mean_degree_k():
    n, k = 60, 6
    net = network(list(range(30)), n, network="watts_strogatz", degree=k, rewire=0.2)
    assert (net.degree.sum(1) == n * k).all()  # mean degree k exactly
    assert all(net.graph(w).number_of_edges() == n * k // 2 for w in range(30))
    ring = edges(nx.watts_strogatz_graph(n, k, 0.0))
    rewired = [len(edges(net.graph(w)) - ring) / (n * k / 2) for w in range(30)]
    # networkx rewires each lattice edge with probability p unless the node is already linked to all others
    assert abs(sum(rewired) / 30 - 0.2) < 4 * math.sqrt(0.2 * 0.8 / (30 * n * k / 2))


def test_barabasi_albert_has_m_times_n_minus_m_edges():
    n, m = 100, 3
    net = network(list(range(20)), n, network="barabasi_albert", attach=m)
    assert (net.degree.sum(1) == 2 * m * (n - m)).all()
    mean_degree = net.degree.double().mean().item()
    assert mean_degree == pytest.approx(2 * m * (n - m) / n) and abs(mean_degree - 2 * m) <= 2 * m * m / n
    assert (net.degree[:, m + 1 :] >= m).all()  # every agent after the seed star (0..m) attaches m edges


def test_stochastic_block_densities_are_binomial_around_p_in_and_p_out():
    n, blocks, p_in, p_out, worlds = 120, 3, 0.3, 0.05, 40
    net = network(list(range(worlds)), n, network="stochastic_block", blocks=blocks, p_in=p_in, p_out=p_out)
    sizes = block_sizes(n, blocks)
    block = torch.repeat_interleave(torch.arange(blocks), torch.tensor(sizes))
    same = block[:, None] == block[None, :]
    upper = torch.ones(n, n, dtype=torch.bool).triu(1)
    links = adjacency(net).bool()
    for mask, p in ((same & upper, p_in), (~same & upper, p_out)):
        pairs = mask.sum().item() * worlds
        density = links[:, mask].sum().item() / pairs
        assert abs(density - p) < 4 * math.sqrt(p * (1 - p) / pairs), (density, p)


@pytest.mark.parametrize("params", [{"network": "ring", "degree": 4}, *RANDOM_KINDS])
def test_neighbour_tables_are_symmetric_without_self_loops_or_repeats(params):
    net = network(list(range(8)), 40, **params)
    links = adjacency(net)
    assert torch.equal(links, links.transpose(1, 2))  # i in N(j) iff j in N(i)
    assert links.max() <= 1 and links.diagonal(dim1=1, dim2=2).sum() == 0
    assert torch.equal(links.sum(2), net.degree)
    padding = net.neighbours[~net.mask]  # padding is the agent's own index
    assert torch.equal(padding, torch.arange(40).view(1, 40, 1).expand_as(net.neighbours)[~net.mask])


@pytest.mark.parametrize("params", RANDOM_KINDS)
def test_the_same_seed_gives_the_same_graph_alone_or_in_a_batch_and_worlds_differ(params):
    batch = network([3, 5, 7], 50, **params)
    alone = network([5], 50, **params)
    assert edges(alone.graph(0)) == edges(batch.graph(1))
    assert edges(network([5], 50, **params).graph(0)) == edges(alone.graph(0))
    assert len({frozenset(edges(batch.graph(w))) for w in range(3)}) == 3


def test_an_edge_list_round_trips_and_isolated_agents_are_their_own_neighbour(tmp_path: Path):
    graph = nx.gnm_random_graph(30, 50, seed=4)
    graph.remove_edges_from(list(graph.edges(29)))  # agent 29 is isolated
    path = tmp_path / "edges.txt"
    lines = ["# a comment", ""] + [f"{i} {j}" for i, j in graph.edges()] + ["3 1", "1 3"]
    path.write_text("\n".join(lines) + "\n")
    net = network([1, 2], 30, network="edge_list", network_file=str(path))
    graph.add_edge(1, 3)
    assert edges(net.graph(0)) == edges(graph) == edges(net.graph(1))
    assert net.degree[0, 29] == 0
    assert (net.pick(uniforms(2, 30))[:, 29] == 29).all()
    actions = torch.arange(30).remainder(3).expand(2, 30)
    counts = net.counts(actions, 3)
    assert counts[0, 29].tolist() == [0, 0, 1]  # its own action, 29 % 3 = 2


def test_pick_is_uniform_over_neighbours_and_counts_count_them():
    net = network([9], 30, network="barabasi_albert", attach=2)
    draws = 4000
    picked = torch.stack([net.pick(u) for u in uniforms(draws, 1, 30)])  # (draws, 1, 30)
    links = adjacency(net)[0]
    hits = torch.zeros(30, 30).index_put_(
        (torch.arange(30).expand(draws, 30).reshape(-1), picked.view(-1)),
        torch.ones(draws * 30),
        accumulate=True,
    )
    assert ((hits > 0) <= links.bool()).all()  # never a non-neighbour
    expected = draws / net.degree[0].double()
    share = (hits.double() - expected[:, None] * links) / expected[:, None].sqrt()
    assert share[links.bool()].abs().max() < 5  # each neighbour within 5 standard errors of draws / degree
    actions = (uniforms(1, 30) * 4).long()
    counts = net.counts(actions, 4)
    direct = torch.stack([(links * (actions[0] == a)).sum(1) for a in range(4)], -1)
    assert torch.equal(counts[0], direct)
    assert torch.allclose(net.mean_actions(actions, 4)[0], direct / net.degree[0, :, None])  # Yang's a-bar
    complete = Network.complete(1, 30)
    assert torch.equal(complete.counts(actions, 4)[0], ((1 - torch.eye(30, dtype=torch.long)) @
                       torch.nn.functional.one_hot(actions[0], 4)))  # fmt: skip


def test_build_network_takes_plain_values_as_make_learner_gives_tensors():
    config = resolve_learner({"kind": "imitation", "network": "watts_strogatz", "rewire": 0.25}, "x")
    rng = RandomStreams(world_keys([11, 12]))
    plain = build_network(config, 2, 24, rng, "player")
    batched = network([11, 12], 24, network="watts_strogatz", rewire=0.25)
    assert all(edges(plain.graph(w)) == edges(batched.graph(w)) for w in range(2))


# Imitation on a network


def test_an_imitator_never_copies_a_non_neighbour():
    """Every agent starts with its own action; at large noise about half of them copy in one round, and
    each copies one of its two ring neighbours, never anyone else."""
    agents, worlds = 30, 50
    learner = imitators(list(range(worlds)), agents, n_actions=agents, network="ring", degree=2, noise=1e3)
    start = torch.arange(agents).expand(worlds, agents)
    learner.actions = start.clone()
    learner.learn(Experience(0, start, uniforms(worlds, agents), None, Observation(1)))
    after = learner.act(Observation(1))
    me = torch.arange(agents)
    allowed = (after == me) | (after == (me - 1) % agents) | (after == (me + 1) % agents)
    assert allowed.all()
    assert 0.4 < (after != me).double().mean() < 0.6
    assert (after == (me - 1) % agents).any() and (after == (me + 1) % agents).any()


def test_imitation_on_a_random_network_copies_only_neighbours_and_isolates_keep_their_action():
    agents, worlds = 40, 20
    learner = imitators(list(range(worlds)), agents, n_actions=agents, network="stochastic_block", blocks=4,
                        p_in=0.2, p_out=0.0, noise=1e3)  # fmt: skip
    links = adjacency(learner.network).bool()
    assert (learner.network.degree == 0).any()  # 10 agents a block at p_in 0.2: about 5 isolates a world
    start = torch.arange(agents).expand(worlds, agents)
    for t in range(3):  # agent ids as actions: after a round, each agent holds its own id or a neighbour's
        learner.actions = start.clone()
        learner.learn(Experience(t, start, uniforms(worlds, agents), None, Observation(t + 1)))
        after = learner.act(Observation(t + 1))
        copied = after != start
        assert links.gather(2, after.unsqueeze(-1)).squeeze(-1)[copied].all()
        assert not copied[learner.network.degree == 0].any()


def test_imitation_on_a_network_plays_the_publication_game_reproducibly():
    from models.games import get_game
    from models.simulate import simulate

    worlds = [get_game("publication").params.resolve({"n_researchers": 30})] * 2
    config = {"kind": "imitation", "network": "watts_strogatz", "degree": 4, "rewire": 0.1}
    learners = {"researcher": resolve_learner(config, "learners.researcher")}
    first = simulate("publication", worlds, learners, [3, 4], 30)
    again = simulate("publication", worlds, learners, [3, 4], 30)
    assert torch.allclose(first, again, rtol=0, atol=0, equal_nan=True)


# Refusals: one line, at config time


def study(**researcher) -> dict:
    config = copy.deepcopy(tiny_config())  # 20 researchers
    config["learners"] = {"researcher": {"kind": "imitation", **researcher}}
    return config


def bad_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "net.txt"
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("researcher", "fragments"),
    [
        ({"network": "lattice"}, ["learners.researcher.network = 'lattice'", "'watts_strogatz'"]),
        ({"network": "ring", "degree": 3}, ["degree = 3 is odd", "even number from 2 to 18"]),
        ({"network": "watts_strogatz", "degree": 20}, ["degree = 20 is not below the 20 agents"]),
        ({"network": "ring", "degree": 0}, ["degree = 0 is out of range", ">= 2"]),
        ({"network": "barabasi_albert", "attach": 0}, ["attach = 0 is out of range", ">= 1"]),
        ({"network": "barabasi_albert", "attach": 20}, ["attach = 20 is not below the 20 agents", "1 to 19"]),
        ({"network": "stochastic_block", "blocks": 21}, ["blocks = 21 is more than the 20", "1 to 20"]),
        ({"network": "stochastic_block", "p_in": 1.5}, ["p_in = 1.5 is out of range", "<= 1"]),
        ({"network": "stochastic_block", "p_out": -0.1}, ["p_out = -0.1 is out of range", ">= 0"]),
        ({"network": "watts_strogatz", "rewire": 2}, ["rewire = 2.0 is out of range", "<= 1"]),
        ({"network": "edge_list"}, ["network_file = '' is empty", "lines 'i j'"]),
        ({"network": "edge_list", "network_file": "nowhere.txt"}, ["'nowhere.txt' does not exist"]),
        ({"network": "edge_list", "network_file": "0 20\n"}, ["line 1 names agent 20", "0 to 19"]),
        ({"network": "edge_list", "network_file": "0 1\n\n4 4\n"}, ["line 3 is a self loop"]),
        ({"network": "edge_list", "network_file": "0 1\n2 x\n"}, ["line 2 is not two agent numbers ('2 x')"]),
        ({"network": "edge_list", "network_file": "0 1 2\n"}, ["line 1 is not two agent numbers"]),
    ],
)
def test_bad_networks_are_refused_in_one_line_when_the_study_is_planned(tmp_path, researcher, fragments):
    if "\n" in researcher.get("network_file", ""):
        researcher = {**researcher, "network_file": bad_file(tmp_path, researcher["network_file"])}
        fragments = [*fragments, "net.txt"]
    with pytest.raises(ConfigError) as error:
        plan_study(study(**researcher))
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_the_cli_check_refuses_a_bad_network_before_anything_runs(tmp_path, capsys):
    toml = """
[study]
name = "net_tiny"
rounds = 10
replications = 1

[game]
n_researchers = 12

[learners.researcher]
kind = "imitation"
network = "watts_strogatz"
degree = {degree}
rewire = 0.1
"""
    good, bad, db = tmp_path / "good.toml", tmp_path / "bad.toml", tmp_path / "results.duckdb"
    good.write_text(toml.replace("{degree}", "4"))
    bad.write_text(toml.replace("{degree}", "5"))
    assert main(["check", str(good), "--db", str(db)]) == 0
    capsys.readouterr()
    assert main(["check", str(bad), "--db", str(db)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "learners.researcher.degree = 5 is odd" in err
    assert not db.exists()
