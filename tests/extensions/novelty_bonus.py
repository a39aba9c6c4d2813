"""A reward bias, as a user adds one: a bonus for novelty.

Novel studies draw more citations than replications, and citations pay: each researcher who chose a novel
study this round, whatever came of it, gets `novelty_bonus` x 1 on top of the game's payoff. Its strength is
a new parameter of the publication game, 0 (off) by default.

Registered with one line: `models.games.register_bias("publication", NOVELTY_BONUS)`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch

from models.biases import RewardBias
from models.game import Game, RoundResult
from models.games.publication.actions import replicates
from models.params import Param


def novel_studies(actions: Mapping[str, torch.Tensor], result: RoundResult, game: Game) -> torch.Tensor:
    """1 for each researcher who chose a novel study this round, 0 for a replication, (worlds, agents)."""
    return (~replicates(actions["researcher"], game.p["rigor_levels"])).float()


NOVELTY_BONUS = RewardBias(
    parameter="novelty_bonus",
    param=Param(0.0, "pay per novel study chosen, for the citations novelty draws", low=0, high=1e6),
    role="researcher",
    bonus=novel_studies,
)
