"""The matrix game's rules: two roles play a normal-form (bimatrix) game, the testbed of game theory and of
multi-agent learning (Fudenberg & Levine 1998, "The Theory of Learning in Games"; Shoham & Leyton-Brown 2009).

Each world has `n_agents` row players and as many column players. Every round:

1. Matching: each row player meets one column player, the pairs a uniformly random matching (a fresh
   permutation per world per round). With one agent per role this is the plain repeated two-player game.
2. Play: every player chooses an action at once.
3. Pay: a row player who played a against b is paid row_payoffs[a][b], its column player column_payoffs[a][b].
4. Observation: each player sees the action its opponent played (a one-hot over the opponent's actions) and
   the shares of each role's actions in its world this round: the evidence fictitious play counts
   (models.game.PayoffModel states the layout).

The game states its payoffs for opponent-aware learners (`payoff_model`): the bimatrix, per world.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from models.game import BatchOfWorlds, Observations, PayoffModel, Role, RoundResult
from models.games.matrix.params import MATRIX_PARAMS, payoff_tables
from models.reductions import world_sum


def _actions(p: Mapping[str, Any], role: str) -> int:
    row, _ = payoff_tables(dict(p))
    return len(row) if role == "row" else len(row[0])


ROW = Role(
    "row",
    "chooses a row of the bimatrix; paid its entry at the column its opponent chose",
    agents=lambda p: p["n_agents"],
    actions=lambda p: _actions(p, "row"),
    # the opponent's action (one-hot), the column role's shares, the row role's shares
    observation=lambda p: 2 * _actions(p, "column") + _actions(p, "row"),
)
COLUMN = Role(
    "column",
    "chooses a column of the bimatrix; paid its entry at the row its opponent chose",
    agents=lambda p: p["n_agents"],
    actions=lambda p: _actions(p, "column"),
    observation=lambda p: 2 * _actions(p, "row") + _actions(p, "column"),
)
OPPONENT = {"row": "column", "column": "row"}


def mixed_equilibrium(p: Mapping[str, Any]) -> tuple[float, float]:
    """A 2x2 game's completely mixed Nash equilibrium, as the probabilities (p, q) that the row and the
    column player play action 0; NaN where the game has none (or is not 2x2). Each mixes so as to leave
    the other indifferent: q A[0][0] + (1 - q) A[0][1] = q A[1][0] + (1 - q) A[1][1], and p likewise."""
    row, column = payoff_tables(dict(p))
    if len(row) != 2 or len(row[0]) != 2:
        return math.nan, math.nan

    def indifferent(gain_0: float, gain_1: float) -> float:
        """The probability x that the other plays action 0 at which one's gain from action 0 over action
        1, x gain_0 + (1 - x) gain_1, is zero; NaN unless strictly inside (0, 1)."""
        if gain_1 == gain_0:
            return math.nan
        x = gain_1 / (gain_1 - gain_0)
        return x if 0 < x < 1 else math.nan

    # Row's gain from action 0 over 1 against column's 0 and 1; column's gain from 0 over 1 against row's.
    row_gain = (row[0][0] - row[1][0], row[0][1] - row[1][1])
    column_gain = (column[0][0] - column[0][1], column[1][0] - column[1][1])
    q, p_row = indifferent(*row_gain), indifferent(*column_gain)
    if math.isnan(p_row) or math.isnan(q):
        return math.nan, math.nan
    return p_row, q


def payoff_model(
    worlds: Sequence[Mapping[str, Any]], role: str, device: torch.device | str = "cpu"
) -> PayoffModel | None:
    """A role's payoffs against its opponent's actions, per world: the bimatrix (the column player's
    transposed, so that its own actions come first)."""
    if role not in OPPONENT:
        return None
    tables = [payoff_tables(dict(world)) for world in worlds]
    row = torch.tensor([r for r, _ in tables], dtype=torch.float32, device=device)  # (W, A, B)
    column = torch.tensor([c for _, c in tables], dtype=torch.float32, device=device).transpose(1, 2)
    if role == "row":
        return PayoffModel("row", "column", row, column.contiguous())
    return PayoffModel("column", "row", column.contiguous(), row)


@dataclass
class MatrixTallies:
    """Per-world facts of one round, the inputs of every matrix-game metric."""

    agents: int  # per role
    row_counts: torch.Tensor  # (W, row actions) int32: row players per action
    column_counts: torch.Tensor  # (W, column actions) int32
    row_payoff_sum: torch.Tensor  # (W,) float32
    column_payoff_sum: torch.Tensor  # (W,) float32
    equilibrium_row: torch.Tensor  # (W,) float32: the mixed equilibrium's P(row plays 0), NaN if none
    equilibrium_column: torch.Tensor  # (W,) float32


def counts(actions: torch.Tensor, n_actions: int) -> torch.Tensor:
    """Agents per action in each world, (worlds, actions) int32."""
    return torch.stack([(actions == a).sum(1, dtype=torch.int32) for a in range(n_actions)], 1)


class MatrixRules(BatchOfWorlds):
    """A batch of worlds of the matrix game, stepped by the rules (see the module docstring)."""

    params = MATRIX_PARAMS
    own_roles = (ROW, COLUMN)

    def __init__(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(worlds, seeds, device)
        self.n_agents = self.p["n_agents"]
        row, column = payoff_tables(worlds[0])  # the bimatrix is shared by a batch (per_world=False)
        self.row_payoffs = torch.tensor(row, dtype=torch.float32, device=self.device)  # [a][b]
        self.column_payoffs = torch.tensor(column, dtype=torch.float32, device=self.device)
        equilibria = torch.tensor([mixed_equilibrium(world) for world in worlds], device=self.device)
        self.equilibrium = equilibria.float()  # (W, 2)
        self.reset()

    def reset(self) -> None:
        """Round 0: nothing played yet."""
        self.round_index = 0
        self._last: tuple[torch.Tensor, torch.Tensor, MatrixTallies] | None = None

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        """Play one round in every world, given each row and column player's action, (worlds, agents)."""
        row = actions["row"].to(self.device).long()
        column = actions["column"].to(self.device).long()

        # 1. Matching: row player i meets column player partner[i], a uniformly random permutation.
        # The draws are 24-bit uniforms: sorted as the whole numbers they are (the same order, faster).
        keys = self.rng.uniform(self.round_index, "matching", (self.n_agents,)) * 2**24
        partner = keys.int().argsort(dim=1, stable=True)
        met_by_row = column.gather(1, partner)  # the action of the column player each row player meets
        met_by_column = torch.empty_like(row).scatter_(1, partner, row)  # and the other way round

        # 2-3. Both play at once; each is paid its entry of the bimatrix.
        row_pay = self.row_payoffs[row, met_by_row]
        column_pay = self.column_payoffs[met_by_column, column]

        self.round_index += 1
        tallies = MatrixTallies(
            agents=self.n_agents,
            row_counts=counts(row, self.row_payoffs.shape[0]),
            column_counts=counts(column, self.row_payoffs.shape[1]),
            row_payoff_sum=world_sum(row_pay, 1),
            column_payoff_sum=world_sum(column_pay, 1),
            equilibrium_row=self.equilibrium[:, 0].clone(),
            equilibrium_column=self.equilibrium[:, 1].clone(),
        )
        self._last = (met_by_row, met_by_column, tallies)
        return RoundResult({"row": row_pay, "column": column_pay}, {}, Observations(self.observe), tallies)

    def observe(self, role: str) -> torch.Tensor:
        """Each player's observation, (worlds, agents, size): its last opponent's action (one-hot), the
        opponent role's action shares and its own role's, in its world last round; zeros before the first.
        Another role (an institution registered on the game) observes nothing: (worlds, 1, 0)."""
        if role not in OPPONENT:
            return torch.zeros(self.n_worlds, 1, 0, device=self.device)
        n_row, n_column = self.row_payoffs.shape
        own, other = (n_row, n_column) if role == "row" else (n_column, n_row)
        if self._last is None:
            return torch.zeros(self.n_worlds, self.n_agents, 2 * other + own, device=self.device)
        met_by_row, met_by_column, tallies = self._last
        met = met_by_row if role == "row" else met_by_column
        shares = {
            "row": tallies.row_counts.float() / self.n_agents,
            "column": tallies.column_counts.float() / self.n_agents,
        }
        common = torch.cat([shares[OPPONENT[role]], shares[role]], 1).unsqueeze(1)
        opponent = torch.nn.functional.one_hot(met, other).float()
        return torch.cat([opponent, common.expand(-1, self.n_agents, -1)], -1)


def peak_bytes_per_world(params: dict[str, Any]) -> int:
    """Memory one world needs at a round's peak, with a margin: a few int64 tensors per agent and its
    observation."""
    return params["n_agents"] * 2 * 200
