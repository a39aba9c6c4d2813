"""The publication game: researchers learn how to do and publish science under publication biases."""

from models.publication.engine import PublicationGame, action_names
from models.publication.params import PUBLICATION_PARAMS

__all__ = ["PUBLICATION_PARAMS", "PublicationGame", "action_names"]
