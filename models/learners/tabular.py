"""Batched tabular action-value learning: one independent table per agent per world.

Each agent keeps Q(a), the running estimate of its payoff from action a, and after every round moves the
chosen action's value toward the payoff it received: Q(a) += learning_rate * (payoff - Q(a)). Late
consequences of an earlier action (a failed replication of an old finding) arrive as credit and are added
to that action's value: Q += learning_rate * credit. Exploration is epsilon-greedy, or softmax (Boltzmann)
with a temperature in payoff units. The learner is stateless in the observation: it acts on its values.
"""

from __future__ import annotations

from typing import Any

import torch

from models.game import Credit
from models.learners.base import Experience, Holding, Learner, Observation
from models.learners.choice import LOG2E, greedy
from models.learners.tabular_kernels import softmax_choice, update_and_choose, value_update
from models.params import Param, ParamSpace
from models.reductions import add_at


class TabularQLearner(Learner):
    """Independent stateless action-value learners for every agent of one role in a batch of worlds.

    The values are laid out action-major, (worlds, actions, agents): one action's values over the agents
    are contiguous, so the per-action steps of choosing are plain elementwise passes."""

    kind = "q_learning"
    doc = "independent action-value learners (epsilon-greedy or softmax), one table per agent"
    params = ParamSpace(
        name="learner",
        params={
            "exploration": Param(
                "softmax", "how actions are explored", kind=str, choices=("epsilon_greedy", "softmax")
            ),
            "epsilon": Param(
                0.05, "probability of a uniformly random action (epsilon_greedy)", low=0, high=1
            ),
            "temperature": Param(0.1, "softmax temperature, in payoff units", low=0, low_open=True, high=1e6),
            "learning_rate": Param(0.1, "step size of the value update", low=0, low_open=True, high=1),
            "initial_value": Param(
                0.0, "initial action value (optimism encourages trying everything)", low=-1e6, high=1e6
            ),
        },
    )

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        role, n_agents, n_actions = self.role, self.n_agents, self.n_actions
        # A tiny random offset breaks ties between untried actions without favouring action 0.
        jitter = self.rng.uniform(-1, f"{role}/tie_break", (n_agents, n_actions)).transpose(1, 2) * 1e-6
        self.values = (jitter + params["initial_value"]).contiguous()

    @property
    def action_values(self) -> torch.Tensor:
        """The values as (worlds, agents, actions), a view: writing to it sets the values."""
        return self.values.transpose(1, 2)

    def holdings(self) -> list[Holding]:
        return [Holding("action value", self.action_values.clone())]

    def act(self, observation: Observation) -> torch.Tensor:
        t = observation.round_index
        if self.p["exploration"] == "softmax":
            return softmax_choice(self.values, *self._softmax_draws(t))
        best = greedy(self.values.unbind(1))
        explore = self.draw(t, "explore") < self.p["epsilon"].view(-1, 1)
        random_action = (self.draw(t, "act") * self.n_actions).long().clamp(max=self.n_actions - 1)
        return torch.where(explore, random_action, best)

    def learn(self, experience: Experience) -> None:
        self._take_credit(experience.credit)
        rate = self.p["learning_rate"].view(-1, 1)
        self.values = value_update(self.values, experience.actions, experience.payoffs, rate)

    def learn_and_act(self, experience: Experience) -> torch.Tensor:
        if self.p["exploration"] != "softmax":
            return super().learn_and_act(experience)
        self._take_credit(experience.credit)
        rate = self.p["learning_rate"].view(-1, 1)
        draws = self._softmax_draws(experience.next_observation.round_index)
        self.values, next_actions = update_and_choose(
            self.values, experience.actions, experience.payoffs, rate, *draws
        )
        return next_actions

    def _softmax_draws(self, round_index: int) -> tuple[torch.Tensor, ...]:
        """What a softmax choice in this round takes besides the values: the scale log2(e) / T, (worlds,
        1), and the draws' counters (RandomStreams.counters)."""
        counters = self.rng.counters(round_index, f"{self.role}/act", self.n_agents)
        return LOG2E / self.p["temperature"].view(-1, 1), *counters

    def _take_credit(self, credit: Credit | None) -> None:
        """Add each credit entry, times the learning rate, to the value of the action it is for."""
        if credit is None:
            return
        charged = torch.add(
            credit.agent,
            torch.add(credit.action, credit.world, alpha=self.n_actions),
            alpha=self.n_agents,
        )
        add_at(self.values.view(-1), charged, self.p["learning_rate"].view(-1)[credit.world] * credit.amount)
