"""Reward biases: a named bias in one role's rewards, with its strength a game parameter.

A bias pays each agent of its role `strength x bonus` on top of the game's payoff, where the bonus is a
function of the round (the actions played and the game's result) and the strength a per-world parameter of
the game, 0 (off) by default, so that registering a bias changes no existing study, and studies can sweep
it like any other parameter (or an institution can set it). The game's own rules (publication bias, media
attention, donors) live in its rules; this is how a study adds one without touching them: a new file plus
`models.games.register_bias`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch

from models.game import Game, RoundResult
from models.params import ConfigError, Param, ParamSpace


@dataclass(frozen=True)
class RewardBias:
    """Pays each agent of `role` strength x bonus(actions, result, game), (worlds, agents), every round."""

    parameter: str  # the game parameter that sets its strength
    param: Param  # its default (0: off), range and meaning
    role: str
    bonus: Callable[[Mapping[str, torch.Tensor], RoundResult, Game], torch.Tensor]


def with_bias(spec: Any, bias: RewardBias) -> Any:
    """The game spec with one more reward bias, its strength a new parameter of the game."""
    if bias.parameter in spec.params.params:
        raise ConfigError(f"the {spec.name} game has a parameter named {bias.parameter!r} already.")
    if bias.role not in spec.role_names:
        raise ConfigError(
            f"reward bias {bias.parameter!r} is for role {bias.role!r}: the {spec.name} game's roles are "
            f"{', '.join(spec.role_names)}."
        )
    if bias.param.default != 0 or not bias.param.varies_per_world:
        raise ConfigError(f"reward bias {bias.parameter!r}: its strength must be a number, 0 by default.")
    params = ParamSpace(
        spec.params.name, {**spec.params.params, bias.parameter: bias.param}, spec.params.checks
    )
    return replace(spec, params=params, biases=(*spec.biases, bias))


def pay_biases(spec: Any, game: Game, actions: Mapping[str, torch.Tensor], result: RoundResult) -> None:
    """After a round: add each bias's pay to its role's payoffs, in worlds where its strength is not 0."""
    for bias in spec.biases:
        strength = game.p[bias.parameter].view(-1, 1)
        if bool((strength != 0).any()):
            result.payoffs[bias.role] = result.payoffs[bias.role] + strength * bias.bonus(
                actions, result, game
            )
