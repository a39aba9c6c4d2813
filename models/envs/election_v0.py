"""The election game's PettingZoo env (models/games/election/env.py), under its public name."""

from models.games.election.env import ElectionEnv, parallel_env

__all__ = ["ElectionEnv", "parallel_env"]
