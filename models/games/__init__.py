"""The registry of games: every package in this folder that defines `GAME`, a models.game.GameSpec.

A new game is a new package here; the CLI, the studies, the bench and the explorer find it through `GAMES`.
An institution, a reward bias or a metric is added to a registered game by one call below; studies run in
worker processes, so a study that uses one registers it in a module every process imports.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import replace

from models.biases import RewardBias, with_bias
from models.game import GameSpec
from models.institutions import Institution, with_institution
from models.metrics import Metric
from models.params import ConfigError


def _discover() -> dict[str, GameSpec]:
    games: dict[str, GameSpec] = {}
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.ispkg:
            spec = getattr(importlib.import_module(f"{__name__}.{module.name}"), "GAME", None)
            if isinstance(spec, GameSpec):
                games[spec.name] = spec
    return dict(sorted(games.items(), key=lambda item: (item[1].order, item[0])))


GAMES: dict[str, GameSpec] = _discover()
# Each game's roles as the project declares them, before any extension registers an institution.
BUILT_IN_ROLES: dict[str, tuple[str, ...]] = {name: spec.role_names for name, spec in GAMES.items()}


def get_game(name: object) -> GameSpec:
    if name not in GAMES:
        raise ConfigError(f"study.game = {name!r} is not a known game: allowed are {', '.join(GAMES)}.")
    return GAMES[name]  # type: ignore[index]


def register_institution(game: str, institution: Institution) -> None:
    """Give a registered game one more institution (a role that sets one of its parameters)."""
    GAMES[game] = with_institution(get_game(game), institution)


def register_bias(game: str, bias: RewardBias) -> None:
    """Give a registered game one more reward bias (its strength a new parameter, 0 by default)."""
    GAMES[game] = with_bias(get_game(game), bias)


def register_metric(game: str, metric: Metric) -> None:
    """Give a registered game one more metric, computed from its tallies like the others."""
    spec = get_game(game)
    if metric.name in {m.name for m in spec.metrics}:
        raise ConfigError(f"the {game} game has a metric named {metric.name!r} already.")
    GAMES[game] = replace(spec, metrics=(*spec.metrics, metric))
