"""One world of a batched engine as a PettingZoo `ParallelEnv`: the bookkeeping every game's env shares.

A game's env names its agents and spaces, turns PettingZoo's action dict into the engine's tensors, and
turns the engine's round result into observations and rewards; resetting, counting rounds, truncating
after `max_rounds` and removing finished agents happen here, once.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

import numpy as np
import torch
from pettingzoo import ParallelEnv

from models.params import Param, ParamSpace
from models.rounds import RoundResult

MAX_ROUNDS = Param(100, "rounds per episode before truncation", kind=int, low=1, high=10_000_000)


class OneWorldEnv(ParallelEnv):
    engine: ClassVar[type]
    params_space: ClassVar[ParamSpace]

    def __init__(self, max_rounds: int = 100, device: str = "cpu", **params: Any) -> None:
        self.params = self.params_space.resolve(params)
        self.max_rounds = MAX_ROUNDS.check("max_rounds", max_rounds)
        self.device = device
        self.render_mode = None
        self.agents: list[str] = []
        self._game: Any = None

    # What a game's env provides.
    def _first_observations(self) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _engine_actions(self, actions: dict[str, int]) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _observe_round(self, result: RoundResult) -> tuple[dict[str, np.ndarray], dict[str, float]]:
        raise NotImplementedError

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is None:
            seed = secrets.randbits(63)
        self._game = self.engine([self.params], [seed], device=self.device)
        self.agents = list(self.possible_agents)
        self._round = 0
        return self._first_observations(), {agent: {} for agent in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        if self._game is None or not self.agents:
            raise RuntimeError("call reset() before step(), and again after the episode has ended")
        with torch.inference_mode():
            result = self._game.step(self._engine_actions(actions))
        observations, rewards = self._observe_round(result)
        self._round += 1
        truncated = self._round >= self.max_rounds
        agents = self.agents
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, truncated)
        infos: dict[str, dict] = {agent: {} for agent in agents}
        if truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def close(self) -> None:
        self._game = None
