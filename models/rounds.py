"""What one round of any game gives back to the learning loop."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from models.reductions import add_at


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
    _per_agent: dict[int, torch.Tensor] = field(default_factory=dict, init=False, repr=False, compare=False)

    def per_agent(self, n_agents: int) -> torch.Tensor:
        """Each agent's total credit this round, (worlds, agents); computed once, since the engine adds it
        to the rewards and the learner takes it out again (a pass over every agent each time)."""
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


@dataclass
class RoundResult:
    """Rewards and delayed credit per role, and the game's tallies from which every metric is computed."""

    rewards: dict[str, torch.Tensor]  # role -> (worlds, agents): what each agent received this round
    credit: dict[str, Credit]  # role -> late costs of earlier actions, included in `rewards`
    tallies: Any  # small per-world tensors of their own, never views of round-sized ones: simulate()
    # keeps the recorded rounds' tallies, and a view would keep its whole base tensor alive
