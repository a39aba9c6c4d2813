"""What one round of any game gives back to the learning loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class Credit:
    """Late consequences of earlier actions, sparse: `amount[w, k]` goes to action `action[w, k]` of agent
    `agent[w, k]` in world w. Sparse because a round charges few findings: a dense (worlds, agents,
    actions) table would cost more memory traffic than the rest of the round."""

    agent: torch.Tensor  # (worlds, entries) int64
    action: torch.Tensor  # (worlds, entries) int64
    amount: torch.Tensor  # (worlds, entries) float32, 0 where nothing is charged

    def per_agent(self, n_agents: int) -> torch.Tensor:
        """Each agent's total credit this round, (worlds, agents)."""
        total = torch.zeros(self.amount.shape[0], n_agents, device=self.amount.device)
        return total.scatter_add_(1, self.agent, self.amount)

    def dense(self, n_agents: int, n_actions: int) -> torch.Tensor:
        """The same credit as a (worlds, agents, actions) table, for inspection and tests."""
        table = torch.zeros(self.amount.shape[0], n_agents * n_actions, device=self.amount.device)
        table.scatter_add_(1, self.agent * n_actions + self.action, self.amount)
        return table.view(-1, n_agents, n_actions)


@dataclass
class RoundResult:
    """Rewards and delayed credit per role, and the game's tallies from which every metric is computed."""

    rewards: dict[str, torch.Tensor]  # role -> (worlds, agents): what each agent received this round
    credit: dict[str, Credit]  # role -> late costs of earlier actions, included in `rewards`
    tallies: Any  # small per-world tensors of their own, never views of round-sized ones: simulate()
    # keeps the recorded rounds' tallies, and a view would keep its whole base tensor alive
