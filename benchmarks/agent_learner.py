"""One agent's tabular action-value learner in plain Python: the "one agent at a time" baseline.

It learns exactly as `models.learners.tabular.TabularQLearner` does for a single agent (softmax over Q / T,
Q(a) += learning_rate * (reward - Q(a))), but each agent is its own object, computed with `math` and
`random` in a Python loop, the way a per-agent simulation is usually written.
"""

from __future__ import annotations

import math
import random

import numpy as np


class AgentLearner:
    """Action values of one agent, Boltzmann exploration, and the running-average update."""

    def __init__(
        self,
        n_actions: int,
        rng: random.Random | np.random.Generator,
        temperature: float = 0.1,
        learning_rate: float = 0.1,
        initial_value: float = 0.0,
    ) -> None:
        self.n_actions = n_actions
        self.rng = rng  # both kinds offer .random(): one uniform in [0, 1)
        self.temperature = temperature
        self.learning_rate = learning_rate
        self.values = [float(initial_value)] * n_actions

    def probabilities(self) -> list[float]:
        """exp(Q/T) / sum exp(Q/T), shifted by max Q so a low temperature cannot overflow."""
        top = max(self.values)
        weights = [math.exp((q - top) / self.temperature) for q in self.values]
        total = sum(weights)
        return [w / total for w in weights]

    def act(self) -> int:
        """Draw an action from the softmax by inverse CDF (one uniform, as the batched learner does)."""
        top = max(self.values)
        weights = [math.exp((q - top) / self.temperature) for q in self.values]
        threshold = self.rng.random() * sum(weights)
        for action, weight in enumerate(weights):
            threshold -= weight
            if threshold < 0:
                return action
        return self.n_actions - 1  # rounding left a sliver above the last weight

    def learn(self, action: int, reward: float) -> None:
        """Move the chosen action's value a step toward the reward it just earned."""
        self.values[action] += self.learning_rate * (reward - self.values[action])

    def credit(self, action: int, amount: float) -> None:
        """A late consequence of an earlier action (a refuted finding) goes to that action's value."""
        self.values[action] += self.learning_rate * amount
