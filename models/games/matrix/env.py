"""PettingZoo `ParallelEnv` of the matrix game: one world of the batched engine.

Agents are `row_0` ... `row_{n-1}` and `column_0` ... `column_{n-1}`. An action indexes the role's row or
column of the bimatrix (`action_names`: the row and the column player's). The reward is the agent's entry of
the bimatrix against the opponent it was matched with. Each observation holds the opponent's last action
(one-hot), the opponent role's and then the own role's action shares last round (zeros before the first
round). Episodes end by truncation after `max_rounds`.

    from models.envs import matrix_v0
    env = matrix_v0.parallel_env(matrix="stag_hunt", n_agents=3, max_rounds=50)
    observations, infos = env.reset(seed=1)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from models.envs.one_world import OneWorldEnv
from models.games.matrix.params import action_names


def parallel_env(**params: Any) -> MatrixEnv:
    """The matrix game for one world; keyword arguments are game parameters plus `max_rounds`."""
    return MatrixEnv(**params)


class MatrixEnv(OneWorldEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "matrix_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }
    game = "matrix"

    def __init__(self, max_rounds: int = 100, device: str = "cpu", **params: Any) -> None:
        super().__init__(max_rounds, device, **params)
        self.action_names = dict(zip(("row", "column"), action_names(self.params), strict=True))

    def observation_box(self, role: str, size: int) -> spaces.Box:
        """One-hots and shares: every entry lies in [0, 1]."""
        return spaces.Box(np.float32(0), np.float32(1), shape=(size,), dtype=np.float32)
