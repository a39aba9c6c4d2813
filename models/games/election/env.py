"""PettingZoo `ParallelEnv` of the election game: one world of the batched engine.

Agents are `voter_0` ... `voter_{V-1}`, `candidate_0` ... `candidate_{C-1}` and `institution_0`. Actions
index the role's choices (models/games/election/rules.py): a voter abstains (0) or votes (1), or with
`strategic_voting` supports candidate a - 1 (a >= 1); a candidate picks a platform on the grid (index = sum
of digit_d * platform_grid**d, digit 0 at -platform_extent); the institution picks a rule in
`models.games.election.voting.RULES` order (it matters only with `institution_learns`). The reward is what
the engine paid that agent that round.

Every observation starts with what everyone saw of the last election (zeros before the first): the
winner's platform (2 numbers, the second 0 in one dimension), the vote shares (8 numbers, one per
candidate, 0 past the last) and the turnout. Voters and candidates then see their own ideal point (2
numbers, padded the same way); the institution sees only the common part. Episodes end by truncation
after `max_rounds`.

    from models.envs import election_v0
    env = election_v0.parallel_env(n_voters=51, n_candidates=3, rule="borda", max_rounds=100)
    observations, infos = env.reset(seed=1)
    actions = {agent: env.action_space(agent).sample() for agent in env.agents}
    observations, rewards, terminations, truncations, infos = env.step(actions)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from models.envs.one_world import OneWorldEnv
from models.games.election.rules import COMMON, POSITION, SHARES


def parallel_env(**params: Any) -> ElectionEnv:
    """The election game for one world; keyword arguments are game parameters plus `max_rounds`."""
    return ElectionEnv(**params)


class ElectionEnv(OneWorldEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "election_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }
    game = "election"

    def observation_box(self, role: str, size: int) -> spaces.Box:
        """The common part lies on the platform grid's extent and in [0, 1]; ideal points are unbounded."""
        if size < COMMON:  # a role of an institution registered on the game
            return super().observation_box(role, size)
        extent = np.float32(self.params["platform_extent"])
        low = np.concatenate(
            [np.full(POSITION, -extent), np.zeros(SHARES + 1), np.full(size - COMMON, -np.inf)]
        )
        high = np.concatenate(
            [np.full(POSITION, extent), np.ones(SHARES + 1), np.full(size - COMMON, np.inf)]
        )
        return spaces.Box(low.astype(np.float32), high.astype(np.float32), dtype=np.float32)
