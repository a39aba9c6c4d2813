"""The registry of learner families: every `Learner` subclass with a `kind` in this package's modules, plus
any added with `register_learner`. A study config names a family by its kind (`q_learning` by default).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Mapping, Sequence
from typing import Any

from models.game import PayoffModel, Trait
from models.learners.base import Experience, Learner, Observation
from models.params import ConfigError, batch_values
from models.random import RandomStreams

__all__ = ["LEARNERS", "Experience", "Learner", "Observation", "check_learner", "make_learner",
           "register_learner", "resolve_learner"]  # fmt: skip

LEARNERS: dict[str, type[Learner]] = {}


def register_learner(cls: type[Learner]) -> type[Learner]:
    """Make a learner family available to study configs under its `kind` (usable as a class decorator)."""
    if not cls.kind:
        raise ConfigError(f"learner {cls.__name__} has no kind: set the name study configs use for it.")
    LEARNERS[cls.kind] = cls
    return cls


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        for _, cls in inspect.getmembers(loaded, inspect.isclass):
            if issubclass(cls, Learner) and cls.kind and cls.__module__ == loaded.__name__:
                register_learner(cls)


DEFAULT_KIND = "q_learning"
_discover()
LEARNERS = dict(sorted(LEARNERS.items(), key=lambda item: (item[0] != DEFAULT_KIND, item[0])))


def resolve_learner(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Check a learner config: `kind` picks the learner family, the rest are its parameters. A table named
    for a family (`[learners.researcher.evolution]`) holds parameters used only when that family plays, so
    that a study sweeping the family gives each its own."""
    values = dict(values)
    kind = values.pop("kind", DEFAULT_KIND)
    if kind not in LEARNERS:
        raise ConfigError(
            f"{where}.kind = {kind!r} is not a known learner: allowed are {', '.join(LEARNERS)}."
        )
    families = {name: values.pop(name) for name in list(values) if isinstance(values[name], dict)}
    unknown = sorted(set(families) - set(LEARNERS))
    if unknown:
        raise ConfigError(
            f"{where}.{unknown[0]} is a table but not a learner family: allowed are {', '.join(LEARNERS)}."
        )
    values.update(families.get(kind, {}))
    return {"kind": kind, **LEARNERS[kind].params.resolve(values, where)}


def make_learner(
    config: dict[str, Any] | list[dict[str, Any]],
    role: str,
    n_worlds: int,
    n_agents: int,
    n_actions: int,
    rng: RandomStreams,
    traits: Sequence[Sequence[Trait]] = (),
    payoff_model: PayoffModel | None = None,
    fields: dict[str, slice] | None = None,
) -> Learner:
    """Build one role's learner for a batch of worlds from a resolved config, shared or one per world;
    `traits` are the role's traits in each world, for a learner that acts on traits; `payoff_model` the
    role's payoffs as the game states them (None where it states none), for an opponent-aware learner;
    `fields` where the named parts of the role's observation lie (Role.layout), for a learner that reads
    them.

    Numeric parameters (learning rate, temperature, ...) may differ per world; the kind and settings
    that pick code paths (exploration, fixed probabilities) must be shared.
    """
    configs = config if isinstance(config, list) else [config] * n_worlds
    kinds = {c["kind"] for c in configs}
    if len(kinds) != 1:
        raise ConfigError(f"learners.{role}.kind differs between worlds of one batch ({sorted(kinds)}).")
    kind = kinds.pop()
    if kind not in LEARNERS:
        raise ConfigError(
            f"learners.{role}.kind = {kind!r} is not a known learner here: allowed are {', '.join(LEARNERS)} "
            "(a learner registered in another process is not registered here: see models/extensions.py)."
        )
    cls = LEARNERS[kind]
    params = batch_values(cls.params, configs, f"learners.{role}", rng.device)
    extra: dict[str, Any] = {}
    if cls.acts_on == "traits":
        _check_has_traits(cls, role, traits[0] if traits else ())
        extra["traits"] = traits
    if cls.needs_payoff_model:
        _check_has_payoffs(cls, role, payoff_model)
        extra["payoff_model"] = payoff_model
    _check_has_fields(cls, role, fields or {})
    learner = cls(params, role, n_worlds, n_agents, n_actions, rng, **extra)
    learner.fields = dict(fields or {})
    return learner


def _check_has_fields(cls: type[Learner], role: str, fields: Mapping[str, Any]) -> None:
    missing = [name for name in cls.needs_fields if name not in fields]
    if missing:
        raise ConfigError(
            f"learners.{role}.kind = {cls.kind!r} reads the observation's {', '.join(cls.needs_fields)}, and "
            f"the {role} role's observation has no {', '.join(missing)}: allowed are roles that observe "
            f"them ({cls.doc or cls.kind})."
        )


def _check_has_traits(cls: type[Learner], role: str, traits: Sequence[Trait]) -> None:
    if not traits:
        raise ConfigError(
            f"learners.{role}.kind = {cls.kind!r} acts on traits, and the {role} role has no traits with "
            "these game parameters: allowed is a role whose actions are traits (the publication game's "
            "researchers have them in study_model = 'effort')."
        )


def _check_has_payoffs(cls: type[Learner], role: str, payoff_model: PayoffModel | None) -> None:
    if payoff_model is None:
        from models.games import GAMES  # the registry, as it stands now (games import no learners)

        allowing = ", ".join(name for name, spec in GAMES.items() if spec.payoff_model is not None)
        raise ConfigError(
            f"learners.{role}.kind = {cls.kind!r} reasons with the game's payoffs, and this game states none "
            f"for its {role} role: allowed are the games that do ({allowing or 'none registered'})."
        )


def check_learner(
    config: dict[str, Any],
    role: str,
    n_agents: int,
    n_actions: int,
    traits: Sequence[Trait] = (),
    rounds: int | None = None,
    payoff_model: PayoffModel | None = None,
    fields: Mapping[str, Any] | None = None,
) -> None:
    """Refuse a learner config that cannot fit the game's agents, actions, traits, stated payoffs (the
    role's payoff model, None where the game states none) and named observation parts (`fields`), or a run
    of `rounds` rounds, before anything runs."""
    cls = LEARNERS[config["kind"]]
    _check_has_fields(cls, role, fields or {})
    cls.check(config, role, n_agents, n_actions)
    if cls.acts_on == "traits":
        _check_has_traits(cls, role, traits)
        cls.check_traits(config, role, traits)
    if cls.needs_payoff_model:
        _check_has_payoffs(cls, role, payoff_model)
    if rounds is not None:
        cls.check_rounds(config, role, rounds)
