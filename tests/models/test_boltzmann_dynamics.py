"""Boltzmann Q-learning (`q_learning` with softmax exploration, models/learners/tabular.py) in a 2 x 2 matrix
game, against the evolutionary dynamics of Tuyls, Hoen & Vanschoenwinkel (2006, "An evolutionary dynamical
analysis of multi-agent learning in iterated games", AAMAS journal 12: 115-153).

Their dynamics, for a player's shares x against the opponent's y, with payoff table A, learning rate alpha
and temperature T (their tau is 1 / T):

    dx_i/dt = (alpha / T) x_i [(A y)_i - x.A y] + alpha x_i sum_j x_j ln(x_j / x_i)

the replicator term plus the exploration (entropy) term. They derive it from x = softmax(Q / T) with every
action's value moving as dQ_i/dt = alpha ((A y)_i - Q_i). The learner here moves only the action it played,
so in expectation dQ_i/dt = alpha x_i ((A y)_i - Q_i): each action learns at a rate proportional to how often
it is played. That is Kaisers & Tuyls' point (2010, "Frequency adjusted multi-agent Q-learning", AAMAS): the
published dynamics describe frequency-adjusted Q-learning (a step of alpha / x_i for the chosen action), and
plain Q-learning's shares are not a function of the shares alone: they depend on the values' level too, so
two populations with the same shares but different initial values follow different paths. So:

- what holds: the learner's shares follow the same derivation without the frequency adjustment, the ODE in
  the values above (integrated here in Euler steps of 1/10 round), within 0.02 over the whole horizon
  (measured 0.010 with initial value 0 and 0.009 with 2);
- both have the same rest point, the logit equilibrium x = softmax(A y / T), which the learner's shares
  reach within 0.02 (measured 0.009);
- the published ODE's own transient does not describe this learner: its shares depart from it by more
  than 0.1 (measured 0.17); this file checks that the published ODE is the frequency-adjusted one (within
  0.002, measured 7e-5: Euler error), so that the departure is the learner's update rule and not a slip in
  transcribing the ODE;
- conditions: a small learning rate (alpha = 0.02; at 0.05 the gap grows to 0.016, from the spread of the
  agents' values: the population's mean softmax is not the softmax of its mean values) and initial values
  not well below the payoffs: from initial value -2, the first action an agent draws rises while the other
  stays low and is hardly tried again, the agents lock in on their first draws (x_i ((A y)_i - Q_i) grows
  with x_i when Q_i is below the payoff, so the representative agent's symmetric path is unstable), and the
  population departs from the ODE by more than 0.2 (measured 0.36).

Setup: a zero-sum 2 x 2 game, asymmetric matching pennies (row payoffs [[3, -1], [-1, 1]], column payoffs
their negatives; mixed equilibrium (1/3, 1/3)), so that the path spirals in to the rest point; temperature
0.5, learning rate 0.02, 750 rounds (alpha t = 15); 2,000 agents a role in each of 8 worlds (seeds 0-7),
random matching; shares averaged over worlds and over windows of 10 rounds (sampling sd of a window's share
0.0013). Runs in about 8 s on 2 cores.
"""

from __future__ import annotations

import numpy as np
import pytest

from models.games import GAMES
from models.games.matrix import payoff_tables
from models.learners import resolve_learner
from models.simulate import simulate

SPEC = GAMES["matrix"]
GAME = {"matrix": "custom", "row_payoffs": [3, -1, -1, 1], "column_payoffs": [-3, 1, 1, -1]}
ALPHA, TEMPERATURE, ROUNDS, AGENTS, WORLDS, WINDOW = 0.02, 0.5, 750, 2_000, 8, 10
SUBSTEPS = 10  # Euler steps per round
TOLERANCE = 0.02


def tables() -> tuple[np.ndarray, np.ndarray]:
    """Each role's payoffs as [own action][opponent's action]."""
    row, column = payoff_tables(SPEC.params.resolve(GAME))
    return np.array(row), np.array(column).T


def softmax(values: np.ndarray) -> np.ndarray:
    weights = np.exp((values - values.max()) / TEMPERATURE)
    return weights / weights.sum()


def value_dynamics(initial_value: float, frequency_adjusted: bool) -> np.ndarray:
    """Shares of action 0, (rounds, 2 roles), of the ODE in the values: dQ_i/dt = alpha w_i ((A y)_i - Q_i)
    with w_i = x_i (the learner: only the played action moves) or 1 (frequency adjusted), x = softmax(Q/T)."""
    (row, column), values = tables(), [np.full(2, initial_value), np.full(2, initial_value)]
    path = []
    for _ in range(ROUNDS):
        path.append([softmax(values[0])[0], softmax(values[1])[0]])
        for _ in range(SUBSTEPS):
            x, y = softmax(values[0]), softmax(values[1])
            payoffs = (row @ y, column @ x)
            rates = (x, y) if not frequency_adjusted else (1.0, 1.0)
            step = ALPHA / SUBSTEPS
            values = [v + step * r * (f - v) for v, r, f in zip(values, rates, payoffs, strict=True)]
    return np.array(path)


def tuyls_dynamics() -> np.ndarray:
    """Shares of action 0, (rounds, 2 roles), of Tuyls, Hoen & Vanschoenwinkel's ODE from uniform shares."""
    row, column = tables()
    x, y = np.full(2, 0.5), np.full(2, 0.5)

    def flow(shares: np.ndarray, payoffs: np.ndarray) -> np.ndarray:
        selection = ALPHA / TEMPERATURE * shares * (payoffs - shares @ payoffs)
        exploration = ALPHA * shares * (shares @ np.log(shares) - np.log(shares))  # sum_j x_j ln(x_j / x_i)
        return selection + exploration

    path = []
    for _ in range(ROUNDS):
        path.append([x[0], y[0]])
        for _ in range(SUBSTEPS):
            x, y = x + flow(x, row @ y) / SUBSTEPS, y + flow(y, column @ x) / SUBSTEPS
    return np.array(path)


def windows(path: np.ndarray) -> np.ndarray:
    return path[: len(path) // WINDOW * WINDOW].reshape(-1, WINDOW, 2).mean(1)


def q_learning_shares(initial_value: float) -> np.ndarray:
    """The learner's shares of action 0, (rounds, 2 roles), averaged over the worlds."""
    params = SPEC.params.resolve({**GAME, "n_agents": AGENTS})
    config = {"kind": "q_learning", "exploration": "softmax", "temperature": TEMPERATURE}
    config.update(learning_rate=ALPHA, initial_value=initial_value)
    learners = {role: resolve_learner(config, f"learners.{role}") for role in ("row", "column")}
    metrics = simulate("matrix", [params] * WORLDS, learners, list(range(WORLDS)), ROUNDS)
    names = [metric.name for metric in SPEC.metrics]
    shares = metrics[:, :, [names.index("row_share_0"), names.index("column_share_0")]]
    return shares.mean(1).numpy()


@pytest.fixture(scope="module")
def learned() -> np.ndarray:
    return windows(q_learning_shares(0.0))


def test_boltzmann_q_learning_follows_the_dynamics_of_its_own_update(learned: np.ndarray) -> None:
    predicted = windows(value_dynamics(0.0, frequency_adjusted=False))
    assert np.abs(learned - predicted).max() < TOLERANCE
    assert np.abs(predicted - predicted[-1]).max() > 0.1  # the path moves: a spiral, not a fixed point


def test_it_reaches_the_rest_point_of_tuyls_dynamics_the_logit_equilibrium(learned: np.ndarray) -> None:
    rest = tuyls_dynamics()[-1]
    row, column = tables()
    assert softmax(row @ np.array([rest[1], 1 - rest[1]]))[0] == pytest.approx(rest[0], abs=1e-4)
    assert softmax(column @ np.array([rest[0], 1 - rest[0]]))[0] == pytest.approx(rest[1], abs=1e-4)
    assert np.abs(learned[-10:] - rest).max() < TOLERANCE


def test_tuyls_dynamics_are_frequency_adjusted_q_learning_and_not_this_learner(learned: np.ndarray) -> None:
    """The published ODE in the shares equals the frequency-adjusted ODE in the values (to Euler error),
    and plain Q-learning's transient departs from both by far more than the tolerance."""
    published = windows(tuyls_dynamics())
    assert np.abs(published - windows(value_dynamics(0.0, frequency_adjusted=True))).max() < 2e-3
    assert np.abs(learned - published).max() > 5 * TOLERANCE


def test_the_path_depends_on_the_initial_values_not_only_the_initial_shares() -> None:
    """Initial value 2 (optimistic) starts from the same uniform shares as 0 and follows another path, the
    one its own value dynamics predict; so no ODE in the shares alone describes this learner."""
    optimistic = windows(value_dynamics(2.0, frequency_adjusted=False))
    assert np.abs(optimistic - windows(value_dynamics(0.0, frequency_adjusted=False))).max() > 5 * TOLERANCE
    assert np.abs(windows(q_learning_shares(2.0)) - optimistic).max() < TOLERANCE


def test_pessimistic_initial_values_break_the_correspondence() -> None:
    """From initial value -2 each agent locks in on its first draws, and the population departs from the
    representative agent's dynamics (documented condition, see the module docstring)."""
    pessimistic = windows(value_dynamics(-2.0, frequency_adjusted=False))
    assert np.abs(windows(q_learning_shares(-2.0)) - pessimistic).max() > 10 * TOLERANCE
