"""PettingZoo `ParallelEnv` of the election game: one world of the batched engine.

Agents are `voter_0` ... `voter_{V-1}`, `candidate_0` ... `candidate_{C-1}` and `institution_0`. Actions
index the role's choices (models/games/election/rules.py): a voter abstains (0) or votes (1), or with
`strategic_voting` supports candidate a - 1 (a >= 1); a candidate picks a platform on the grid (index = sum
of digit_d * platform_grid**d, digit 0 at -platform_extent); the institution picks a rule in
`models.games.election.voting.RULES` order (it matters only with `institution_learns`). The reward is what
the engine paid that agent that round.

Every observation starts with what everyone saw of the last election, padded to 2 dimensions and 8
candidates (models/games/election/rules.py, COMMON_FIELDS): the winner's platform (2 numbers), every
candidate's platform (16; before the first election, each candidate's ideal point), the vote shares (8; a
voter sees the poll), the turnout (1) and the rule in force (6, one-hot). A voter then sees its ideal point
(2); a candidate its ideal point, its own platform, its vote share, its supporters' centroid and whether
it has just entered (2 + 2 + 1 + 2 + 1); the institution only the common part. Episodes end by truncation
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
        """Platforms lie on the platform space, shares, turnout, the rule and the entry flag in [0, 1];
        ideal points and supporters' centroids are unbounded."""
        fields = next(r for r in self.spec.every_role if r.name == role).layout(self.params)
        if not fields:  # a role of an institution registered on the game
            return super().observation_box(role, size)
        extent = float(self.params["platform_extent"])
        bounds = {
            "winner_platform": extent, "platforms": extent, "own_platform": extent,
            "shares": 1.0, "turnout": 1.0, "rule": 1.0, "own_share": 1.0, "entered": 1.0,
        }  # fmt: skip
        signed = ("winner_platform", "platforms", "own_platform")
        low, high = np.empty(size, np.float32), np.empty(size, np.float32)
        for name, where in fields.items():
            high[where] = bounds.get(name, np.inf)
            low[where] = -high[where] if name in signed or name not in bounds else 0.0
        return spaces.Box(low, high, dtype=np.float32)
