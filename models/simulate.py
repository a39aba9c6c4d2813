"""The learning loop: every role's learner acts, institutions set their parameters, the game steps every
world, learners learn.

One call runs a whole batch of worlds (design points x replications) for a number of rounds and returns
the metric time series, shape (recorded rounds, worlds, metrics). Studies, tests and benchmarks all use it.
`play` is the same loop returning the recorded rounds' tallies, for callers that time the metrics apart;
`build_batch` and `Batch.round` are its parts, for callers that step rounds themselves (the benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch

from models import speed
from models.biases import pay_biases
from models.game import Game, GameSpec, RoundResult
from models.games import get_game
from models.institutions import apply_institutions, pay_institutions
from models.learners import Experience, Learner, Observation, make_learner, resolve_learner
from models.memory import keep_freed_memory
from models.metrics import compute_rounds
from models.params import ConfigError


def play_round(spec: GameSpec, game: Game, actions: dict[str, torch.Tensor]) -> RoundResult:
    """One round of a batch given every role's actions: the institutions set their parameters, the
    game's step, the institutions' pay, the reward biases' pay. The PettingZoo envs step through this too."""
    apply_institutions(spec, game, actions)
    result = game.step(actions)
    pay_institutions(spec, result)
    pay_biases(spec, game, actions, result)
    return result


def observation(game: Game, role: str, round_index: int) -> Observation:
    """What a role's agents see before acting in a round: the game's observation of its current state,
    made only if a learner asks."""
    return Observation(round_index, lambda: game.observe(role))


@dataclass
class Batch:
    """A batch of worlds ready to play: the game's engine and one batched learner per role."""

    spec: GameSpec
    engine: Any
    learners: dict[str, Learner]
    roles: dict[str, tuple[int, int]]  # (agents, actions) per role, the game's and its institutions'
    fused: bool = False  # run the kernels compiled (models.speed): faster for large batches, same numbers
    kept: bool = field(default=False, init=False, repr=False)  # its kernels handed to the compile cache
    # Each role's actions for the next round, drawn as its learners learned from the last one.
    next_actions: dict[str, torch.Tensor] = field(default_factory=dict, init=False, repr=False)

    @property
    def game(self) -> str:
        return self.spec.name

    @property
    def agents_per_world(self) -> int:
        return sum(n_agents for n_agents, _ in self.roles.values())

    @property
    def agents_per_round(self) -> int:
        return self.engine.n_worlds * self.agents_per_world

    @property
    def on_kernels(self) -> bool:
        """Whether the batch runs on one of its game's accelerated engines, whose kernels fusing compiles and
        the compile cache keeps; parameters only the reference rules implement run those, with nothing to
        fuse that a cache entry would stand for."""
        return type(self.engine) is not self.spec.rules

    @property
    def kernels(self) -> str:
        """The name its engine's compiled kernels are kept under in the compile cache: the engine's class, or
        its kernels_name where it has one (models.game.BatchOfWorlds)."""
        name = getattr(self.engine, "kernels_name", None)
        if name is None:
            return type(self.engine).__name__
        return name({role: learner.acts_on for role, learner in self.learners.items()})

    def fuses(self, rounds: int) -> bool:
        """Whether to fuse this batch for a run of `rounds` rounds: where it runs on an accelerated engine
        and fusing pays (models.speed.should_fuse, with the engine's `fusing_cost`)."""
        cost = getattr(type(self.engine), "fusing_cost", 1.0)
        return self.on_kernels and speed.should_fuse(
            self.kernels, self.agents_per_round, rounds, self.engine.device, cost
        )

    def _eager_if_optional(
        self, role: str, call: Callable[[Any], torch.Tensor], argument: Any
    ) -> torch.Tensor:
        """A learner's call, eager for an optional role (an institution, one agent or a few per world):
        compiling its kernels for its shapes would cost seconds and save nothing."""
        with speed.fusing(False) if role in self.spec.optional_roles else nullcontext():
            return call(argument)

    def _found_newcomers(self) -> None:
        """Tell a game that keeps something per agent (models.game: an engine's optional `births`) which
        agents were just replaced by new ones (an evolving lab's offspring), so that it starts them afresh."""
        births = getattr(self.engine, "births", None)
        if births is None:
            return
        for role, learner in self.learners.items():
            newborn = learner.births()
            if newborn is not None:
                births(role, newborn)

    def _first_actions(self) -> dict[str, torch.Tensor]:
        """Each role's actions for a round no learner has learned before: drawn from its observation."""
        t = self.engine.round_index
        return {
            role: self._eager_if_optional(role, learner.act, observation(self.engine, role, t))
            for role, learner in self.learners.items()
        }

    def pending_actions(self) -> dict[str, torch.Tensor]:
        """Each role's actions in the next round, before it is played (a replay shows them): those the
        learners drew as they learned from the last round, or before the first round, drawn now, as the
        round would draw them. Reading them changes nothing that follows."""
        if not self.next_actions:
            with torch.inference_mode(), speed.fusing(self.fused):
                self.next_actions = self._first_actions()
        return self.next_actions

    def round(self) -> RoundResult:
        """One round of every world: every role acts, the game steps, every role learns.

        A role learns and draws its next round's actions in one call (Learner.learn_and_act), so that a
        learner can read its state once a round; the actions are the same as if drawn at the next round's
        start, since nothing changes the learners in between but their rounds."""
        engine, t = self.engine, self.engine.round_index
        with torch.inference_mode(), speed.fusing(self.fused):
            actions = self.next_actions or self._first_actions()
            result = play_round(self.spec, engine, actions)
            self.next_actions = {
                role: self._eager_if_optional(
                    role,
                    learner.learn_and_act,
                    Experience(
                        t,
                        actions[role],
                        result.payoffs[role],
                        result.credit.get(role),
                        Observation(t + 1, lambda role=role: result.observations[role]),
                    ),
                )
                for role, learner in self.learners.items()
            }
            self._found_newcomers()
        if self.fused and not self.kept:  # every kernel of a round is compiled by its end
            speed.keep_compiled(self.kernels, engine.device)
            self.kept = True
        return result


def build_batch(
    game: str,
    worlds: list[dict[str, Any]],
    learners: dict[str, dict[str, Any] | list[dict[str, Any]]],
    seeds: list[int],
    device: str = "cpu",
) -> Batch:
    """The engine and learners of a batch (see play for the arguments), in round 0.

    Built, as its rounds run, in inference mode: a kernel's output that replaces a state tensor then has
    the dispatch keys of the tensor it replaces, where otherwise torch.compile recompiles every kernel
    whose input was replaced."""
    keep_freed_memory()
    spec = get_game(game)
    roles = spec.role_shapes(worlds[0])
    learners = {
        **{role: resolve_learner({}, f"learners.{role}") for role in spec.optional_roles},
        **learners,
    }
    missing = sorted(set(roles) - set(learners))
    if missing:
        raise ConfigError(
            f"the {game} game's role(s) {', '.join(missing)} have no learner config: a batch needs one per "
            f"role ({', '.join(roles)}); a part registered in another process is not registered here (see "
            "models/extensions.py)."
        )
    fields = spec.role_fields(worlds[0])
    with torch.inference_mode():
        engine = spec.build(worlds, seeds, device)
        return Batch(
            spec,
            engine,
            {
                role: make_learner(
                    learners[role],
                    role,
                    len(worlds),
                    n_agents,
                    n_actions,
                    engine.rng,
                    traits=[spec.role_traits(world)[role] for world in worlds],
                    payoff_model=spec.payoffs(worlds, role, engine.device),
                    fields=fields[role],
                )
                for role, (n_agents, n_actions) in roles.items()
            },
            roles,
        )


def play(
    game: str,
    worlds: list[dict[str, Any]],
    learners: dict[str, dict[str, Any] | list[dict[str, Any]]],
    seeds: list[int],
    rounds: int,
    device: str = "cpu",
    record_every: int = 1,
    on_round: Callable[[int], None] | None = None,
) -> list[Any]:
    """Run `rounds` rounds of a batch of worlds; return the tallies of rounds 0, record_every, ...

    `worlds` are resolved game parameters (one dict per world), `learners` a resolved learner config per
    role (one shared by every world, or a list with one per world), `seeds` one per world. A batch whose
    work pays for compiling (or loading) its kernels is fused (models.speed), where it runs on the game's
    accelerated engine; that changes its speed, never its numbers.
    """
    batch = build_batch(game, worlds, learners, seeds, device)
    batch.fused = batch.fuses(rounds)
    recorded = []
    with torch.inference_mode():
        for t in range(rounds):
            result = batch.round()
            if t % record_every == 0:
                recorded.append(result.tallies)
            if on_round is not None:
                on_round(t)
    return recorded


def simulate(
    game: str,
    worlds: list[dict[str, Any]],
    learners: dict[str, dict[str, Any] | list[dict[str, Any]]],
    seeds: list[int],
    rounds: int,
    device: str = "cpu",
    record_every: int = 1,
    on_round: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """Run `rounds` rounds of a batch of worlds; return metrics at rounds 0, record_every, ...

    The metrics are computed once, from the recorded rounds' tallies (see compute_rounds).
    """
    recorded = play(game, worlds, learners, seeds, rounds, device, record_every, on_round)
    return compute_rounds(get_game(game).metrics, recorded).cpu()
