"""What one round of any game gives back to the learning loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch


@dataclass
class RoundResult:
    """Rewards and delayed credit per role, and the game's tallies from which every metric is computed."""

    rewards: dict[str, torch.Tensor]  # role -> (worlds, agents): what each agent received this round
    credit: dict[str, torch.Tensor]  # role -> (worlds, agents, actions): late costs of earlier actions
    tallies: Any
