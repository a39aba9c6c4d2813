"""PettingZoo `ParallelEnv` of the election game: one world of the batched engine.

Agents are `voter_0` ... `voter_{V-1}`, `candidate_0` ... `candidate_{C-1}` and `institution_0`. Actions
index the engine's choices for the role (`ElectionGame.role_shapes`): a voter abstains (0) or votes (1),
or with `strategic_voting` supports candidate a - 1 (a >= 1); a candidate picks a platform on the grid
(index = sum of digit_d * platform_grid**d, digit 0 at -platform_extent); the institution picks a rule in
`models.election.rules.RULES` order (it matters only with `institution_learns`). The reward is what the
engine paid that agent that round.

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
import torch
from gymnasium import spaces

from models.election.engine import ElectionGame
from models.election.params import ELECTION_PARAMS
from models.envs.one_world import OneWorldEnv
from models.rounds import RoundResult

ROLES = ("voter", "candidate", "institution")
POSITION = 2  # policy coordinates, padded to the largest number of dimensions
SHARES = int(ELECTION_PARAMS.params["n_candidates"].high)  # vote shares, padded to the most candidates
COMMON = POSITION + SHARES + 1  # winner's platform, vote shares, turnout


def parallel_env(**params: Any) -> ElectionEnv:
    """The election game for one world; keyword arguments are game parameters plus `max_rounds`."""
    return ElectionEnv(**params)


def _padded(values: np.ndarray, width: int) -> np.ndarray:
    """Rows of `values` zero-padded on the right to `width` columns, float32."""
    out = np.zeros((values.shape[0], width), dtype=np.float32)
    out[:, : values.shape[1]] = values
    return out


class ElectionEnv(OneWorldEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "election_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }
    engine = ElectionGame
    params_space = ELECTION_PARAMS

    def __init__(self, max_rounds: int = 100, device: str = "cpu", **params: Any) -> None:
        super().__init__(max_rounds, device, **params)
        self.role_shapes = ElectionGame.role_shapes(self.params)
        self.possible_agents = [f"{role}_{i}" for role in ROLES for i in range(self.role_shapes[role][0])]
        self._role = {agent: agent.rsplit("_", 1)[0] for agent in self.possible_agents}
        # One space object per role, returned on every call: PettingZoo's API test and seeding need that.
        self._action_spaces = {role: spaces.Discrete(n) for role, (_, n) in self.role_shapes.items()}
        extent = np.float32(self.params["platform_extent"])
        low = np.concatenate([np.full(POSITION, -extent), np.zeros(SHARES + 1)]).astype(np.float32)
        high = np.concatenate([np.full(POSITION, extent), np.ones(SHARES + 1)]).astype(np.float32)
        ideal_low = np.concatenate([low, np.full(POSITION, -np.inf)]).astype(np.float32)
        ideal_high = np.concatenate([high, np.full(POSITION, np.inf)]).astype(np.float32)
        self._observation_spaces = {
            "voter": spaces.Box(ideal_low, ideal_high, dtype=np.float32),
            "candidate": spaces.Box(ideal_low, ideal_high, dtype=np.float32),
            "institution": spaces.Box(low, high, dtype=np.float32),
        }
        self._ideals: dict[str, np.ndarray] = {}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[self._role[agent]]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[self._role[agent]]

    def _first_observations(self) -> dict[str, np.ndarray]:
        self._ideals = {
            "voter": _padded(self._game.voters[0].cpu().numpy(), POSITION),
            "candidate": _padded(self._game.ideals[0].cpu().numpy(), POSITION),
        }
        return self._observe(np.zeros(COMMON, dtype=np.float32))

    def _engine_actions(self, actions: dict[str, int]) -> dict[str, torch.Tensor]:
        chosen = {}
        for role, (n_agents, n_actions) in self.role_shapes.items():
            picked = np.array([int(actions[f"{role}_{i}"]) for i in range(n_agents)], dtype=np.int64)
            if ((picked < 0) | (picked >= n_actions)).any():
                raise ValueError(f"{role} actions {picked.tolist()} must lie in 0 .. {n_actions - 1}")
            chosen[role] = torch.from_numpy(picked).view(1, -1)
        return chosen

    def _observe_round(self, result: RoundResult) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        tallies = result.tallies
        winner = int(tallies.winner[0])
        common = np.zeros(COMMON, dtype=np.float32)
        platform = tallies.platforms[0, winner].cpu().numpy()
        common[: platform.shape[0]] = platform
        shares = tallies.vote_shares[0].cpu().numpy()
        common[POSITION : POSITION + shares.shape[0]] = shares
        common[-1] = float(tallies.turnout[0])
        received = {role: result.rewards[role][0].cpu().numpy() for role in ROLES}
        rewards = {
            agent: float(received[role][i]) for role in ROLES for i, agent in enumerate(self._of(role))
        }
        return self._observe(common), rewards

    def _of(self, role: str) -> list[str]:
        return [f"{role}_{i}" for i in range(self.role_shapes[role][0])]

    def _observe(self, common: np.ndarray) -> dict[str, np.ndarray]:
        observations: dict[str, np.ndarray] = {}
        for role in ROLES:
            names = self._of(role)
            rows = np.tile(common, (len(names), 1))
            if role in self._ideals:
                rows = np.concatenate([rows, self._ideals[role]], axis=1)
            observations.update(zip(names, rows, strict=True))
        return observations
