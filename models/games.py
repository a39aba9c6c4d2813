"""The registry of games: what a study config may name, with its parameters, roles and metrics."""

from __future__ import annotations

from dataclasses import dataclass

from models.election.engine import ElectionGame
from models.election.params import ELECTION_PARAMS
from models.metrics import Metric
from models.metrics.election import ELECTION_METRICS
from models.metrics.publication import PUBLICATION_METRICS
from models.params import ConfigError, ParamSpace
from models.publication import PUBLICATION_PARAMS, PublicationGame


@dataclass(frozen=True)
class GameSpec:
    name: str
    doc: str
    params: ParamSpace
    engine: type
    roles: tuple[str, ...]
    metrics: tuple[Metric, ...]


GAMES: dict[str, GameSpec] = {
    "publication": GameSpec(
        name="publication",
        doc="researchers choose rigor and novelty; journals publish and reward",
        params=PUBLICATION_PARAMS,
        engine=PublicationGame,
        roles=("researcher",),
        metrics=PUBLICATION_METRICS,
    ),
    "election": GameSpec(
        name="election",
        doc="voters vote, candidates choose platforms, an institution sets the electoral rule",
        params=ELECTION_PARAMS,
        engine=ElectionGame,
        roles=("voter", "candidate", "institution"),
        metrics=ELECTION_METRICS,
    ),
}


def get_game(name: object) -> GameSpec:
    if name not in GAMES:
        raise ConfigError(f"study.game = {name!r} is not a known game: allowed are {', '.join(GAMES)}.")
    return GAMES[name]  # type: ignore[index]
