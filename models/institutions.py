"""Institutions: roles whose actions set named per-world parameters of their game.

A journal setting its publication policy, a funder its grant rule, an electoral body its voting rule: each
is one agent per world whose action picks a value of one game parameter, which the game's rules then read
as they read any parameter. Where its `switch` parameter is false (the default), the institution is fixed:
the parameter keeps the study's value and the institution's actions change nothing. It is paid its
`objective`, a function of the round's tallies (a social objective: voter welfare, say).

A game lists its institutions in its GameSpec; `register_institution` adds one to a registered game, so a
new institution is a new file plus that one line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import torch

from models.game import Game, Role, RoundResult
from models.params import ConfigError


@dataclass(frozen=True)
class Institution:
    """A role (one agent per world) whose action a sets the game parameter `parameter` to `choices[a]`."""

    role: str
    doc: str
    parameter: str
    choices: tuple[Any, ...]
    objective: Callable[[Any], torch.Tensor]  # its payoff per world, (worlds,), from the round's tallies
    switch: str | None = None  # a true/false game parameter: it sets `parameter` only where that is true
    observation: Callable[[Mapping[str, Any]], int] = lambda params: 0
    fields: Callable[[Mapping[str, Any]], dict[str, int]] = lambda params: {}  # named parts (Role.fields)

    def as_role(self) -> Role:
        return Role(
            self.role,
            self.doc,
            lambda params: 1,
            lambda params: len(self.choices),
            self.observation,
            fields=self.fields,
            optional=True,
        )

    def acts(self, params: Mapping[str, Any]) -> bool:
        """Whether its actions set the parameter in a batch with these parameters (the switch is shared)."""
        return self.switch is None or bool(params[self.switch])

    def set_parameter(self, game: Game, actions: torch.Tensor) -> None:
        """Write the chosen values into the game's per-world parameters before its step: a per-world
        number becomes a (worlds, 1, 1) tensor, a named choice a (worlds,) tensor of indices into the
        parameter's choices."""
        chosen = actions.to(game.device).long()[:, 0]
        current = game.p[self.parameter]
        if isinstance(current, torch.Tensor) and current.is_floating_point():
            values = torch.tensor(self.choices, dtype=current.dtype, device=game.device)
            game.p[self.parameter] = values[chosen].view(-1, 1, 1)
        else:
            game.p[self.parameter] = chosen
        # A shorthand sets its parts (publish_null_prob sets both negative publication probabilities).
        space = getattr(game, "params", None)
        for name, param in getattr(space, "params", {}).items():
            if param.same_as == self.parameter:
                game.p[name] = game.p[self.parameter]


def apply_institutions(spec: Any, game: Game, actions: Mapping[str, torch.Tensor]) -> None:
    """Before a round: every acting institution sets its parameter in every world."""
    for institution in spec.institutions:
        if institution.acts(game.p):
            institution.set_parameter(game, actions[institution.role])


def pay_institutions(spec: Any, result: RoundResult) -> None:
    """After a round: every institution is paid its objective, (worlds, 1)."""
    for institution in spec.institutions:
        result.payoffs[institution.role] = institution.objective(result.tallies).view(-1, 1)


def check_institution(spec: Any, institution: Institution) -> None:
    """Refuse an institution that cannot act on the game: an unknown parameter, choices the parameter does
    not allow, or a role name already taken."""
    param = spec.params.params.get(institution.parameter)
    if param is None:
        raise ConfigError(
            f"institution {institution.role!r} sets {institution.parameter!r}, which is not a parameter of "
            f"the {spec.name} game: allowed are {', '.join(spec.params.params)}."
        )
    if param.choices is not None:
        if tuple(institution.choices) != tuple(param.choices)[: len(institution.choices)]:
            raise ConfigError(
                f"institution {institution.role!r}: its choices must be the first of {param.choices!r}, "
                "in that order."
            )
    elif not param.varies_per_world:
        raise ConfigError(
            f"institution {institution.role!r} sets {institution.parameter!r}, which is shared by a batch's "
            "worlds: an institution sets per-world numbers or named choices."
        )
    else:
        for value in institution.choices:
            param.check(f"institution {institution.role}.choices", value)
    if institution.role in spec.role_names:
        raise ConfigError(f"the {spec.name} game has a role named {institution.role!r} already.")


def with_institution(spec: Any, institution: Institution) -> Any:
    """The game spec with one more institution."""
    check_institution(spec, institution)
    return replace(spec, institutions=(*spec.institutions, institution))
