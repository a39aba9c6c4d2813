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

import secrets
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from models.params import Param
from models.publication import PUBLICATION_PARAMS, PublicationGame, action_names

MAX_ROUNDS = Param(100, "rounds per episode before truncation", kind=int, low=1, high=10_000_000)


def parallel_env(**params: Any) -> PublicationEnv:
    """The publication game for one world; keyword arguments are game parameters plus `max_rounds`."""
    return PublicationEnv(**params)


class PublicationEnv(ParallelEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "publication_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(self, max_rounds: int = 100, device: str = "cpu", **params: Any) -> None:
        self.params = PUBLICATION_PARAMS.resolve(params)
        self.max_rounds = MAX_ROUNDS.check("max_rounds", max_rounds)
        self.device = device
        self.render_mode = None
        self.possible_agents = [f"researcher_{i}" for i in range(self.params["n_researchers"])]
        self.agents: list[str] = []
        self.action_names = action_names(self.params["rigor_levels"])
        self._action_space = spaces.Discrete(len(self.action_names))
        # One space object per role, returned on every call: PettingZoo's API test and seeding need that.
        self._observation_space = spaces.Box(-np.inf, np.inf, shape=(3,), dtype=np.float32)
        self._game: PublicationGame | None = None

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_space

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is None:
            seed = secrets.randbits(63)
        self._game = PublicationGame([self.params], [seed], device=self.device)
        self.agents = list(self.possible_agents)
        self._round = 0
        zeros = np.zeros((len(self.agents), 3), dtype=np.float32)
        return self._observe(zeros), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        if self._game is None or not self.agents:
            raise RuntimeError("call reset() before step(), and again after the episode has ended")
        index = torch.tensor([int(actions[agent]) for agent in self.agents], dtype=torch.int64)
        with torch.inference_mode():
            result = self._game.step({"researcher": index.view(1, -1)})
        received = result.rewards["researcher"][0].cpu().numpy()
        penalty = result.credit["researcher"][0].sum(-1).cpu().numpy()
        tallies = result.tallies
        studies = int(tallies.replication_studies[0])
        world_rate = int(tallies.replication_successes[0]) / studies if studies else 0.0
        observation = np.stack([received, penalty, np.full_like(received, world_rate)], axis=1).astype(
            np.float32
        )

        self._round += 1
        truncated = self._round >= self.max_rounds
        agents = self.agents
        observations = self._observe(observation)
        rewards = {agent: float(r) for agent, r in zip(agents, received, strict=True)}
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, truncated)
        infos = {agent: {} for agent in agents}
        if truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def _observe(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {agent: rows[i] for i, agent in enumerate(self.agents)}

    def close(self) -> None:
        self._game = None
