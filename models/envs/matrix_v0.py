"""The matrix game's PettingZoo env (models/games/matrix/env.py), under its public name."""

from models.games.matrix.env import MatrixEnv, parallel_env

__all__ = ["MatrixEnv", "parallel_env"]
