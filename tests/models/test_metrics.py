"""Metrics of many rounds at once are the metrics of each round (simulate records them that way)."""

from __future__ import annotations

import pytest
import torch

from models.games import GAMES
from models.learners import resolve_learner
from models.metrics import compute, compute_rounds
from models.simulate import Batch, build_batch


def batch(game: str, size: dict, n_worlds: int) -> Batch:
    """`n_worlds` worlds of a game at default parameters but `size`, every role's learner the default."""
    spec = GAMES[game]
    params = spec.params.resolve(size)
    learners = {role: resolve_learner({}, role) for role in spec.role_shapes(params)}
    return build_batch(game, [params] * n_worlds, learners, seeds=list(range(1, n_worlds + 1)))


@pytest.mark.parametrize("game", ["publication", "election"])
def test_metrics_of_joined_rounds_equal_each_rounds_metrics(game: str) -> None:
    spec = GAMES[game]
    size = {"n_researchers": 30} if game == "publication" else {"n_voters": 25, "rule": "borda"}
    played = batch(game, size, 3)
    tallies = [played.round().tallies for _ in range(12)]
    one_by_one = torch.stack([compute(spec.metrics, t) for t in tallies])
    at_once = compute_rounds(spec.metrics, tallies)
    assert at_once.shape == (12, 3, len(spec.metrics))
    torch.testing.assert_close(at_once, one_by_one, equal_nan=True, rtol=0, atol=0)


@pytest.mark.parametrize("game", ["publication", "election"])
def test_tallies_own_their_memory(game: str) -> None:
    """simulate() keeps every recorded round's tallies: a view into a round-sized tensor would keep that
    whole tensor alive (it once did, and recording cost a sixth of a study's time)."""
    size = {"n_researchers": 500} if game == "publication" else {"n_voters": 500}
    tallies = batch(game, size, 2).round().tallies
    for name, value in vars(tallies).items():
        if isinstance(value, torch.Tensor):
            assert value.untyped_storage().nbytes() == value.nbytes, name
