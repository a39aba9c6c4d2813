"""Opponent-aware learners on games with known answers (the matrix game, models/games/matrix/).

Fictitious play (models/learners/fictitious_play.py):
- matching pennies, one agent a role, 32 worlds (seeds 0-31), 2,000 rounds: each role's empirical frequency
  of action 0 over the run is within 0.03 of 1/2 in every world (Robinson 1951: fictitious play converges
  to the equilibrium of a zero-sum game; measured at most 0.017); rock-paper-scissors, 3,000 rounds: within
  0.03 of 1/3 (measured 0.013). Smooth fictitious play at temperature 0.1: within 0.05 (its own draws add
  sampling noise of sd 0.011 per world; measured 0.026).
- the coordination game, 64 worlds of one and of 50 agents a role, 300 rounds: in the last 50 rounds every
  world plays one pure equilibrium (both roles all on the same action, the same every round), both
  equilibria occurring (the first round's ties are broken at random).
- against a fixed opponent mixing (0.8, 0.2) in matching pennies: exact play matches action 0 from the
  second round on; the logit response at temperature 1 plays it with 1 / (1 + e^-1.2) = 0.768 (500 agents
  x 4 worlds x 200 rounds: within 0.01; sd 0.0015).

Level-k (models/learners/level_k.py; Stahl & Wilson 1995, Nagel 1995): exact answers, computed by hand in
the tests' docstrings; level 0 uniform is checked within 0.02 of 1/2 over 40,000 draws (sd 0.0025).
Runs in about 10 s on 2 cores.
"""

from __future__ import annotations

import math

import pytest
import torch

from models.games import GAMES
from models.learners import resolve_learner
from models.params import ConfigError
from models.simulate import simulate

SPEC = GAMES["matrix"]
INDEX = {metric.name: i for i, metric in enumerate(SPEC.metrics)}
FICTITIOUS_PLAY = {"kind": "fictitious_play"}


def play(game: dict, row: dict, column: dict, worlds: int, rounds: int, n_agents: int = 1) -> torch.Tensor:
    """Metrics (rounds, worlds, metrics) of `worlds` worlds (seeds 0, 1, ...) of the matrix game."""
    params = SPEC.params.resolve({"n_agents": n_agents, **game})
    learners = {
        "row": resolve_learner(row, "learners.row"),
        "column": resolve_learner(column, "learners.column"),
    }
    return simulate("matrix", [params] * worlds, learners, list(range(worlds)), rounds)


def series(metrics: torch.Tensor, name: str) -> torch.Tensor:
    return metrics[:, :, INDEX[name]]


# --- Fictitious play -------------------------------------------------------------------------------------


def test_fictitious_play_converges_to_the_mixed_equilibrium_of_matching_pennies() -> None:
    metrics = play({"matrix": "matching_pennies"}, FICTITIOUS_PLAY, FICTITIOUS_PLAY, worlds=32, rounds=2_000)
    for role in ("row", "column"):
        empirical = series(metrics, f"{role}_share_0").mean(0)  # each world's frequency over the run
        assert (empirical - 0.5).abs().max() < 0.03, role
        early = series(metrics, f"{role}_share_0")[:100].mean(0)
        assert (empirical - 0.5).abs().mean() < (early - 0.5).abs().mean()  # it converges, not starts there


def test_fictitious_play_converges_in_rock_paper_scissors() -> None:
    metrics = play(
        {"matrix": "rock_paper_scissors"}, FICTITIOUS_PLAY, FICTITIOUS_PLAY, worlds=32, rounds=3_000
    )
    for role in ("row", "column"):
        for action in range(3):
            empirical = series(metrics, f"{role}_share_{action}").mean(0)
            assert (empirical - 1 / 3).abs().max() < 0.03, (role, action)


def test_smooth_fictitious_play_converges_in_matching_pennies() -> None:
    smooth = {"kind": "fictitious_play", "smooth": 0.1}
    metrics = play({"matrix": "matching_pennies"}, smooth, smooth, worlds=32, rounds=2_000)
    for role in ("row", "column"):
        assert (series(metrics, f"{role}_share_0").mean(0) - 0.5).abs().max() < 0.05, role


@pytest.mark.parametrize("n_agents", [1, 50])
def test_fictitious_play_settles_on_a_pure_equilibrium_of_the_coordination_game(n_agents: int) -> None:
    metrics = play({"matrix": "coordination"}, FICTITIOUS_PLAY, FICTITIOUS_PLAY, 64, 300, n_agents)
    row, column = series(metrics, "row_share_0")[-50:], series(metrics, "column_share_0")[-50:]
    assert ((row == 0) | (row == 1)).all()  # every row player on one action
    assert torch.equal(row, column)  # the column players on the same one
    assert (row == row[0]).all()  # and it stays there
    assert 0 < row[0].sum() < 64  # both equilibria are reached, in different worlds


def test_fictitious_play_best_responds_to_a_fixed_mix() -> None:
    """Matching pennies against a column mixing (0.8, 0.2): u(0) = 0.8 - 0.2 = 0.6 = -u(1). Exact play
    matches action 0 once it has seen enough; the logit response at temperature 1 plays it with
    1 / (1 + exp(-1.2)); `observes = "population"` counts the column's shares, the same beliefs here."""
    fixed = {"kind": "fixed", "probabilities": [0.8, 0.2]}
    exact = play({"matrix": "matching_pennies"}, FICTITIOUS_PLAY, fixed, worlds=4, rounds=200, n_agents=500)
    assert (series(exact, "row_share_0")[20:] > 0.99).all()
    for observes in ("opponent", "population"):
        smooth = {"kind": "fictitious_play", "smooth": 1.0, "observes": observes}
        metrics = play({"matrix": "matching_pennies"}, smooth, fixed, worlds=4, rounds=200, n_agents=500)
        share = series(metrics, "row_share_0")[100:].mean().item()
        assert share == pytest.approx(1 / (1 + math.exp(-1.2)), abs=0.01), observes


def test_initial_weight_slows_early_beliefs() -> None:
    """A prior of 1,000 pseudo-counts of each action keeps the belief near uniform for the first rounds:
    against the (0.8, 0.2) column, the smooth response stays near 1/2 for 20 rounds, where without a prior
    it reaches 0.77 at once."""
    fixed = {"kind": "fixed", "probabilities": [0.8, 0.2]}
    slow = {"kind": "fictitious_play", "smooth": 1.0, "initial_weight": 1_000.0}
    metrics = play({"matrix": "matching_pennies"}, slow, fixed, worlds=4, rounds=20, n_agents=500)
    assert series(metrics, "row_share_0")[1:].mean().item() == pytest.approx(0.5, abs=0.02)


def test_a_world_plays_the_same_alone_as_in_a_batch() -> None:
    smooth = {"kind": "fictitious_play", "smooth": 0.2}
    level = {"kind": "level_k", "depth": 2, "level0": "population", "smooth": 0.5}
    together = play({"matrix": "stag_hunt"}, smooth, level, worlds=3, rounds=50, n_agents=7)
    params = SPEC.params.resolve({"n_agents": 7, "matrix": "stag_hunt"})
    learners = {"row": resolve_learner(smooth, "row"), "column": resolve_learner(level, "column")}
    alone = simulate("matrix", [params], learners, [1], 50)
    torch.testing.assert_close(together[:, 1:2], alone, rtol=0, atol=0, equal_nan=True)


# --- Level-k ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [0, 1, 2, 3])
def test_level_k_defects_in_the_prisoners_dilemma_at_every_level_above_zero(depth: int) -> None:
    """Defection (action 1) strictly dominates, so it is the best response to anything: every level k >= 1
    defects; level 0 is uniform."""
    level = {"kind": "level_k", "depth": depth}
    metrics = play({"matrix": "prisoners_dilemma"}, level, level, worlds=4, rounds=50, n_agents=200)
    for role in ("row", "column"):
        cooperation = series(metrics, f"{role}_share_0")
        if depth == 0:
            assert cooperation.mean().item() == pytest.approx(0.5, abs=0.02)
        else:
            assert (cooperation == 0).all()


# Row payoffs A = [[2, 0], [1, 3]], column payoffs B = [[3, 0], [0, 1]] ([row action][column action]).
ASYMMETRIC = {"matrix": "custom", "row_payoffs": [2, 0, 1, 3], "column_payoffs": [3, 0, 0, 1]}


@pytest.mark.parametrize(("depth", "row_action", "column_action"), [(1, 1, 0), (2, 0, 1), (3, 1, 0)])
def test_level_k_choices_in_an_asymmetric_game_are_the_hand_computed_ones(
    depth: int, row_action: int, column_action: int
) -> None:
    """By hand. Level 0 mixes (1/2, 1/2).
    Level 1: row's expected payoffs against it are (2 + 0) / 2 = 1 and (1 + 3) / 2 = 2: row plays 1;
    column's are (3 + 0) / 2 = 1.5 and (0 + 1) / 2 = 0.5: column plays 0.
    Level 2: row against column's level 1 (action 0): 2 > 1, plays 0; column against row's level 1
    (action 1): 0 < 1, plays 1.
    Level 3: row against column's level 2 (action 1): 0 < 3, plays 1; column against row's level 2
    (action 0): 3 > 0, plays 0."""
    level = {"kind": "level_k", "depth": depth}
    metrics = play(ASYMMETRIC, level, level, worlds=2, rounds=5, n_agents=50)
    assert (series(metrics, "row_share_0") == float(row_action == 0)).all()
    assert (series(metrics, "column_share_0") == float(column_action == 0)).all()


def test_a_smooth_level_one_plays_the_logit_response_to_uniform_play() -> None:
    """Level 1 with smooth = 1 in the asymmetric game: row's payoffs against uniform are (1, 2), so it plays
    action 0 with 1 / (1 + e) = 0.269 (2,000 agents x 4 worlds x 20 rounds: within 0.01; sd 0.0011)."""
    level = {"kind": "level_k", "depth": 1, "smooth": 1.0}
    metrics = play(ASYMMETRIC, level, level, worlds=4, rounds=20, n_agents=2_000)
    assert series(metrics, "row_share_0").mean().item() == pytest.approx(1 / (1 + math.e), abs=0.01)


def test_a_historical_level_zero_is_the_opponents_play_so_far() -> None:
    """level0 = "population" against a column mixing (0.8, 0.2) in matching pennies: level 1 best-responds
    to the column's empirical frequencies, so matches action 0 from the second round on (the first is
    uniform: no history yet); level 0 plays the row's own history, which starts uniform and stays near it."""
    fixed = {"kind": "fixed", "probabilities": [0.8, 0.2]}
    one = {"kind": "level_k", "depth": 1, "level0": "population"}
    metrics = play({"matrix": "matching_pennies"}, one, fixed, worlds=4, rounds=30, n_agents=500)
    row = series(metrics, "row_share_0")
    assert row[0].mean().item() == pytest.approx(0.5, abs=0.05) and (row[1:] == 1).all()
    zero = {"kind": "level_k", "depth": 0, "level0": "population"}
    metrics = play({"matrix": "matching_pennies"}, zero, fixed, worlds=4, rounds=30, n_agents=500)
    assert series(metrics, "row_share_0").mean().item() == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "level_k", "depth": -1}, "learners.row.depth = -1 is out of range"),
        ({"kind": "level_k", "smooth": -0.5}, "learners.row.smooth = -0.5 is out of range"),
        ({"kind": "level_k", "level0": "random"}, "learners.row.level0 = 'random' is not a known choice"),
        ({"kind": "level_k", "depth": 1.5}, "learners.row.depth = 1.5 is not a whole number"),
        ({"kind": "fictitious_play", "smooth": -1.0}, "learners.row.smooth = -1.0 is out of range"),
        (
            {"kind": "fictitious_play", "initial_weight": -1.0},
            "learners.row.initial_weight = -1.0 is out of range",
        ),
        ({"kind": "fictitious_play", "observes": "me"}, "learners.row.observes = 'me' is not a known choice"),
    ],
)
def test_bad_settings_are_refused(config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        resolve_learner(config, "learners.row")
