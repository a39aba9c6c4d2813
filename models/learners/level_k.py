"""Level-k reasoning (Stahl & Wilson 1995; Nagel 1995; Costa-Gomes, Crawford & Broseta 2001): an agent of
level k best-responds to an opponent it believes to be of level k - 1, who best-responds to one of level
k - 2, and so on down to level 0, who does not reason.

Level 0 plays uniformly at random (`level0 = "uniform"`), or (`"population"`) the empirical frequencies of
its own role's play in the world so far (the role's action shares summed over the rounds seen; uniform
before the first): a level-1 agent then best-responds to the opponents' history, as fictitious play against
the population does. The chain of levels runs through both roles' payoff tables as the game states them
(models.game.PayoffModel): the level-j mix of each role is its response to the other role's level-(j - 1)
mix. A response is exact where `smooth` = 0 (uniform over the best actions: the agent's own ties are broken
at random, and it models an opponent's ties as a uniform mix over them), or the logit response at that
temperature where above (for the agent and the levels it models alike).

The Poisson cognitive hierarchy of Camerer, Ho & Chong (2004), where level k responds to a mix of all lower
levels, is the natural extension; this family implements the single-level chain. Every agent of a role has
the same depth, so every agent of a world draws from one mix: the batch is a few (worlds, actions) products
per level, and one draw per agent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from models.game import PayoffModel
from models.learners.base import Experience, Holding, Learner, Observation
from models.learners.choice import sample_categorical
from models.learners.fictitious_play import frequencies, respond
from models.params import Param, ParamSpace


class LevelK(Learner):
    """Level-k reasoning over the game's stated payoffs, batched over the agents of a role in every world."""

    kind = "level_k"
    doc = "level-k reasoning: a best response to a level k - 1 opponent, from a uniform or historical level 0"
    needs_payoff_model: ClassVar[bool] = True
    params = ParamSpace(
        name="learner",
        params={
            "depth": Param(
                1, "k: the levels of reasoning above level 0 (0: play as level 0)", kind=int, low=0, high=100,
                per_world=False,
            ),
            "level0": Param(
                "uniform",
                "how level 0 plays: 'uniform', or 'population' (its role's empirical frequencies so far)",
                kind=str, choices=("uniform", "population"), per_world=False,
            ),
            "smooth": Param(
                0.0,
                "temperature of the logit response at every level, in payoff units (0: exact best responses)",
                low=0, high=1e6,
            ),
        },
    )  # fmt: skip

    def __init__(self, params: dict[str, Any], *args: Any, payoff_model: PayoffModel) -> None:
        super().__init__(params, *args)
        self.model = payoff_model
        device = payoff_model.payoffs.device
        # Each role's actions summed over the rounds seen (level0 = "population"), (worlds, actions).
        self.own_counts = torch.zeros(self.n_worlds, payoff_model.actions, device=device)
        self.opponent_counts = torch.zeros(self.n_worlds, payoff_model.opponent_actions, device=device)

    def level_zero(self, counts: torch.Tensor) -> torch.Tensor:
        """A role's level-0 mix, (worlds, actions): its history's frequencies, or uniform (also before any
        history)."""
        uniform = torch.full_like(counts, 1 / counts.shape[1])
        if self.p["level0"] == "uniform":
            return uniform
        seen = counts.sum(1, keepdim=True) > 0
        return torch.where(seen, frequencies(counts), uniform)

    def mix(self) -> torch.Tensor:
        """The role's level-k mix in every world, (worlds, actions): level by level, each role's response
        to the other's mix one level down."""
        smooth = self.p["smooth"].view(-1, 1)
        own, opponent = self.level_zero(self.own_counts), self.level_zero(self.opponent_counts)
        for _ in range(self.p["depth"]):
            own, opponent = (
                respond(self.model.against(opponent), smooth),
                respond(self.model.opponent_against(own), smooth),
            )
        return own

    def holdings(self) -> list[Holding]:
        """The level-k mix, the same for every agent of a world."""
        return [Holding("action probability", self.mix().unsqueeze(1).expand(-1, self.n_agents, -1).clone())]

    def act(self, observation: Observation) -> torch.Tensor:
        weights = [weight.unsqueeze(1) for weight in self.mix().unbind(-1)]  # (worlds, 1) each
        return sample_categorical(weights, self.draw(observation.round_index, "act"))

    def learn(self, experience: Experience) -> None:
        """With a historical level 0, add this round's action shares of both roles (the same for every agent
        of a world: read from its first); a uniform level 0 learns nothing."""
        if self.p["level0"] != "population":
            return
        features = experience.next_observation.features[:, 0]
        self.own_counts += self.model.own_shares(features)
        self.opponent_counts += self.model.opponent_shares(features)
