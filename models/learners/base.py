"""What every learner is: a batched policy for all agents of one role in every world of a batch.

A learner never sees a game's internals: it gets each agent's observation, gives actions, and after the
round gets its `Experience` (the payoffs of its actions, the delayed credit for earlier ones, the next
observation), exactly as a PettingZoo agent would, for every agent of its role at once. A learner family is
one module of this package: a subclass of `Learner` with its `kind`, its parameter space and, where a config
can fail to fit a role, its own `check`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch

from models.game import Credit
from models.params import ParamSpace
from models.random import RandomStreams


@dataclass
class Observation:
    """What every agent of a role sees before acting in round `round_index`: `features`, (worlds,
    agents, size), made when first asked for (most learners act on their own values alone)."""

    round_index: int
    make: Callable[[], torch.Tensor] | None = None
    _features: torch.Tensor | None = field(default=None, init=False, repr=False)

    @property
    def features(self) -> torch.Tensor:
        if self._features is None:
            if self.make is None:
                raise ValueError("this observation has no features: the game gives this role none")
            self._features = self.make()
        return self._features


@dataclass
class Experience:
    """One role's round, as its learner gets it: the actions it played in round `round_index`, their
    payoffs, the credit for earlier actions that arrived this round (None: none can arrive in this game),
    and the observation of the next round."""

    round_index: int
    actions: torch.Tensor  # (worlds, agents)
    payoffs: torch.Tensor  # (worlds, agents)
    credit: Credit | None
    next_observation: Observation


@dataclass(frozen=True)
class Holding:
    """One thing a learner holds for every agent, for people to read (the explorer's Agents page shows it):
    `values`, (worlds, agents, entries), a copy; `entries` names the entries, or is empty where they are the
    role's actions in order (the game names those); `what` says what a value is."""

    what: str
    values: torch.Tensor
    entries: tuple[str, ...] = ()


class Learner:
    """Batched policy of one role: `act` draws every agent's action, `learn` updates from an Experience.

    Subclasses set `kind` (the name a study config uses) and `params` (their parameter space; per-world
    numbers arrive as (worlds, 1, 1) tensors), and override `check` where a config must fit the role."""

    kind: ClassVar[str] = ""
    doc: ClassVar[str] = ""
    params: ClassVar[ParamSpace]
    # "actions": act gives action indices, (worlds, agents); "traits": act gives each agent's vector of the
    # role's traits, (worlds, agents, traits), and the learner is built with the role's traits per world.
    acts_on: ClassVar[str] = "actions"
    # True: the learner reasons with the game's stated payoffs (models.game.PayoffModel) and is built with
    # the role's, `payoff_model=`; a game that states none for the role cannot have it (check_learner).
    needs_payoff_model: ClassVar[bool] = False
    # The named parts of its role's observation (models.game.Role.fields) the learner reads; a role whose
    # observation lacks one cannot have it (check_learner). `fields` says where each part lies.
    needs_fields: ClassVar[tuple[str, ...]] = ()
    fields: dict[str, slice] = {}  # noqa: RUF012 (set per learner by make_learner, never mutated)

    def __init__(
        self,
        params: dict[str, Any],
        role: str,
        n_worlds: int,
        n_agents: int,
        n_actions: int,
        rng: RandomStreams,
    ) -> None:
        self.p, self.role, self.rng = params, role, rng
        self.n_worlds, self.n_agents, self.n_actions = n_worlds, n_agents, n_actions

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        """Refuse (ConfigError) a resolved config that cannot fit a role of this many agents and actions."""

    @classmethod
    def check_traits(cls, config: dict[str, Any], role: str, traits: Any) -> None:
        """Refuse a config that does not fit the role's traits (learners that act on traits)."""

    @classmethod
    def check_rounds(cls, config: dict[str, Any], role: str, rounds: int) -> None:
        """Refuse a config that cannot work within a run of this many rounds."""

    def act(self, observation: Observation) -> torch.Tensor:
        """Every agent's action in every world, (worlds, agents), integers in [0, n_actions)."""
        raise NotImplementedError

    def learn(self, experience: Experience) -> None:
        """Update from a played round."""
        raise NotImplementedError

    def births(self) -> torch.Tensor | None:
        """Which agents the last learn replaced by new ones, (worlds, agents) bool, or None: a game that
        keeps something per agent (a lab's funds) gives the newcomer a fresh start (Batch.round)."""
        return None

    def holdings(self) -> list[Holding]:
        """What the learner holds for every agent now (action values, action probabilities, a population's
        traits), as copies: read-only, so that looking never changes a run. Empty for a family whose agents
        hold nothing beyond their rule (a best response to the poll); a family that holds state says so."""
        return []

    def learn_and_act(self, experience: Experience) -> torch.Tensor:
        """learn, then act on the next observation: the same numbers in one call, so that a learner can do
        both in one pass over its state (TabularQLearner does)."""
        self.learn(experience)
        return self.act(experience.next_observation)

    def field(self, features: torch.Tensor, name: str) -> torch.Tensor:
        """The named part of an observation, (worlds, agents, size)."""
        return features[..., self.fields[name]]

    def draw(self, round_index: int, purpose: str) -> torch.Tensor:
        """One uniform per agent per world, from this role's stream for `purpose`."""
        return self.rng.uniform(round_index, f"{self.role}/{purpose}", (self.n_agents,))
