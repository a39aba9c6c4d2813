"""The learning loop: every role's learner acts, the engine steps every world, learners learn.

One call runs a whole batch of worlds (design points x replications) for a number of rounds and returns
the metric time series, shape (recorded rounds, worlds, metrics). Studies, tests and benchmarks all use it.
`play` is the same loop returning the recorded rounds' tallies, for callers that time the metrics apart;
`build_batch` and `Batch.round` are its parts, for callers that step rounds themselves (the benchmarks).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from models import compile_cache
from models.fusion import compiling_works, fusing, worth_fusing
from models.games import get_game
from models.learners import BatchedLearner, make_learner
from models.memory import keep_freed_memory
from models.metrics import compute_rounds
from models.rounds import RoundResult


@dataclass
class Batch:
    """A batch of worlds ready to play: the game's engine and one batched learner per role."""

    game: str
    engine: Any
    learners: dict[str, BatchedLearner]
    fused: bool = False  # run the kernels compiled (models.fusion): faster for large batches, same numbers
    kept: bool = field(default=False, init=False, repr=False)  # its kernels handed to the compile cache
    # Each role's actions for the next round, drawn as its learners learned from the last one.
    next_actions: dict[str, torch.Tensor] = field(default_factory=dict, init=False, repr=False)

    @property
    def agents_per_world(self) -> int:
        return sum(n_agents for n_agents, _ in self.engine.roles.values())

    @property
    def agents_per_round(self) -> int:
        return self.engine.n_worlds * self.agents_per_world

    def round(self) -> RoundResult:
        """One round of every world: every role acts, the engine steps, every role learns.

        A role learns and draws its next round's actions in one call (BatchedLearner.learn_and_act), so
        that its learner reads its table once a round; the actions are the same as if drawn at the next
        round's start, since nothing changes the learners in between but their rounds."""
        t = self.engine.round_index
        with torch.inference_mode(), fusing(self.fused):
            actions = self.next_actions or {role: learner.act(t) for role, learner in self.learners.items()}
            result = self.engine.step(actions)
            rewards, credit = result.rewards, result.credit
            self.next_actions = {
                role: learner.learn_and_act(actions[role], rewards[role], credit.get(role), t + 1)
                for role, learner in self.learners.items()
            }
        if self.fused and not self.kept:  # every kernel of a round is compiled by its end
            if compiling_works():
                compile_cache.save(self.game, self.engine.device)
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
    whose input was replaced (6 s more in each process)."""
    keep_freed_memory()
    with torch.inference_mode():
        engine = get_game(game).engine(worlds, seeds, device=device)
        return Batch(
            game,
            engine,
            {
                role: make_learner(learners[role], role, len(worlds), n_agents, n_actions, engine.rng)
                for role, (n_agents, n_actions) in engine.roles.items()
            },
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
    work pays for compiling (or loading) its kernels is fused (models.fusion); that changes its speed, never
    its numbers.
    """
    batch = build_batch(game, worlds, learners, seeds, device)
    device = batch.engine.device
    batch.fused = worth_fusing(batch.agents_per_round, rounds, device, compile_cache.holds(game, device))
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
