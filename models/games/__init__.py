"""The registry of games: every package in this folder that defines `GAME`, a models.game.GameSpec.

A new game is a new package here; the CLI, the studies, the bench and the explorer find it through `GAMES`.
"""

from __future__ import annotations

import importlib
import pkgutil

from models.game import GameSpec
from models.institutions import Institution, with_institution
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


def get_game(name: object) -> GameSpec:
    if name not in GAMES:
        raise ConfigError(f"study.game = {name!r} is not a known game: allowed are {', '.join(GAMES)}.")
    return GAMES[name]  # type: ignore[index]


def register_institution(game: str, institution: Institution) -> None:
    """Give a registered game one more institution (a role that sets one of its parameters)."""
    GAMES[game] = with_institution(get_game(game), institution)
