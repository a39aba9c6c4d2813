"""Condorcet efficiencies of the batched rules against Merrill (1984).

Merrill, "A Comparison of Efficiency of Multicandidate Electoral Systems", AJPS 28(1), 23-48. The
reference numbers are in data/condorcet_efficiency_reference.csv with their provenance: Table 1 (random
society, 25 voters) exact, and Figures 2.c/2.d (2-D spatial, 201 voters) as traced from the plots.

Tolerances: for Table 1, 0.035 (our Monte Carlo error is about 0.008 at 4,000 elections and Merrill's,
from fewer elections, is larger); for the traced figures, 0.07 (tracing adds 1-3 points, and independent
reruns of those figures differ from them by up to 7 points). The traced figures are used for 3 and 5
candidates only: at 7, the traced plurality value (0.50) lies 6-8 points above our estimate across seeds,
while the same code matches the exact Table 1 at 7 candidates within 0.025, so we do not trust that
reading.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
import torch

from models.games.election.voting import condorcet_winner, elect

REFERENCE = pl.read_csv(
    Path(__file__).resolve().parents[2] / "data" / "condorcet_efficiency_reference.csv", comment_prefix="#"
)
OUR_RULES = ("plurality", "runoff", "instant_runoff", "approval", "borda")
CORRELATED = torch.linalg.cholesky(torch.tensor([[1.0, 0.5], [0.5, 1.0]]))


def efficiencies(utilities: torch.Tensor, seed: int) -> dict[str, float]:
    """Share of elections with a Condorcet winner in which each rule elects it."""
    worlds, voters, candidates = utilities.shape
    turnout = torch.ones(worlds, voters, dtype=torch.bool)
    winner = condorcet_winner(utilities, turnout)
    has = winner >= 0
    tie_break = torch.rand(worlds, candidates, generator=torch.Generator().manual_seed(seed))
    return {
        rule: ((elect(rule, utilities, turnout, tie_break).winner == winner) & has).sum().item()
        / has.sum().item()
        for rule in (*OUR_RULES, "condorcet")
    }


def electorate(distribution: str, candidates: int, worlds: int, seed: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    if distribution == "random_society":  # iid uniform utilities, no issue space
        return torch.rand(worlds, 25, candidates, generator=generator)
    spread = 1.0 if distribution.endswith("disp1.0") else 0.5
    voters = torch.randn(worlds, 201, 2, generator=generator) @ CORRELATED.T
    platforms = spread * (torch.randn(worlds, candidates, 2, generator=generator) @ CORRELATED.T)
    return -torch.cdist(voters, platforms)  # utility falls linearly with distance


CASES = [("random_society", candidates, 4000, 0.035) for candidates in (3, 4, 5, 7, 10)] + [
    (distribution, candidates, 2000, 0.07)
    for distribution in ("normal_corr0.5_disp1.0", "normal_corr0.5_disp0.5")
    for candidates in (3, 5)
]


@pytest.mark.parametrize(("distribution", "candidates", "worlds", "tolerance"), CASES)
def test_condorcet_efficiency_matches_merrill_1984(distribution, candidates, worlds, tolerance):
    ours = efficiencies(electorate(distribution, candidates, worlds, seed=candidates), seed=candidates)
    published = REFERENCE.filter(
        (pl.col("distribution") == distribution) & (pl.col("candidates") == candidates)
    )
    for rule in OUR_RULES:
        expected = published.filter(pl.col("rule") == rule)["condorcet_efficiency"].item()
        assert abs(ours[rule] - expected) < tolerance, (rule, ours[rule], expected)
    # The ordering the literature reports: a Condorcet method always, Borda and runoffs above plurality.
    assert ours["condorcet"] == 1.0
    assert ours["borda"] > ours["plurality"] and ours["instant_runoff"] > ours["plurality"]
    assert ours["runoff"] > ours["plurality"]
