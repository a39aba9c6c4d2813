"""Metrics of many rounds at once are the metrics of each round (simulate records them that way); the Gini
coefficient is the mean absolute difference's, whichever way it is computed."""

from __future__ import annotations

import pytest
import torch

from models.games import GAMES
from models.learners import resolve_learner
from models.metrics import compute, compute_rounds, gini
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


def pairwise_gini(values: list[float]) -> float:
    """The textbook Gini coefficient: the mean absolute difference over all ordered pairs, over twice the
    mean (NaN for no values or a zero total)."""
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return float("nan")
    return sum(abs(a - b) for a in values for b in values) / (2 * n * total)


@pytest.mark.parametrize(
    "kind", ["counts int32", "whole floats", "halves", "fractions", "many distinct whole numbers"]
)
def test_gini_is_the_mean_absolute_difference_by_counting_or_by_sorting(kind: str) -> None:
    # Whole numbers with few distinct values are counted, others sorted by their bits (models/metrics.py):
    # both against the definition, with and without a mask, rows of every kind of emptiness included.
    generator = torch.Generator().manual_seed(7)
    values = {
        "counts int32": torch.randint(0, 6, (9, 40), generator=generator, dtype=torch.int32),
        "whole floats": torch.randint(0, 30, (9, 40), generator=generator).float(),
        "halves": torch.randint(0, 30, (9, 40), generator=generator).float() / 2,
        "fractions": torch.rand(9, 40, generator=generator) * 5,
        "many distinct whole numbers": torch.randint(0, 10**6, (9, 40), generator=generator).double(),
    }[kind]
    values[0] = 0  # a zero total: undefined
    mask = torch.rand(9, 40, generator=generator) < 0.7
    mask[1] = False  # no entries: undefined
    for weights in (None, mask):
        got = gini(values, weights)
        keep = mask if weights is not None else torch.ones_like(mask)
        for row in range(9):
            kept = values[row][keep[row]].tolist()
            expected = pairwise_gini(kept)
            assert got[row].item() == pytest.approx(expected, rel=1e-6, nan_ok=True), (row, weights is None)


def test_gini_refuses_a_negative_value_but_not_a_masked_out_one() -> None:
    values = torch.tensor([[3.0, -1.0, 1.0], [2.0, 2.0, -0.5]])
    kept = torch.tensor([[True, False, True], [True, True, False]])
    assert gini(values, kept).tolist() == pytest.approx([0.25, 0.0])
    for weights in (None, torch.ones_like(kept)):
        with pytest.raises(ValueError, match=r"gini of a negative value \(-1.0\): allowed are values >= 0"):
            gini(values, weights)
    assert gini(torch.zeros(3, 0)).isnan().all() and gini(torch.zeros(3, 0)).shape == (3,)  # no entries
