"""One world of a batched game as a PettingZoo `ParallelEnv`: the bookkeeping every game's env shares.

Agents are named `role_index` in the order of the game's roles (institutions last); each role's action
space is Discrete(actions) and its observation a Box of the role's observation size, both declared once in
the game's roles. A step plays one round through the same path as a study's (models.simulate.play_round),
and an agent's reward is what it received: its payoff plus its credit. A game's env module only names the
game and, where it wants, bounds on its observations.
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import ParallelEnv

from models.game import GameSpec
from models.params import Param

MAX_ROUNDS = Param(100, "rounds per episode before truncation", kind=int, low=1, high=10_000_000)


class OneWorldEnv(ParallelEnv):
    game: ClassVar[str]  # the registered game's name

    def __init__(self, max_rounds: int = 100, device: str = "cpu", **params: Any) -> None:
        from models.games import get_game  # the registry, with whatever was registered on the game since

        self.spec: GameSpec = get_game(self.game)
        self.params = self.spec.params.resolve(params)
        self.max_rounds = MAX_ROUNDS.check("max_rounds", max_rounds)
        self.device = device
        self.render_mode = None
        self.agents: list[str] = []
        self._game: Any = None
        self.role_shapes = self.spec.role_shapes(self.params)
        self.possible_agents = [f"{role}_{i}" for role, (n, _) in self.role_shapes.items() for i in range(n)]
        self._role = {agent: agent.rsplit("_", 1)[0] for agent in self.possible_agents}
        # One space object per role, returned on every call: PettingZoo's API test and seeding need that.
        self._action_spaces = {role: spaces.Discrete(n) for role, (_, n) in self.role_shapes.items()}
        self._observation_spaces = {
            role.name: self.observation_box(role.name, role.observation(self.params))
            for role in self.spec.every_role
        }

    def observation_box(self, role: str, size: int) -> spaces.Box:
        """The observation space of a role's agents: unbounded unless a game's env says otherwise."""
        return spaces.Box(-np.inf, np.inf, shape=(size,), dtype=np.float32)

    def observation_space(self, agent: str) -> spaces.Box:
        return self._observation_spaces[self._role[agent]]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._action_spaces[self._role[agent]]

    def _of(self, role: str) -> list[str]:
        return [f"{role}_{i}" for i in range(self.role_shapes[role][0])]

    def _observations(self, observe: Any) -> dict[str, np.ndarray]:
        """Every agent's observation from a role -> (1, agents, size) tensor lookup."""
        out: dict[str, np.ndarray] = {}
        for role, (count, _) in self.role_shapes.items():
            size = self._observation_spaces[role].shape[0]
            rows = observe(role)[0].cpu().numpy() if size else np.zeros((count, 0))
            out.update(zip(self._of(role), rows.astype(np.float32), strict=True))
        return out

    def reset(
        self, seed: int | None = None, options: dict | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict]]:
        if seed is None:
            seed = secrets.randbits(63)
        self._game = self.spec.build([self.params], [seed], device=self.device)
        self.agents = list(self.possible_agents)
        self._round = 0
        return self._observations(self._game.observe), {agent: {} for agent in self.agents}

    def _engine_actions(self, actions: dict[str, int]) -> dict[str, torch.Tensor]:
        """The agents' actions as the engine's tensors. An institution whose actions change nothing unless a
        parameter lets them (Role.optional) may be left out: it plays its first action."""
        chosen = {}
        for role, (_, n_actions) in self.role_shapes.items():
            default = 0 if role in self.spec.optional_roles else None
            picked = np.array(
                [
                    int(actions[agent] if default is None else actions.get(agent, default))
                    for agent in self._of(role)
                ],
                dtype=np.int64,
            )
            if ((picked < 0) | (picked >= n_actions)).any():
                raise ValueError(f"{role} actions {picked.tolist()} must lie in 0 .. {n_actions - 1}")
            chosen[role] = torch.from_numpy(picked).view(1, -1)
        return chosen

    def step(self, actions: dict[str, int]) -> tuple[dict, dict, dict, dict, dict]:
        from models.simulate import play_round  # the loop imports the games, which import their envs

        if self._game is None or not self.agents:
            raise RuntimeError("call reset() before step(), and again after the episode has ended")
        with torch.inference_mode():
            result = play_round(self.spec, self._game, self._engine_actions(actions))
            observations = self._observations(lambda role: result.observations[role])
            received = {role: result.received(role)[0].cpu().numpy() for role in self.role_shapes}
        rewards = {
            agent: float(received[role][i])
            for role in self.role_shapes
            for i, agent in enumerate(self._of(role))
        }
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
