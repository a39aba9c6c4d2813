"""Mean-field Q-learning (Yang, Luo, Li, Zhou, Zhang & Wang 2018, "Mean Field Multi-Agent Reinforcement
Learning"): each agent's action values are conditioned on the mean action of its neighbours.

Yang et al. approximate an agent's Q over the joint action by Q(s, a, a_bar), with a_bar the mean one-hot
action of its neighbours: the many-agent interaction becomes one between the agent and a "mean agent". Here,
with stateless tabular values and discrete actions, a_bar is discretised to the neighbours' modal action
last round (ties broken uniformly at random), so each agent keeps a table Q[a_bar, a] of n_actions x
n_actions values. Why the mode rather than bins of the mean vector: it works for any number of actions
(bins of a 6-action simplex would need many cells that are rarely visited), it is exactly the half-way bin
of the mean for two actions, and it is what a coordination or conformity payoff turns on.

Each round, as in Yang et al.'s MF-Q algorithm:

- act: each agent draws its action by softmax (Boltzmann, `temperature` in payoff units) over Q[a_bar, .],
  with a_bar its neighbours' modal action of the previous round (the first round, with no previous one, is
  drawn uniformly);
- learn: a_bar is recomputed from the actions just played, and the played action's value in that bin moves
  toward the payoff: Q[a_bar, a] += learning_rate * (payoff - Q[a_bar, a]). Like `q_learning` the learner
  is stateless in the game's observation (a discount of 0: the value is the payoff of a against a_bar).
  Credit for an earlier action is added, times the learning rate, to that action's value in every bin: it
  is a consequence of the action, whatever the neighbours played.

The neighbours are the role's interaction network (models/networks.py; complete by default: every other
agent); an isolated agent is its own neighbour, so its a_bar is its own last action. Every draw comes from
the learner's random streams, so the same seed gives the same numbers.
"""

from __future__ import annotations

from typing import Any

import torch

from models.game import Credit
from models.learners.base import Experience, Holding, Learner, Observation
from models.learners.choice import LOG2E
from models.learners.mean_field_kernels import modal_action
from models.learners.tabular_kernels import softmax_choice
from models.networks import NETWORK_PARAMS, build_network, check_network
from models.params import Param, ParamSpace
from models.reductions import add_at


class MeanFieldQ(Learner):
    """Tabular mean-field Q-learning, Q[world, agent, neighbours' modal action, action], batched."""

    kind = "mean_field_q"
    doc = "action values conditioned on the neighbours' modal action last round (Yang et al. 2018), softmax"
    params = ParamSpace(
        name="learner",
        params={
            "temperature": Param(0.1, "softmax temperature, in payoff units", low=0, low_open=True, high=1e6),
            "learning_rate": Param(0.1, "step size of the value update", low=0, low_open=True, high=1),
            "initial_value": Param(
                0.0, "initial action value (optimism encourages trying everything)", low=-1e6, high=1e6
            ),
            **NETWORK_PARAMS,
        },
    )

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        check_network(config, role, n_agents)

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        n_agents, n_actions = self.n_agents, self.n_actions
        self.network = build_network(self.p, self.n_worlds, n_agents, self.rng, self.role)
        # A tiny random offset breaks ties between untried actions without favouring action 0.
        jitter = self.rng.uniform(-1, f"{self.role}/tie_break", (n_agents, n_actions, n_actions)) * 1e-6
        self.values = jitter + params["initial_value"].view(-1, 1, 1, 1)  # (worlds, agents, a_bar, a)
        self.mean_action: torch.Tensor | None = None  # the neighbours' modal action last round

    def holdings(self) -> list[Holding]:
        """The values each agent acts on next: those for its neighbours' modal action last round (before
        any round, the mean over every modal action)."""
        if self.mean_action is None:
            return [Holding("action value, mean over the neighbours' modal actions", self.values.mean(2))]
        bins = self.mean_action[:, :, None, None].expand(-1, -1, 1, self.n_actions)
        values = self.values.gather(2, bins).squeeze(2)
        return [Holding("action value given the neighbours' modal action last round", values)]

    def act(self, observation: Observation) -> torch.Tensor:
        t = observation.round_index
        if self.mean_action is None:
            return (self.draw(t, "mean_field/first") * self.n_actions).long().clamp(max=self.n_actions - 1)
        bins = self.mean_action[:, :, None, None].expand(-1, -1, 1, self.n_actions)
        values = self.values.gather(2, bins).squeeze(2)  # (worlds, agents, actions)
        key, offsets = self.rng.counters(t, f"{self.role}/act", self.n_agents)
        scale = LOG2E / self.p["temperature"].view(-1, 1)
        return softmax_choice(values.transpose(1, 2), scale, key, offsets).long()  # action-major

    def modal_action(self, round_index: int, actions: torch.Tensor) -> torch.Tensor:
        """Each agent's neighbours' most played action, (worlds, agents); ties broken uniformly at random
        (a uniform in [0, 1) added to integer counts never reorders unequal ones)."""
        counts = self.network.counts(actions, self.n_actions).float()
        n = self.n_agents * self.n_actions
        return modal_action(counts, *self.rng.counters(round_index, f"{self.role}/mean_field/tie", n))

    def learn(self, experience: Experience) -> None:
        mean_action = self.modal_action(experience.round_index, experience.actions)
        self._take_credit(experience.credit)
        # Flat indices into the table: four broadcast index tensors cost several times more.
        n_worlds, n_agents = experience.actions.shape
        n_actions = self.n_actions
        rows = torch.arange(n_worlds * n_agents, device=self.values.device).view(n_worlds, n_agents)
        index = (rows * n_actions + mean_action) * n_actions + experience.actions.long()
        table = self.values.view(-1)
        value = table[index]
        rate = self.p["learning_rate"].view(-1, 1)
        table[index] = value + rate * (experience.payoffs - value)
        self.mean_action = mean_action

    def _take_credit(self, credit: Credit | None) -> None:
        """Add each credit entry, times the learning rate, to its action's value in every a_bar bin."""
        if credit is None or not len(credit.world):
            return
        n_actions = self.n_actions
        amount = self.p["learning_rate"].view(-1)[credit.world] * credit.amount
        table = self.values.view(-1)
        for mean_bin in range(n_actions):
            at = (
                (credit.world * self.n_agents + credit.agent) * n_actions + mean_bin
            ) * n_actions + credit.action
            add_at(table, at, amount)
