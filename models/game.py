"""What every game declares and gives back: its roles, its rules' round result, and its registry entry.

A game is one package under `models/games/` (see models/games/__init__.py): parameters, a readable reference
step (`rules.py`), metrics, a PettingZoo env and, where they pay, accelerated kernels checked bit for bit
against the reference. The learning loop (models/simulate.py) and the studies know a game only through the
`GameSpec` it registers and the `Game` protocol below.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import torch

from models.params import ConfigError, ParamSpace, batch_values
from models.random import RandomStreams, world_keys
from models.reductions import add_at


@dataclass(frozen=True)
class Trait:
    """A continuous quantity an agent's action may set directly, as an evolving lab's methods are its
    heritable traits (Smaldino & McElreath 2016): its range, its value before anything evolves (from the
    world's parameters) and the size of a typical mutation."""

    name: str
    doc: str
    low: float
    high: float
    initial: float
    mutation_sd: float


@dataclass(frozen=True)
class Role:
    """A kind of agent in a game: how many per world, how many actions, what each agent observes.

    `agents` and `actions` are functions of the resolved game parameters; `observation` is the length of
    an agent's observation vector (0: the role observes nothing beyond its payoffs). `traits`, where the
    role has them, lists the continuous traits its agents may play instead of an action index: a learner
    that acts on traits (evolution) gives each agent a vector of them, (worlds, agents, traits)."""

    name: str
    doc: str
    agents: Callable[[Mapping[str, Any]], int]
    actions: Callable[[Mapping[str, Any]], int]
    observation: Callable[[Mapping[str, Any]], int] = lambda params: 0
    traits: Callable[[Mapping[str, Any]], tuple[Trait, ...]] = lambda params: ()
    # The observation's named parts in order, name -> length, where the game names them: what a learner
    # that reads particular facts (a poll, its own platform) asks for by name (Learner.needs_fields).
    fields: Callable[[Mapping[str, Any]], dict[str, int]] = lambda params: {}
    # An institution whose actions change nothing unless a game parameter lets them (journals, a funder):
    # a batch gives it the default learner where none is named, as a study does.
    optional: bool = False

    def layout(self, params: Mapping[str, Any]) -> dict[str, slice]:
        """Where each named part of the observation lies, name -> slice of the feature axis."""
        out, start = {}, 0
        for name, size in self.fields(params).items():
            out[name] = slice(start, start + size)
            start += size
        return out


@dataclass
class Credit:
    """Late consequences of earlier actions, one entry per charge: `amount[k]` goes to action `action[k]`
    of agent `agent[k]` in world `world[k]`. A flat list of the round's charges, because a round charges
    few of its agents: a table over every agent or finding costs more memory traffic than the rest of the
    round's learning."""

    worlds: int
    world: torch.Tensor  # (entries,) int64
    agent: torch.Tensor  # (entries,) int64
    action: torch.Tensor  # (entries,) int64
    amount: torch.Tensor  # (entries,) float32
    # (entries,) int64 where the game knows it: the round of the credited action, so that a learner whose
    # agents are replaced (a lab that dies) can drop what was earned before its agent was born
    round: torch.Tensor | None = None
    _per_agent: dict[int, torch.Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)

    def per_agent(self, n_agents: int) -> torch.Tensor:
        """Each agent's total credit this round, (worlds, agents), in the order of the entries; computed
        once, since the game's tallies and a learner may both ask."""
        if n_agents not in self._per_agent:
            total = torch.zeros(self.worlds * n_agents, device=self.amount.device)
            charged = torch.add(self.agent, self.world, alpha=n_agents)
            self._per_agent[n_agents] = add_at(total, charged, self.amount).view(self.worlds, n_agents)
        return self._per_agent[n_agents]

    def dense(self, n_agents: int, n_actions: int) -> torch.Tensor:
        """The same credit as a (worlds, agents, actions) table, for inspection and tests."""
        table = torch.zeros(self.worlds * n_agents * n_actions, device=self.amount.device)
        charged = (self.world * n_agents + self.agent) * n_actions + self.action
        return add_at(table, charged, self.amount).view(self.worlds, n_agents, n_actions)


@dataclass(frozen=True)
class PayoffModel:
    """A game's payoffs as an opponent-aware learner reasons with them (fictitious play, level-k): for one
    role, the payoff of each own action against each pure action of the opponent role, and the opponent's
    against each of the role's. Expected payoffs are linear in the opponents' mixed action, so the table is
    all such a learner needs (`against`).

    A game that states payoff models also gives each agent of the role, at the start of its observation
    (zeros before the first round): the one-hot of the action its opponent played last round (opponent
    actions long), the opponent role's action shares in its world last round (opponent actions), and its own
    role's (actions): the evidence about the opponents that fictitious play counts."""

    role: str
    opponent: str
    payoffs: torch.Tensor  # (worlds, actions, opponent actions): the role's payoff
    opponent_payoffs: torch.Tensor  # (worlds, opponent actions, actions): the opponent role's payoff

    @property
    def actions(self) -> int:
        return self.payoffs.shape[1]

    @property
    def opponent_actions(self) -> int:
        return self.payoffs.shape[2]

    def against(self, mix: torch.Tensor) -> torch.Tensor:
        """The role's expected payoff from each of its actions against the opponents' mixed action `mix`,
        (worlds, ..., opponent actions) -> (worlds, ..., actions)."""
        return _expected(self.payoffs, mix)

    def opponent_against(self, mix: torch.Tensor) -> torch.Tensor:
        """The opponent role's expected payoff from each of its actions against this role's mixed action,
        (worlds, ..., actions) -> (worlds, ..., opponent actions)."""
        return _expected(self.opponent_payoffs, mix)

    def last_opponent_action(self, features: torch.Tensor) -> torch.Tensor:
        """From an observation (worlds, agents, size): the one-hot of each agent's last opponent's action."""
        return features[..., : self.opponent_actions]

    def opponent_shares(self, features: torch.Tensor) -> torch.Tensor:
        """From an observation: the opponent role's action shares in the agent's world last round."""
        return features[..., self.opponent_actions : 2 * self.opponent_actions]

    def own_shares(self, features: torch.Tensor) -> torch.Tensor:
        """From an observation: the role's own action shares in the agent's world last round."""
        start = 2 * self.opponent_actions
        return features[..., start : start + self.actions]


def _expected(table: torch.Tensor, mix: torch.Tensor) -> torch.Tensor:
    """sum_b table[w, a, b] mix[w, ..., b]: a table per world (worlds, actions, opponent actions) against
    mixes (worlds, ..., opponent actions), as one batched product (a broadcast product and sum over the
    last axis of a few entries is several times slower)."""
    flat = mix.reshape(mix.shape[0], -1, mix.shape[-1])
    return torch.bmm(flat, table.transpose(1, 2)).view(*mix.shape[:-1], table.shape[1])


class Observations:
    """Each role's observation per agent after a round, (worlds, agents, features), made by the game's
    `observe` when first asked for: most learners never look, and a round of a million agents should not pay
    for it. Valid until the game's next step, which changes what `observe` reads."""

    def __init__(self, observe: Callable[[str], torch.Tensor]) -> None:
        self._observe = observe
        self._made: dict[str, torch.Tensor] = {}

    def __getitem__(self, role: str) -> torch.Tensor:
        if role not in self._made:
            self._made[role] = self._observe(role)
        return self._made[role]


@dataclass
class RoundResult:
    """One round of every world: per role the payoff of this round's actions, the delayed credit for
    earlier ones (kept apart: a learner adds it to the action it is for), and the next observation; plus
    the game's tallies, from which every metric is computed."""

    payoffs: dict[str, torch.Tensor]  # role -> (worlds, agents): this round's pay for this round's actions
    credit: dict[str, Credit]  # role -> late consequences of earlier actions (roles without any: absent)
    observations: Observations  # role -> (worlds, agents, features), made on demand
    tallies: Any  # small per-world tensors of their own, never views of round-sized ones: simulate()
    # keeps the recorded rounds' tallies, and a view would keep its whole base tensor alive

    def received(self, role: str) -> torch.Tensor:
        """What each agent of a role received this round, (worlds, agents): its payoff plus its credit."""
        payoff = self.payoffs[role]
        credit = self.credit.get(role)
        return payoff if credit is None else payoff + credit.per_agent(payoff.shape[1])


class BatchOfWorlds:
    """What every game's rules class starts from: a batch of worlds with its per-world parameters (`p`:
    per-world numbers as (worlds, 1, 1) tensors, the rest shared), its own roles' (agents, actions) and its
    counter-based random streams. A subclass sets `params` and `own_roles`, then builds its state."""

    params: ClassVar[ParamSpace]
    own_roles: ClassVar[tuple[Role, ...]]
    # An accelerated engine's: how many times the speed layer's agent-rounds (models.speed.worth_fusing)
    # its fusing needs to pay, for kernels that save less a round than those the thresholds were set by.
    fusing_cost: ClassVar[float] = 1.0
    # What hashes the batch's large draws (RandomStreams.hashing): an accelerated engine's compiled form of
    # the draws' hash (models/random_kernels.py); None, the streams' own.
    hashing: ClassVar[Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None] = None

    def __init__(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ) -> None:
        if len(worlds) != len(seeds) or not worlds:
            raise ConfigError("a batch needs one seed per world and at least one world.")
        self.device = torch.device(device)
        self.n_worlds = len(worlds)
        self.p = batch_values(self.params, worlds, "game", self.device)
        self.roles = {role.name: (role.agents(worlds[0]), role.actions(worlds[0])) for role in self.own_roles}
        self.rng = RandomStreams(world_keys(seeds, self.device))
        self.rng.hashing = self.hashing

    @classmethod
    def supports(cls, params: dict[str, Any]) -> bool:
        """The rules play every configuration (an accelerated engine says which it implements)."""
        return True

    def kernels_name(self, acts_on: Mapping[str, str]) -> str:
        """The name the compile cache keeps this batch's compiled kernels under (models.speed.compile_cache):
        the engine's class, or where its kernels compile a graph of their own per configuration, with that
        configuration. `acts_on` gives each role's learner's Learner.acts_on ("actions" or "traits")."""
        return type(self).__name__


class Game(Protocol):
    """A batch of worlds of one game: built from resolved parameters (one dict per world) and one seed per
    world, it steps every world at once. `p` holds the batch's parameters (per-world numbers as (worlds,
    1, 1) tensors), which institutions may set between rounds (models/institutions.py)."""

    n_worlds: int
    device: torch.device
    round_index: int
    rng: Any
    p: dict[str, Any]
    roles: dict[str, tuple[int, int]]  # (agents, actions) per role

    def __init__(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ): ...

    @classmethod
    def supports(cls, params: dict[str, Any]) -> bool:
        """Whether this engine implements every rule these parameters switch on."""
        ...

    def reset(self) -> None: ...

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult: ...

    def observe(self, role: str) -> torch.Tensor:
        """Each agent's observation of the current state, (worlds, agents, size)."""
        ...

    # Optional: births(role, newborn), told after a round which agents of a role a learner replaced by new
    # ones ((worlds, agents) bool; the evolution learner's offspring), for a game that keeps something per
    # agent (a lab's funds and track record) that a newcomer should not inherit.


@dataclass(frozen=True)
class GameSpec:
    """A game as the registry knows it: what a study config may name, with its parameters, roles, rules,
    metrics and institutions.

    `rules` is the reference step, the specification. `accelerated` are faster engines with the same
    numbers bit for bit (tests check it), in order of preference: the first whose `supports(params)` says it
    implements every rule the parameters switch on runs them; where none does, the reference runs."""

    name: str
    doc: str
    params: ParamSpace
    roles: tuple[Role, ...]
    rules: type
    metrics: tuple[Any, ...]
    # "module:Class" each, imported when first asked for (they import models.speed)
    accelerated: tuple[str, ...] = ()
    peak_bytes_per_world: Callable[[Mapping[str, Any]], int] = lambda params: 0
    institutions: tuple[Any, ...] = ()  # models.institutions.Institution: roles that set parameters
    biases: tuple[Any, ...] = ()  # models.biases.RewardBias: pay added to a role's, by a parameter
    order: int = 100  # where menus and listings put it among the games
    headline: str = ""  # the metric the explorer opens on
    # The outcomes a summary shows first (after the headline): `run`'s closing table; else the declared order.
    key_metrics: tuple[str, ...] = ()
    scale: str = ""  # the parameter that sets how many agents a world has (the bench sizes worlds by it)
    variants: str = ""  # a named-choice parameter whose every value the bench measures (the voting rule)
    benched: bool = True  # whether `python -m studies bench` measures it (a testbed game need not be)
    # (worlds' resolved parameters, role, device) -> the role's PayoffModel, or None where the game states
    # none for the role: what opponent-aware learners (Learner.needs_payoff_model) reason with
    payoff_model: Callable[[Sequence[Mapping[str, Any]], str, Any], PayoffModel | None] | None = None
    # Refuses (a one-line reason) resolved parameters that cannot work in a run of this many rounds
    rounds_fit: Callable[[Mapping[str, Any], int], str | None] = lambda params, rounds: None

    @property
    def every_role(self) -> tuple[Role, ...]:
        """The game's own roles, then its institutions' (one agent per world each)."""
        return self.roles + tuple(institution.as_role() for institution in self.institutions)

    @property
    def optional_roles(self) -> frozenset[str]:
        """The roles a study need not name a learner for (Role.optional): they get the default one."""
        return frozenset(role.name for role in self.every_role if role.optional)

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(role.name for role in self.every_role)

    def role_acts(self, params: Mapping[str, Any], role: str) -> bool:
        """Whether the role's actions change anything with these parameters: an institution's only where its
        switch is on, an optional role's (journals) only where its `<role>s_act` parameter is; every other
        role's always."""
        institution = next((i for i in self.institutions if i.role == role), None)
        if institution is not None:
            return institution.acts(params)
        if role in self.optional_roles:
            return bool(params.get(f"{role}s_act", False))
        return True

    def role_shapes(self, params: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
        """(agents, actions) per role for resolved parameters, without building a world."""
        return {role.name: (role.agents(params), role.actions(params)) for role in self.every_role}

    def role_fields(self, params: Mapping[str, Any]) -> dict[str, dict[str, slice]]:
        """The named parts of each role's observation for resolved parameters (empty where unnamed)."""
        return {role.name: role.layout(params) for role in self.every_role}

    def role_traits(self, params: Mapping[str, Any]) -> dict[str, tuple[Trait, ...]]:
        """The traits of each role for resolved parameters (empty where a role has none)."""
        return {role.name: role.traits(params) for role in self.every_role}

    def payoffs(
        self, worlds: Sequence[Mapping[str, Any]], role: str, device: torch.device | str = "cpu"
    ) -> PayoffModel | None:
        """The role's payoff model for these worlds, or None where the game states none (most games)."""
        return None if self.payoff_model is None else self.payoff_model(worlds, role, device)

    def accelerated_engines(self) -> list[type]:
        """The accelerated engines, imported (importing one registers its kernels: models.speed.KERNELS)."""
        return [
            getattr(importlib.import_module(module), name)
            for module, name in (accelerated.split(":") for accelerated in self.accelerated)
        ]

    def engine_for(self, params: Mapping[str, Any]) -> type:
        """The engine that runs these parameters: the first accelerated one that supports them, else the
        rules."""
        return next((engine for engine in self.accelerated_engines() if engine.supports(params)), self.rules)

    def build(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ) -> Game:
        """A batch of these worlds, in round 0, on the engine that runs them; the parameters of registered
        reward biases join its per-world parameters."""
        engine = self.engine_for(worlds[0])(worlds, seeds, device=device)
        if self.biases:  # a world resolved before a bias was registered has it at its default, 0: off
            extra = ParamSpace(self.params.name, {bias.parameter: bias.param for bias in self.biases})
            filled = [{**extra.defaults(), **world} for world in worlds]
            engine.p.update(batch_values(extra, filled, "game", engine.device))
        return engine
