"""Fictitious play (Brown 1951; Robinson 1951): each agent best-responds to the empirical frequencies of its
opponents' actions.

Each agent counts the actions its opponents played, starting from `initial_weight` pseudo-counts of each (a
uniform prior: Fudenberg & Levine's initial weights), and plays a best response to the frequencies, through
the payoffs the game states (models.game.PayoffModel): exactly where `smooth` = 0 (an action of highest
expected payoff, ties broken uniformly at random), or the logit response exp(u_a / smooth) / sum_b
exp(u_b / smooth) where `smooth` > 0, a temperature in payoff units (smooth fictitious play, Fudenberg &
Kreps 1993). With no evidence yet every action ties, so the first round is uniform.

What is counted (`observes`): "opponent", the action of the opponent each agent met (one-hot in its
observation): the classic two-player rule, and with random matching each agent's own sample of the
opponent population; or "population", the opponent role's action shares in the world (every agent of a world
then holds the same beliefs: fictitious play against the population's mean).

Robinson proved that the empirical frequencies converge to a Nash equilibrium in two-player zero-sum games,
Miyasawa (1961) in 2x2 games; Shapley (1964) gave a 3x3 game where they cycle. The tests
(tests/models/test_opponent_aware.py) check matching pennies, rock-paper-scissors and the coordination game.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from models.game import PayoffModel
from models.learners.base import Experience, Holding, Learner, Observation
from models.learners.choice import sample_categorical, softmax
from models.params import Param, ParamSpace

# Expected payoffs this close (relative to their size) count as tied: beliefs are float32 frequencies, so
# payoffs equal in exact arithmetic can differ in their last bits.
TIE = 1e-6


def respond(expected: torch.Tensor, smooth: torch.Tensor) -> torch.Tensor:
    """The probability of each action in a response to expected payoffs (..., actions): uniform over the
    best actions where `smooth` (broadcastable, per world) is 0, the logit response at that temperature
    where it is above. Each response is computed only where some world asks for it."""
    peak = expected.amax(-1, keepdim=True)
    logit = exact = None
    if bool((smooth > 0).any()):
        logit = softmax((expected - peak) / smooth.clamp(min=1e-30), -1)
    if logit is None or bool((smooth == 0).any()):
        best = (expected >= peak - TIE * (1 + peak.abs())).float()
        exact = best / best.sum(-1, keepdim=True)
    if logit is None or exact is None:
        return exact if logit is None else logit
    return torch.where(smooth > 0, logit, exact)


def frequencies(counts: torch.Tensor) -> torch.Tensor:
    """Counts (..., actions) as frequencies; all zeros where nothing was counted (every action then ties)."""
    return counts / counts.sum(-1, keepdim=True).clamp(min=1e-30)


class FictitiousPlay(Learner):
    """Fictitious play, exact or smooth, batched over the agents of a role in every world."""

    kind = "fictitious_play"
    doc = "best response to the empirical frequencies of the opponents' actions (exact or smooth)"
    needs_payoff_model: ClassVar[bool] = True
    params = ParamSpace(
        name="learner",
        params={
            "smooth": Param(
                0.0,
                "temperature of the logit best response, in payoff units (0: the exact best response, ties "
                "broken at random)",
                low=0,
                high=1e6,
            ),
            "initial_weight": Param(
                0.0, "pseudo-count of each opponent action before play (a uniform prior)", low=0, high=1e6
            ),
            "observes": Param(
                "opponent",
                "what is counted: 'opponent' (the action of each opponent met) or 'population' (the "
                "opponent role's action shares in the world)",
                kind=str,
                choices=("opponent", "population"),
                per_world=False,
            ),
        },
    )

    def __init__(self, params: dict[str, Any], *args: Any, payoff_model: PayoffModel) -> None:
        super().__init__(params, *args)
        self.model = payoff_model
        shape = (self.n_worlds, self.n_agents, payoff_model.opponent_actions)
        self.counts = params["initial_weight"].view(-1, 1, 1).expand(shape).clone()

    def probabilities(self) -> torch.Tensor:
        """Each agent's response to its beliefs, (worlds, agents, actions)."""
        expected = self.model.against(frequencies(self.counts))
        return respond(expected, self.p["smooth"].view(-1, 1, 1))

    def holdings(self) -> list[Holding]:
        opponent = tuple(f"{self.model.opponent} action {b}" for b in range(self.model.opponent_actions))
        return [
            Holding("action probability", self.probabilities()),
            Holding("belief: frequency of the opponents' action", frequencies(self.counts), opponent),
        ]

    def act(self, observation: Observation) -> torch.Tensor:
        uniform = self.draw(observation.round_index, "act")
        return sample_categorical(self.probabilities().unbind(-1), uniform)

    def learn(self, experience: Experience) -> None:
        """Count what the agents saw of their opponents this round."""
        features = experience.next_observation.features
        if self.p["observes"] == "opponent":
            self.counts += self.model.last_opponent_action(features)
        else:
            self.counts += self.model.opponent_shares(features)
