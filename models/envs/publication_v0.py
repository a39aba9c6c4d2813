"""The publication game's PettingZoo env (models/games/publication/env.py), under its public name."""

from models.games.publication.env import PublicationEnv, parallel_env

__all__ = ["PublicationEnv", "parallel_env"]
