"""Metrics of many rounds at once are the metrics of each round (simulate records them that way)."""

from __future__ import annotations

import pytest
import torch

from models.games import GAMES
from models.learners import make_learner, resolve_learner
from models.metrics import compute, compute_rounds


@pytest.mark.parametrize("game", ["publication", "election"])
def test_metrics_of_joined_rounds_equal_each_rounds_metrics(game: str) -> None:
    spec = GAMES[game]
    size = {"n_researchers": 30} if game == "publication" else {"n_voters": 25, "rule": "borda"}
    engine = spec.engine([spec.params.resolve(size)] * 3, seeds=[1, 2, 3])
    agents = {
        role: make_learner(resolve_learner({}, role), role, 3, n, actions, engine.rng)
        for role, (n, actions) in engine.roles.items()
    }
    tallies = []
    for t in range(12):
        result = engine.step({role: learner.act(t) for role, learner in agents.items()})
        tallies.append(result.tallies)
    one_by_one = torch.stack([compute(spec.metrics, t) for t in tallies])
    at_once = compute_rounds(spec.metrics, tallies)
    assert at_once.shape == (12, 3, len(spec.metrics))
    torch.testing.assert_close(at_once, one_by_one, equal_nan=True, rtol=0, atol=0)


@pytest.mark.parametrize("game", ["publication", "election"])
def test_tallies_own_their_memory(game: str) -> None:
    """simulate() keeps every recorded round's tallies: a view into a round-sized tensor would keep that
    whole tensor alive (it once did, and recording cost a sixth of a study's time)."""
    spec = GAMES[game]
    size = {"n_researchers": 500} if game == "publication" else {"n_voters": 500}
    engine = spec.engine([spec.params.resolve(size)] * 2, seeds=[1, 2])
    agents = {
        role: make_learner(resolve_learner({}, role), role, 2, n, actions, engine.rng)
        for role, (n, actions) in engine.roles.items()
    }
    tallies = engine.step({role: learner.act(0) for role, learner in agents.items()}).tallies
    for name, value in vars(tallies).items():
        if isinstance(value, torch.Tensor):
            assert value.untyped_storage().nbytes() == value.nbytes, name
