"""Agents that do not learn: a fixed mixed strategy, or one given action per agent. For analytic checks,
baselines, and holding one role still while another learns."""

from __future__ import annotations

from typing import Any

import torch

from models.learners.base import Experience, Holding, Learner, Observation
from models.learners.choice import sample_categorical
from models.params import ConfigError, Param, ParamSpace


def check_probabilities(probabilities: list[float], role: str, n_actions: int) -> list[float]:
    """A fixed mixed strategy that fits the game (empty means uniform), or ConfigError."""
    probabilities = probabilities or [1.0] * n_actions
    if len(probabilities) != n_actions or sum(probabilities) <= 0 or min(probabilities) < 0:
        raise ConfigError(
            f"learners.{role}.probabilities = {probabilities!r} does not fit the game: allowed is a list "
            f"of {n_actions} non-negative numbers with a positive sum, one per action."
        )
    return probabilities


class FixedPolicy(Learner):
    """Agents held to a fixed mixed strategy: no learning."""

    kind = "fixed"
    doc = "a fixed mixed strategy, the same for every agent"
    params = ParamSpace(
        name="learner",
        params={
            "probabilities": Param(
                [],
                "fixed probability of each action, in the game's action order (empty: uniform)",
                kind=list,
            ),
        },
    )

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        check_probabilities(config["probabilities"], role, n_actions)

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        probabilities = check_probabilities(params["probabilities"], self.role, self.n_actions)
        self.probabilities = torch.tensor(probabilities, dtype=torch.float32, device=self.rng.device)

    def holdings(self) -> list[Holding]:
        share = self.probabilities / self.probabilities.sum()
        return [Holding("action probability", share.expand(self.n_worlds, self.n_agents, -1).clone())]

    def act(self, observation: Observation) -> torch.Tensor:
        return sample_categorical(self.probabilities.unbind(), self.draw(observation.round_index, "act"))

    def learn(self, experience: Experience) -> None:
        """A fixed policy does not learn."""


def check_actions(actions: list[float], role: str, n_agents: int, n_actions: int) -> list[int]:
    """One whole action index per agent, each an action of the role, or ConfigError."""
    if len(actions) != n_agents or any(a != int(a) or not 0 <= a < n_actions for a in actions):
        raise ConfigError(
            f"learners.{role}.actions = {actions!r} does not fit the game: allowed is a list of {n_agents} "
            f"whole numbers from 0 to {n_actions - 1}, one action per agent."
        )
    return [int(a) for a in actions]


class FixedActions(Learner):
    """Each agent always plays its own given action: candidates held to chosen platforms, for example."""

    kind = "fixed_actions"
    doc = "each agent's own given action, every round"
    params = ParamSpace(
        name="learner",
        params={
            "actions": Param([], "each agent's action, agent by agent (the same in every world)", kind=list),
        },
    )

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        check_actions(config["actions"], role, n_agents, n_actions)

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        actions = check_actions(params["actions"], self.role, self.n_agents, self.n_actions)
        self.actions = torch.tensor(actions, device=self.rng.device).expand(self.n_worlds, -1)

    def holdings(self) -> list[Holding]:
        held = torch.nn.functional.one_hot(self.actions.long(), self.n_actions).float()
        return [Holding("holds this action (1) or not (0)", held)]

    def act(self, observation: Observation) -> torch.Tensor:
        return self.actions

    def learn(self, experience: Experience) -> None:
        """Fixed actions do not learn."""
