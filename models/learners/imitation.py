"""Payoff-biased imitation: each agent compares its payoff with another agent's and copies that agent's
action with the Fermi probability (Szabó & Tőke 1998; Traulsen, Nowak & Pacheco 2006).

Every round each agent of a role picks one other agent of its role in its world, uniformly among its
neighbours on the role's interaction network (models/networks.py; by default the complete graph: any other
agent), and, with probability `revision_rate`, switches to that agent's action with probability

    1 / (1 + exp(-(payoff of the other - own payoff) / noise)),

comparing what each received in the round (payoff plus any credit for earlier actions). At small noise the
better-paid action is copied almost surely; at large noise imitation is nearly random. In a large population
the share x of an action A against B follows the replicator-like dynamics dx/dt = x (1 - x) tanh((pi_A -
pi_B) / (2 noise)) (tests/models/test_imitation.py checks the batched learner against it). The first
actions are drawn uniformly. Imitators observe their neighbours' actions and payoffs, not the game. An
isolated agent (no neighbours) keeps its action.
"""

from __future__ import annotations

from typing import Any

import torch

from models.learners.base import Experience, Holding, Learner, Observation
from models.networks import NETWORK_PARAMS, build_network, check_network
from models.params import Param, ParamSpace


class FermiImitation(Learner):
    """Payoff-biased imitation with the Fermi rule, batched over the agents of a role in every world."""

    kind = "imitation"
    doc = "copy a random neighbour's action with the Fermi probability of the payoff gap"
    params = ParamSpace(
        name="learner",
        params={
            "noise": Param(
                0.1, "selection noise, in payoff units: larger copies worse actions more often",
                low=0, low_open=True, high=1e6,
            ),
            "revision_rate": Param(
                1.0, "probability that an agent considers imitating in a round", low=0, high=1
            ),
            **NETWORK_PARAMS,
        },
    )  # fmt: skip

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        check_network(config, role, n_agents)

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        first = (self.draw(-1, "imitation/first") * self.n_actions).long().clamp(max=self.n_actions - 1)
        self.actions = first
        self.network = build_network(self.p, self.n_worlds, self.n_agents, self.rng, self.role)

    def holdings(self) -> list[Holding]:
        """The action each agent holds (and plays next), one-hot: an imitator holds nothing else."""
        held = torch.nn.functional.one_hot(self.actions.long(), self.n_actions).float()
        return [Holding("holds this action (1) or not (0)", held)]

    def act(self, observation: Observation) -> torch.Tensor:
        return self.actions

    def learn(self, experience: Experience) -> None:
        if self.n_agents < 2:
            return
        t = experience.round_index
        received = experience.payoffs
        if experience.credit is not None:
            received = received + experience.credit.per_agent(self.n_agents)
        # The other agent: uniform over one's neighbours (on the complete graph: every other agent).
        other = self.network.pick(self.draw(t, "imitation/partner"))
        gap = received.gather(1, other) - received
        copy_probability = torch.sigmoid(gap / self.p["noise"].view(-1, 1))
        revises = self.draw(t, "imitation/revise") < self.p["revision_rate"].view(-1, 1)
        copies = revises & (self.draw(t, "imitation/copy") < copy_probability)
        self.actions = torch.where(copies, experience.actions.gather(1, other), experience.actions)
