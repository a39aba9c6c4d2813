"""A learner family, as a user adds one: copy the best.

After each round every agent looks at what the agents of its world received (payoff plus credit) and, with
probability `imitation_rate`, plays next the action of the best-paid one (the first of them, on ties);
otherwise it keeps its own action. Its first action is uniform. No values, no observation features: what
the agents of a world were paid is all it uses.

Registered with one line: `models.learners.register_learner(CopyTheBest)`.
"""

from __future__ import annotations

from typing import Any

import torch

from models.learners import Experience, Learner, Observation
from models.params import Param, ParamSpace


class CopyTheBest(Learner):
    """Each agent imitates its world's best-paid agent of last round with probability imitation_rate."""

    kind = "copy_the_best"
    doc = "imitate the world's best-paid agent with some probability, else keep the last action"
    params = ParamSpace(
        name="learner",
        params={
            "imitation_rate": Param(
                0.5, "probability that an agent copies the best-paid agent's action", low=0, high=1
            ),
        },
    )

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        first = self.draw(-1, "first_action") * self.n_actions
        self.actions = first.long().clamp(max=self.n_actions - 1)

    def act(self, observation: Observation) -> torch.Tensor:
        return self.actions

    def learn(self, experience: Experience) -> None:
        received = experience.payoffs
        if experience.credit is not None:
            received = received + experience.credit.per_agent(self.n_agents)
        best = received.argmax(1, keepdim=True)  # the first best-paid agent of each world
        best_action = experience.actions.long().gather(1, best).expand(-1, self.n_agents)
        copies = self.draw(experience.round_index, "copy") < self.p["imitation_rate"].view(-1, 1)
        self.actions = torch.where(copies, best_action, experience.actions.long())
