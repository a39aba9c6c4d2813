"""Learners: batched policies that act for every agent of a role in every world, and learn from payoffs.

A learner never sees the engine's internals: it gives actions and gets rewards (and, where the game has
delayed consequences, credit for earlier actions), exactly as a PettingZoo agent would.
"""

from __future__ import annotations

from typing import Any

from models.learners.tabular import (
    FIXED_ACTIONS_PARAMS,
    FIXED_PARAMS,
    Q_LEARNING_PARAMS,
    BatchedLearner,
    FixedActions,
    FixedPolicy,
    TabularQLearner,
    check_actions,
    check_probabilities,
)
from models.params import ConfigError, ParamSpace, batch_values
from models.random import RandomStreams

LEARNERS: dict[str, tuple[ParamSpace, type]] = {
    "q_learning": (Q_LEARNING_PARAMS, TabularQLearner),
    "fixed": (FIXED_PARAMS, FixedPolicy),
    "fixed_actions": (FIXED_ACTIONS_PARAMS, FixedActions),
}


def resolve_learner(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Check a learner config: `kind` picks the learner, the rest are its parameters."""
    values = dict(values)
    kind = values.pop("kind", "q_learning")
    if kind not in LEARNERS:
        raise ConfigError(
            f"{where}.kind = {kind!r} is not a known learner: allowed are {', '.join(LEARNERS)}."
        )
    space, _ = LEARNERS[kind]
    return {"kind": kind, **space.resolve(values, where)}


def make_learner(
    config: dict[str, Any] | list[dict[str, Any]],
    role: str,
    n_worlds: int,
    n_agents: int,
    n_actions: int,
    rng: RandomStreams,
) -> BatchedLearner:
    """Build one role's learner for a batch of worlds from a resolved config, shared or one per world.

    Numeric parameters (learning rate, temperature, ...) may differ per world; the kind and settings
    that pick code paths (exploration, fixed probabilities) must be shared.
    """
    configs = config if isinstance(config, list) else [config] * n_worlds
    kinds = {c["kind"] for c in configs}
    if len(kinds) != 1:
        raise ConfigError(f"learners.{role}.kind differs between worlds of one batch ({sorted(kinds)}).")
    space, cls = LEARNERS[kinds.pop()]
    params = batch_values(space, configs, f"learners.{role}", rng.device)
    return cls(params, role, n_worlds, n_agents, n_actions, rng)


def check_learner(config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
    """Refuse a learner config that cannot fit the game's agents and actions, before anything runs."""
    if config["kind"] == "fixed":
        check_probabilities(config["probabilities"], role, n_actions)
    elif config["kind"] == "fixed_actions":
        check_actions(config["actions"], role, n_agents, n_actions)
