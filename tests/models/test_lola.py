"""LOLA (models/learners/lola.py; Foerster, Chen, Al-Shedivat, Whiteson, Abbeel & Mordatch 2018, AAMAS).

- The gradient: dV1/dp = A q' + eta B^T J_q J_q' A^T p is the derivative of V1(p) = p^T A softmax(log q +
  eta J_q B p), checked against central finite differences (step 1e-6) in float64 on random 3 x 4 games
  (torch seed 0; 3 worlds x 5 agents, eta 0.5, 1, 2.5 by world), in p and, through J_p, in theta: within
  1e-8 (measured at most 2e-10; the lookahead terms themselves are up to 0.46).
- lookahead = 0 is the naive exact policy-gradient step theta += lr J_p A q (Foerster et al.'s "naive
  learner"): the function gives A q to 1e-15 in float64, and the learner's theta over 5 hand-fed rounds
  equals the hand-computed naive steps to 1e-6 (float32; measured 3e-8), while lookahead = 1 moves off them
  by more than 1e-3 (measured 0.077).
- Matching pennies (Foerster et al. 2018, section 5; Letcher et al. 2019, "Stable Opponent Shaping"): naive
  simultaneous gradient ascent spirals away from the mixed equilibrium (1/2, 1/2), LOLA converges to it.
  Exact dynamics (each knows the other's policy), from (0.82, 0.18) and (0.18, 0.82), distance 0.45,
  2,000 steps of 0.1: LOLA ends within 1e-4 (measured 2e-7), while naive learners' mean distance over the
  last 500 steps exceeds that over the first 500 by 0.05 (measured 0.545 against 0.446; it keeps growing).
  Played, one agent a role, 16 worlds (seeds 0-15), 2,000 rounds, from the same start: the mean over the
  last 500 rounds of the policies' distance from (1/2, 1/2) is below 0.2 in every world for LOLA (measured
  0.116 on average, 0.15 at most: the floor of an opponent model smoothed from one sampled action a
  round) and above 0.5 in every world for naive learners (measured 0.627 to 0.658; the corner is 0.707).
- The coordination game, 64 worlds (seeds 0-63), one agent a role, 1,000 rounds: every world's policies
  within 0.01 of a pure equilibrium, both roles on the same action, both equilibria occurring (measured
  0.993 at worst, 35 of 64 on action 0); in the last 100 rounds at least 98% of play is that action
  (measured 99.4%).
- A game that states no payoffs is refused in one line; learning rates 0 and 1.5 are refused; the same
  seeds give the same numbers, and a world plays the same alone as in a batch (exactly).
Runs in about 5 s on 2 cores.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch

from models.games import GAMES
from models.learners import Experience, Observation, make_learner, resolve_learner
from models.learners.lola import jacobian_times, lola_gradient
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from models.simulate import build_batch, simulate
from studies.config import plan_study

SPEC = GAMES["matrix"]


def value_after_step(
    p: torch.Tensor, q: torch.Tensor, a: torch.Tensor, b: torch.Tensor, eta: torch.Tensor
) -> torch.Tensor:
    """V1 = p^T A softmax(log q + eta J_q B p), written from its definition, (worlds, agents)."""
    b_p = torch.einsum("wba,wna->wnb", b, p)
    step = eta * (q * b_p - q * (q * b_p).sum(-1, keepdim=True))
    ahead = torch.softmax(q.log() + step, -1)
    return torch.einsum("wna,wab,wnb->wn", p, a, ahead)


def random_game(worlds: int = 3, agents: int = 5, actions: int = 3, opponent_actions: int = 4) -> tuple:
    generator = torch.Generator().manual_seed(0)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    a, b = normal(worlds, actions, opponent_actions), normal(worlds, opponent_actions, actions)
    theta, q = normal(worlds, agents, actions), torch.softmax(normal(worlds, agents, opponent_actions), -1)
    eta = torch.tensor([0.5, 1.0, 2.5], dtype=torch.float64).view(-1, 1, 1)
    return a, b, theta, q, eta


def central_differences(function: Any, x: torch.Tensor, h: float = 1e-6) -> torch.Tensor:
    """d function(x) / dx for a function (worlds, agents, n) -> (worlds, agents), one coordinate at a time."""
    columns = []
    for i in range(x.shape[-1]):
        offset = torch.zeros_like(x)
        offset[..., i] = h
        columns.append((function(x + offset) - function(x - offset)) / (2 * h))
    return torch.stack(columns, -1)


def test_the_lola_gradient_is_the_derivative_of_the_value_after_the_opponents_step() -> None:
    a, b, theta, q, eta = random_game()
    p = torch.softmax(theta, -1)
    gradient = lola_gradient(p, q, a, b, eta)
    numeric = central_differences(lambda x: value_after_step(x, q, a, b, eta), p)
    torch.testing.assert_close(gradient, numeric, rtol=0, atol=1e-8)
    numeric_theta = central_differences(lambda x: value_after_step(torch.softmax(x, -1), q, a, b, eta), theta)
    torch.testing.assert_close(jacobian_times(p, gradient), numeric_theta, rtol=0, atol=1e-8)
    naive = torch.einsum("wab,wnb->wna", a, q)
    assert (gradient - naive).abs().max() > 0.01  # the lookahead terms matter in this check


def features(shares_opponent: torch.Tensor, own_actions: int) -> torch.Tensor:
    """A matrix-game observation (worlds, agents, size) carrying the opponent role's shares."""
    worlds, agents, opponent_actions = shares_opponent.shape
    last = torch.zeros(worlds, agents, opponent_actions)
    return torch.cat([last, shares_opponent, torch.zeros(worlds, agents, own_actions)], -1)


# Row payoffs [[2, 0, 1], [1, 3, 0]], column payoffs [[0, 2, 1], [3, 0, 2]]: 2 row x 3 column actions.
CUSTOM = {"matrix": "custom", "row_payoffs": [2, 0, 1, 1, 3, 0], "column_payoffs": [0, 2, 1, 3, 0, 2]}


def test_lookahead_zero_is_the_naive_gradient_step() -> None:
    a, b, theta, q, _ = random_game()
    p = torch.softmax(theta, -1)
    zero = torch.zeros(3, 1, 1, dtype=torch.float64)
    naive = torch.einsum("wab,wnb->wna", a, q)
    torch.testing.assert_close(lola_gradient(p, q, a, b, zero), naive, rtol=0, atol=1e-15)


def run_learner(lookahead: float, shares: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """The row learner's theta after being fed `shares` of the column (2 worlds x 2 agents, the custom
    game), and the naive steps computed by hand from the same shares."""
    params = SPEC.params.resolve({"n_agents": 2, **CUSTOM})
    model = SPEC.payoffs([params, params], "row")
    config = resolve_learner({"kind": "lola", "lookahead": lookahead, "learning_rate": 0.3}, "row")
    learner = make_learner(config, "row", 2, 2, 2, RandomStreams(world_keys([0, 1])), payoff_model=model)
    theta, q = torch.zeros(2, 2, 2), torch.full((2, 2, 3), 1 / 3)
    with torch.inference_mode():
        for t, seen in enumerate(shares):
            observed = features(seen, 2)
            nothing = torch.zeros(2, 2)
            learner.learn(Experience(t, nothing, nothing, None, Observation(t + 1, lambda o=observed: o)))
            q = 0.9 * q + 0.1 * seen
            p = torch.softmax(theta, -1)
            theta = theta + 0.3 * jacobian_times(p, torch.einsum("wab,wnb->wna", model.payoffs, q))
    return learner.theta, theta


def test_the_learner_with_lookahead_zero_takes_the_naive_steps() -> None:
    generator = torch.Generator().manual_seed(1)
    shares = [
        torch.softmax(3 * torch.randn(2, 1, 3, generator=generator), -1).expand(2, 2, 3) for _ in range(5)
    ]
    learned, naive = run_learner(0.0, shares)
    torch.testing.assert_close(learned, naive, rtol=0, atol=1e-6)
    learned, naive = run_learner(1.0, shares)
    assert (learned - naive).abs().max() > 1e-3


# --- Matching pennies: naive learners spiral out, LOLA converges ----------------------------------------


def exact_dynamics(lookahead: float, steps: int = 2_000) -> torch.Tensor:
    """Both roles step on each other's exact policies from theta (1.5, 0) and (0, 1.5), learning rate 0.1:
    the distance of (row p_0, column p_0) from (1/2, 1/2) after each step, (steps,)."""
    params = SPEC.params.resolve({"matrix": "matching_pennies"})
    row, column = SPEC.payoffs([params], "row"), SPEC.payoffs([params], "column")
    eta = torch.tensor(lookahead).view(1, 1, 1)
    theta_row, theta_column = torch.tensor([[[1.5, 0.0]]]), torch.tensor([[[0.0, 1.5]]])
    distances = []
    for _ in range(steps):
        p, q = torch.softmax(theta_row, -1), torch.softmax(theta_column, -1)
        theta_row = theta_row + 0.1 * jacobian_times(
            p, lola_gradient(p, q, row.payoffs, row.opponent_payoffs, eta)
        )
        theta_column = theta_column + 0.1 * jacobian_times(
            q, lola_gradient(q, p, column.payoffs, column.opponent_payoffs, eta)
        )
        p, q = torch.softmax(theta_row, -1), torch.softmax(theta_column, -1)
        distances.append(torch.hypot(p[0, 0, 0] - 0.5, q[0, 0, 0] - 0.5))
    return torch.stack(distances)


def test_exact_lola_converges_in_matching_pennies_where_naive_learners_spiral_out() -> None:
    lola, naive = exact_dynamics(1.0), exact_dynamics(0.0)
    assert lola[-1] < 1e-4
    assert naive[-500:].mean() > naive[:500].mean() + 0.05 > 0.45  # outward, never back


def policies(
    game: dict, row: dict, column: dict, worlds: int, rounds: int, n_agents: int = 1
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each round's policies after learning, (rounds, worlds, roles, actions) of the first agent of each role,
    and each round's row and column counts of action 0, (rounds, worlds, roles), seeds 0, 1, ..."""
    params = SPEC.params.resolve({"n_agents": n_agents, **game})
    configs = {
        "row": resolve_learner(row, "learners.row"),
        "column": resolve_learner(column, "learners.column"),
    }
    batch = build_batch("matrix", [params] * worlds, configs, list(range(worlds)))
    held, played = [], []
    for _ in range(rounds):
        tallies = batch.round().tallies
        held.append(
            torch.stack([batch.learners[role].probabilities()[:, 0] for role in ("row", "column")], 1)
        )
        played.append(torch.stack([tallies.row_counts[:, 0], tallies.column_counts[:, 0]], 1))
    return torch.stack(held), torch.stack(played)


def test_played_lola_converges_near_the_equilibrium_of_matching_pennies_and_naive_does_not() -> None:
    """One agent a role, 16 worlds, 2,000 rounds, from policies (0.82, 0.18) and (0.18, 0.82)."""
    game = {"matrix": "matching_pennies"}
    distance = {}
    for lookahead in (1.0, 0.0):
        row = {"kind": "lola", "lookahead": lookahead, "initial": [1.5, 0.0]}
        column = {"kind": "lola", "lookahead": lookahead, "initial": [0.0, 1.5]}
        held, _ = policies(game, row, column, worlds=16, rounds=2_000)
        distance[lookahead] = torch.hypot(held[..., 0, 0] - 0.5, held[..., 1, 0] - 0.5)  # (rounds, worlds)
    lola, naive = distance[1.0][-500:].mean(0), distance[0.0][-500:].mean(0)
    assert lola.max() < 0.2, lola
    assert naive.min() > 0.5, naive
    assert distance[1.0][0].mean() > 0.4  # it started far off


# --- The coordination game: a pure equilibrium -----------------------------------------------------------


def test_lola_settles_on_a_pure_equilibrium_of_the_coordination_game() -> None:
    held, played = policies(
        {"matrix": "coordination"}, {"kind": "lola"}, {"kind": "lola"}, worlds=64, rounds=1_000
    )
    final = held[-1, :, :, 0]  # (worlds, roles): P(action 0)
    on_zero = final[:, 0] > 0.5
    assert (torch.maximum(final, 1 - final) > 0.99).all()  # both roles near a pure action
    assert torch.equal(on_zero, final[:, 1] > 0.5)  # the same one
    assert 0 < on_zero.sum() < 64  # both equilibria are reached
    agreeing = torch.where(on_zero[:, None], played[-100:], 1 - played[-100:])  # (rounds, worlds, roles)
    assert agreeing.float().mean() >= 0.98


# --- Refusals and reproducibility ------------------------------------------------------------------------


def test_a_game_without_payoffs_is_refused_in_one_line() -> None:
    raw = {
        "study": {"name": "lola_publication", "rounds": 10},
        "game": {"n_researchers": 5},
        "learners": {"researcher": {"kind": "lola"}},
    }
    with pytest.raises(ConfigError) as refused:
        plan_study(raw)
    assert str(refused.value) == (
        "learners.researcher.kind = 'lola' reasons with the game's payoffs, and this game states none for "
        "its researcher role: allowed are the games that do (matrix)."
    )
    config = resolve_learner({"kind": "lola"}, "learners.researcher")
    with pytest.raises(ConfigError, match=r"^learners\.researcher\.kind = 'lola' [^\n]*$"):
        make_learner(config, "researcher", 1, 5, 6, RandomStreams(world_keys([1])))


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"kind": "lola", "learning_rate": 0}, "learners.row.learning_rate = 0.0 is out of range"),
        ({"kind": "lola", "learning_rate": 1.5}, "learners.row.learning_rate = 1.5 is out of range"),
        ({"kind": "lola", "lookahead": -1.0}, "learners.row.lookahead = -1.0 is out of range"),
        ({"kind": "lola", "smoothing": 0}, "learners.row.smoothing = 0.0 is out of range"),
    ],
)
def test_bad_settings_are_refused(config: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        resolve_learner(config, "learners.row")


def test_initial_logits_must_fit_the_actions() -> None:
    params = SPEC.params.resolve({"matrix": "rock_paper_scissors"})
    config = resolve_learner({"kind": "lola", "initial": [1.0, 0.0]}, "learners.row")
    with pytest.raises(ConfigError, match=r"learners\.row\.initial = \[1\.0, 0\.0\] does not fit the game"):
        make_learner(
            config, "row", 1, 1, 3, RandomStreams(world_keys([1])), payoff_model=SPEC.payoffs([params], "row")
        )


def test_the_same_seeds_give_the_same_numbers_alone_or_in_a_batch() -> None:
    params = SPEC.params.resolve({"n_agents": 3, "matrix": "stag_hunt"})
    column = {"kind": "lola", "lookahead": 0.5, "smoothing": 0.3}
    learners = {"row": resolve_learner({"kind": "lola"}, "row"), "column": resolve_learner(column, "column")}
    together = simulate("matrix", [params] * 3, learners, [0, 1, 2], 100)
    again = simulate("matrix", [params] * 3, learners, [0, 1, 2], 100)
    torch.testing.assert_close(together, again, rtol=0, atol=0, equal_nan=True)
    alone = simulate("matrix", [params], learners, [1], 100)
    torch.testing.assert_close(together[:, 1:2], alone, rtol=0, atol=0, equal_nan=True)
