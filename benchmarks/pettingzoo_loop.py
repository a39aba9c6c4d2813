"""One world stepped through its PettingZoo `ParallelEnv`, one `AgentLearner` per agent, in a Python loop.

This is how a PettingZoo user runs independent learners: a dict of actions built agent by agent, one
`env.step`, then each agent learns from its own reward. The env wraps a one-world batched engine, so the
game itself is the same; what is measured is the per-agent loop around it. Delayed penalties of the
publication game arrive in the round's reward, as any PettingZoo agent sees them.
"""

from __future__ import annotations

import importlib
import random
from typing import Any

from pettingzoo import ParallelEnv

from benchmarks.agent_learner import AgentLearner


def build(game: str, params: dict[str, Any], rounds: int, seed: int) -> tuple[ParallelEnv, dict]:
    """The env of `game` (reset with `seed`) and one default learner per agent, seeded from `seed`."""
    env = importlib.import_module(f"models.games.{game}.env").parallel_env(**params, max_rounds=rounds)
    env.reset(seed=seed)
    rng = random.Random(seed)
    learners = {agent: AgentLearner(env.action_space(agent).n, rng) for agent in env.agents}
    return env, learners


def play(env: ParallelEnv, learners: dict[str, AgentLearner]) -> int:
    """Play the env's episode to its end; return the number of agent-decisions made."""
    decisions = 0
    while env.agents:
        actions = {agent: learners[agent].act() for agent in env.agents}
        _, rewards, _, _, _ = env.step(actions)
        for agent, action in actions.items():
            learners[agent].learn(action, rewards[agent])
        decisions += len(actions)
    return decisions


def run_loop(game: str, params: dict[str, Any], rounds: int, seed: int) -> int:
    """Run one world of `game` for `rounds` rounds with per-agent learners; return agents x rounds."""
    return play(*build(game, params, rounds, seed))
