"""PettingZoo `ParallelEnv` of the publication game: one world of the batched engine.

Agents are `researcher_0` ... `researcher_{n-1}`. An action is an index into `action_names(rigor_levels)`:
novel study at each rigor level, then replication at each rigor level. The reward is what the researcher
received that round: payoffs of its published studies minus penalties for its refuted findings. Each
observation holds the agent's last reward and last penalty and the world's last replication rate (0 before
any replication), so a learner sees what a researcher would. Episodes end by truncation after
`max_rounds`.

    from models.envs import publication_v0
    env = publication_v0.parallel_env(n_researchers=50, publish_null_prob=0.2, max_rounds=100)
    observations, infos = env.reset(seed=1)
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces

from models.envs.one_world import OneWorldEnv
from models.publication import PUBLICATION_PARAMS, PublicationGame, action_names
from models.rounds import RoundResult


def parallel_env(**params: Any) -> PublicationEnv:
    """The publication game for one world; keyword arguments are game parameters plus `max_rounds`."""
    return PublicationEnv(**params)


class PublicationEnv(OneWorldEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "publication_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }
    engine = PublicationGame
    params_space = PUBLICATION_PARAMS

    def __init__(self, max_rounds: int = 100, device: str = "cpu", **params: Any) -> None:
        super().__init__(max_rounds, device, **params)
        self.possible_agents = [f"researcher_{i}" for i in range(self.params["n_researchers"])]
        self.action_names = action_names(self.params["rigor_levels"])
        # One space object per role, returned on every call: PettingZoo's API test and seeding need that.
        self._action_space = spaces.Discrete(len(self.action_names))
        self._observation_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_space

    def _first_observations(self) -> dict[str, np.ndarray]:
        return self._observe(np.zeros((len(self.agents), 3), dtype=np.float32))

    def _engine_actions(self, actions: dict[str, int]) -> dict[str, torch.Tensor]:
        index = torch.tensor([int(actions[agent]) for agent in self.agents], dtype=torch.int64)
        return {"researcher": index.view(1, -1)}

    def _observe_round(self, result: RoundResult) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        received = result.rewards["researcher"][0].cpu().numpy()
        penalty = result.credit["researcher"].per_agent(len(self.possible_agents))[0].cpu().numpy()
        tallies = result.tallies
        studies = int(tallies.replication_studies[0])
        world_rate = int(tallies.replication_successes[0]) / studies if studies else 0.0
        rows = np.stack([received, penalty, np.full_like(received, world_rate)], axis=1).astype(np.float32)
        rewards = {agent: float(r) for agent, r in zip(self.agents, received, strict=True)}
        return self._observe(rows), rewards

    def _observe(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {agent: rows[i] for i, agent in enumerate(self.agents)}
