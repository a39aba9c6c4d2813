"""Interaction networks: whom each agent of a role observes, imitates or averages over.

A study places a role's agents on a network by giving its learner the parameters in `NETWORK_PARAMS`
(`network = "watts_strogatz"`, `degree = 4`, `rewire = 0.1`, ...); a learner family that supports networks
merges them into its ParamSpace, calls `check_network` from its `check` and `build_network` when built.

Kinds: `complete` (everyone sees everyone: the default, and what the learners did before networks),
`ring` (ring lattice, each agent linked to the `degree` / 2 nearest on each side), `watts_strogatz` (that
ring with each edge rewired with probability `rewire`, Watts & Strogatz 1998), `barabasi_albert`
(preferential attachment, `attach` edges per new agent, Barabási & Albert 1999), `stochastic_block`
(`blocks` communities of equal size, edge probability `p_in` within and `p_out` between) and `edge_list`
(a file of lines "i j"). The graphs are networkx's generators, seeded per world from the learner's random
streams: the same config and seed give the same graph, alone or in any batch; different worlds of a
random kind get different graphs.

For the hot path a batch's graphs are padded neighbour tables: `neighbours` (worlds, agents, max degree),
int64, each row the agent's neighbours in increasing order and then the agent's own index as padding, and
`degree` (worlds, agents). A uniform neighbour is then one gather; counting what the neighbours played is
one indexed add over the edges' ends (kept flat beside the table, so that a hub's degree does not pad every
agent's count); no per-agent Python loop. The complete graph keeps no table (it would hold agents² entries):
its counts are the world's totals less one's own.

Isolated agents (degree 0; an edge list or a sparse stochastic block model can have them) are their own only
neighbour: one never imitates anybody but itself (nothing changes), and its neighbours' actions are its own
last action. That keeps every agent's neighbour mean defined, and isolates neither learn from nor move
anybody else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import torch

from models.params import ConfigError, Param
from models.random import RandomStreams
from models.reductions import add_at

NETWORK_KINDS = ("complete", "ring", "watts_strogatz", "barabasi_albert", "stochastic_block", "edge_list")

# Merged into the ParamSpace of every learner family that supports networks. The shape-setting integers
# (degree, attach, blocks: they set the tables' width) and the kind are shared by a batch; the probabilities
# may differ per world, so a sweep over `rewire` runs as one batch.
NETWORK_PARAMS: dict[str, Param] = {
    "network": Param(
        "complete", "the network among the role's agents: whom each one observes (imitates, averages over)",
        kind=str, choices=NETWORK_KINDS, per_world=False,
    ),
    "degree": Param(
        4, "k, each agent's neighbours in a ring or watts_strogatz network: even, below the agent count",
        kind=int, low=2, high=10_000_000, per_world=False,
    ),
    "rewire": Param(
        0.1, "watts_strogatz: probability that a ring edge is rewired to a random agent", low=0, high=1
    ),
    "attach": Param(
        2, "m, the edges each new agent attaches in a barabasi_albert network: below the agent count",
        kind=int, low=1, high=10_000_000, per_world=False,
    ),
    "blocks": Param(
        2, "stochastic_block: communities of (near) equal size, at most the agent count", kind=int, low=1,
        high=10_000_000, per_world=False,
    ),
    "p_in": Param(
        0.5, "stochastic_block: probability of an edge between two agents of one block", low=0, high=1
    ),
    "p_out": Param(
        0.05, "stochastic_block: probability of an edge between agents of two blocks", low=0, high=1
    ),
    "network_file": Param(
        "", "edge_list: a text file of lines 'i j' linking agents i and j (0-based; blank lines and "
        "# comments skipped), relative to the working directory", kind=str, per_world=False,
    ),
}  # fmt: skip

_SEED_BITS = 24  # a uniform's resolution: two of them make a world's 48-bit graph seed


def _refuse(where: str, key: str, value: Any, problem: str, allowed: str) -> ConfigError:
    return ConfigError(f"{where}.{key} = {value!r} {problem}: allowed is {allowed}.")


def check_network(config: Mapping[str, Any], role: str, n_agents: int) -> None:
    """Refuse (ConfigError, one line) network parameters that cannot make a graph of `n_agents` agents:
    called from a learner's `check`, so before anything runs."""
    where, kind = f"learners.{role}", config["network"]
    if kind in ("ring", "watts_strogatz"):
        degree = config["degree"]
        largest = n_agents - 1 if n_agents % 2 else n_agents - 2
        allowed = (
            f"an even number from 2 to {largest} for {n_agents} agents"
            if largest >= 2
            else f"none: a {kind} network needs at least 3 agents, and the {role} role has {n_agents}"
        )
        if degree % 2:
            raise _refuse(where, "degree", degree, f"is odd (network = {kind!r})", allowed)
        if degree >= n_agents:
            raise _refuse(where, "degree", degree, f"is not below the {n_agents} agents", allowed)
    elif kind == "barabasi_albert":
        attach = config["attach"]
        if not 1 <= attach < n_agents:
            raise _refuse(
                where, "attach", attach, f"is not below the {n_agents} agents (network = 'barabasi_albert')",
                f"1 to {n_agents - 1}" if n_agents > 1 else "none: the role has a single agent",
            )  # fmt: skip
    elif kind == "stochastic_block":
        if config["blocks"] > n_agents:
            raise _refuse(
                where, "blocks", config["blocks"], f"is more than the {n_agents} agents", f"1 to {n_agents}"
            )
    elif kind == "edge_list":
        read_edge_list(config["network_file"], n_agents, where)


def read_edge_list(path: str, n_agents: int, where: str) -> list[tuple[int, int]]:
    """The edges of a network file, or ConfigError naming the file and the first bad line. A pair may be
    listed twice or both ways round: it is one edge."""
    key = "network_file"
    allowed = f"lines 'i j' naming two different agents from 0 to {n_agents - 1}"
    if not path:
        raise _refuse(
            where, key, path, "is empty (network = 'edge_list')", "the path of a file of " + allowed
        )
    file = Path(path)
    if not file.is_file():
        raise _refuse(where, key, path, "does not exist", "the path of a file of " + allowed)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise _refuse(where, key, path, f"cannot be read ({error})", "a text file of " + allowed) from None
    edges = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        fields = text.split()
        problem = None
        if len(fields) != 2 or not all(f.isdigit() for f in fields):
            problem = f"is not two agent numbers ({text!r})"
        else:
            i, j = int(fields[0]), int(fields[1])
            if max(i, j) >= n_agents:
                problem = f"names agent {max(i, j)}, and the role has {n_agents} agents ({text!r})"
            elif i == j:
                problem = f"is a self loop ({text!r})"
        if problem:
            raise _refuse(where, key, path, f"line {number} {problem}", allowed)
        edges.append((i, j))
    return edges


def block_sizes(n_agents: int, blocks: int) -> list[int]:
    """Equal blocks, the first n_agents % blocks one agent larger."""
    return [n_agents // blocks + (index < n_agents % blocks) for index in range(blocks)]


def make_graph(kind: str, n_agents: int, values: Mapping[str, Any], seed: int, where: str = "") -> nx.Graph:
    """One world's graph on agents 0..n_agents-1, from checked network parameters and an integer seed."""
    if kind == "ring":
        return nx.watts_strogatz_graph(n_agents, values["degree"], 0.0)
    if kind == "watts_strogatz":
        return nx.watts_strogatz_graph(n_agents, values["degree"], values["rewire"], seed=seed)
    if kind == "barabasi_albert":
        return nx.barabasi_albert_graph(n_agents, values["attach"], seed=seed)
    if kind == "stochastic_block":
        blocks = values["blocks"]
        p = [[values["p_in"] if a == b else values["p_out"] for b in range(blocks)] for a in range(blocks)]
        return nx.stochastic_block_model(block_sizes(n_agents, blocks), p, seed=seed)
    if kind == "edge_list":
        graph = nx.Graph()
        graph.add_nodes_from(range(n_agents))
        graph.add_edges_from(read_edge_list(values["network_file"], n_agents, where))
        return graph
    if kind == "complete":
        return nx.complete_graph(n_agents)
    raise ConfigError(
        f"{where}.network = {kind!r} is not a known network: allowed are {', '.join(NETWORK_KINDS)}."
    )


@dataclass
class Network:
    """A batch's interaction graphs. `neighbours` (worlds, agents, max degree) int64: each agent's
    neighbours, then its own index as padding; None for the complete graph. `degree` (worlds, agents)."""

    kind: str
    n_agents: int
    degree: torch.Tensor
    neighbours: torch.Tensor | None = None
    # The counted (agent, neighbour) pairs as flat world * agents + agent indices, one per edge end plus an
    # isolated agent's (itself, itself): counting over them costs the edges, not worlds x agents x the
    # widest hub's degree.
    _pair_agent: torch.Tensor | None = field(default=None, init=False, repr=False)
    _pair_neighbour: torch.Tensor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.neighbours is not None:
            n_worlds, n_agents, width = self.neighbours.shape
            device = self.neighbours.device
            columns = torch.arange(width, device=device)
            counted = (columns < self.degree.unsqueeze(-1)) | (
                (columns == 0) & (self.degree == 0).unsqueeze(-1)
            )
            agents = torch.arange(n_worlds * n_agents, device=device).view(n_worlds, n_agents, 1)
            worlds = torch.arange(n_worlds, device=device).view(-1, 1, 1) * n_agents
            self._pair_agent = agents.expand_as(counted)[counted]
            self._pair_neighbour = (self.neighbours + worlds)[counted]

    @property
    def n_worlds(self) -> int:
        return self.degree.shape[0]

    @property
    def mask(self) -> torch.Tensor:
        """Which table entries are real neighbours, (worlds, agents, max degree) (not for complete)."""
        assert self.neighbours is not None, "the complete network keeps no neighbour table"
        columns = torch.arange(self.neighbours.shape[-1], device=self.neighbours.device)
        return columns < self.degree.unsqueeze(-1)

    @classmethod
    def complete(cls, n_worlds: int, n_agents: int, device: torch.device | str = "cpu") -> Network:
        degree = torch.full((n_worlds, n_agents), n_agents - 1, dtype=torch.int64, device=device)
        return cls("complete", n_agents, degree)

    @classmethod
    def from_graphs(
        cls, kind: str, graphs: Sequence[nx.Graph], n_agents: int, device: torch.device | str = "cpu"
    ) -> Network:
        """Padded neighbour tables from one graph per world on nodes 0..n_agents-1."""
        ends = []
        for graph in graphs:
            edges = np.array(list(graph.edges()), dtype=np.int64).reshape(-1, 2)
            source = np.concatenate([edges[:, 0], edges[:, 1]])
            target = np.concatenate([edges[:, 1], edges[:, 0]])
            order = np.lexsort((target, source))  # by agent, each agent's neighbours in increasing order
            ends.append((source[order], target[order]))
        degree = np.stack([np.bincount(source, minlength=n_agents) for source, _ in ends])
        width = max(1, int(degree.max(initial=0)))
        table = np.broadcast_to(np.arange(n_agents)[None, :, None], (len(graphs), n_agents, width)).copy()
        for world, (source, target) in enumerate(ends):
            start = np.cumsum(degree[world]) - degree[world]
            table[world, source, np.arange(len(source)) - start[source]] = target
        return cls(kind, n_agents, torch.from_numpy(degree).to(device), torch.from_numpy(table).to(device))

    def pick(self, uniform: torch.Tensor) -> torch.Tensor:
        """One uniformly drawn neighbour per agent, (worlds, agents), from a uniform per agent in [0, 1);
        an isolated agent draws itself."""
        n = self.n_agents
        me = torch.arange(n, device=uniform.device)
        if self.neighbours is None:
            if n < 2:
                return me.expand(uniform.shape)
            # Uniform over the agents other than oneself: the arithmetic (and numbers) of before networks.
            offset = (uniform * (n - 1)).long().clamp(max=n - 2)
            return (me + 1 + offset) % n
        # u * degree can round up to degree in float32: the clamp keeps the draw among the real entries.
        column = torch.minimum((uniform * self.degree).long(), (self.degree - 1).clamp(min=0))
        return self.neighbours.gather(-1, column.unsqueeze(-1)).squeeze(-1)

    def counts(self, actions: torch.Tensor, n_actions: int) -> torch.Tensor:
        """How many of each agent's neighbours played each action, (worlds, agents, actions), int64; an
        isolated agent counts its own action once. Integer sums: exact in any order, so the same on every
        device."""
        if self.neighbours is None:
            own = torch.nn.functional.one_hot(actions.long(), n_actions)
            return own if self.n_agents < 2 else own.sum(1, keepdim=True) - own
        assert self._pair_agent is not None and self._pair_neighbour is not None
        n_worlds, n_agents, _ = self.neighbours.shape
        played = actions.reshape(-1).long()[self._pair_neighbour]
        counts = torch.zeros(n_worlds * n_agents * n_actions, dtype=torch.int64, device=actions.device)
        at = torch.add(played, self._pair_agent, alpha=n_actions)
        return add_at(counts, at, torch.ones_like(played)).view(n_worlds, n_agents, n_actions)

    def mean_actions(self, actions: torch.Tensor, n_actions: int) -> torch.Tensor:
        """The neighbours' mean one-hot action (Yang et al.'s a-bar), (worlds, agents, actions), float32."""
        counts = self.counts(actions, n_actions).float()
        return counts / counts.sum(-1, keepdim=True)

    def graph(self, world: int) -> nx.Graph:
        """One world's graph, for inspection and tests."""
        if self.neighbours is None:
            return nx.complete_graph(self.n_agents)
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n_agents))
        mask = self.mask[world].cpu()
        agents = torch.arange(self.n_agents).unsqueeze(-1).expand_as(mask)
        graph.add_edges_from(
            zip(agents[mask].tolist(), self.neighbours[world].cpu()[mask].tolist(), strict=True)
        )
        return graph


def graph_seeds(rng: RandomStreams, role: str) -> list[int]:
    """One 48-bit networkx seed per world from two uniforms of the role's `network` stream: a world's graph
    depends on its own seed alone, as every draw does (models/random.py)."""
    draws = (rng.uniform(-1, f"{role}/network", (2,)) * (1 << _SEED_BITS)).long().cpu()
    return (draws[:, 0] * (1 << _SEED_BITS) + draws[:, 1]).tolist()


def _per_world(value: Any, n_worlds: int) -> list[Any]:
    """A parameter's value in each world: a per-world (worlds, 1, 1) tensor, or one shared value."""
    if isinstance(value, torch.Tensor):
        return value.view(-1).tolist()
    return [value] * n_worlds


def build_network(
    params: Mapping[str, Any], n_worlds: int, n_agents: int, rng: RandomStreams, role: str
) -> Network:
    """The batch's graphs from a learner's parameters (per-world numbers as tensors, as make_learner gives
    them, or plain values), seeded from its random streams."""
    kind, device = params["network"], rng.device
    check_network(params, role, n_agents)  # as planning a study does: make_learner alone does not
    if kind == "complete":
        return Network.complete(n_worlds, n_agents, device)
    columns = {key: _per_world(params[key], n_worlds) for key in NETWORK_PARAMS if key != "network"}
    per_world = [{key: column[w] for key, column in columns.items()} for w in range(n_worlds)]
    seeds = graph_seeds(rng, role) if kind not in ("ring", "edge_list") else [0] * n_worlds
    made: dict[tuple[Any, ...], nx.Graph] = {}  # deterministic kinds: one graph for all equal worlds
    graphs = []
    for values, seed in zip(per_world, seeds, strict=True):
        identity = (seed, *values.values())
        if identity not in made:
            made[identity] = make_graph(kind, n_agents, values, seed, f"learners.{role}")
        graphs.append(made[identity])
    return Network.from_graphs(kind, graphs, n_agents, device)
