"""Parameters of the matrix game: which bimatrix game is played, and by how many agents per role."""

from __future__ import annotations

from typing import Any

from models.params import Param, ParamSpace

# The textbook two-player games, as (row player's payoffs, column player's payoffs, action names): entry
# [a][b] is paid when the row player plays a and the column player b. Action 0 is listed first.
NAMED_GAMES: dict[str, tuple[list[list[float]], list[list[float]], tuple[str, ...]]] = {
    # Zero-sum: the row player wins on a match. Unique equilibrium: both mix (1/2, 1/2).
    "matching_pennies": ([[1, -1], [-1, 1]], [[-1, 1], [1, -1]], ("heads", "tails")),
    # Pure coordination: two strict equilibria, (0, 0) and (1, 1), and a mixed one at (1/2, 1/2).
    "coordination": ([[1, 0], [0, 1]], [[1, 0], [0, 1]], ("left", "right")),
    # Stag hunt (Skyrms 2004): the stag (4) needs both, a hare (3) is safe; mixed equilibrium at 3/4 stag.
    "stag_hunt": ([[4, 0], [3, 3]], [[4, 3], [0, 3]], ("stag", "hare")),
    # Prisoner's dilemma (T = 5 > R = 3 > P = 1 > S = 0): defecting dominates.
    "prisoners_dilemma": ([[3, 0], [5, 1]], [[3, 5], [0, 1]], ("cooperate", "defect")),
    # Battle of the sexes: both prefer to meet, the row player at 0, the column player at 1; mixed
    # equilibrium: row plays 0 with 2/3, column plays 0 with 1/3.
    "battle_of_the_sexes": ([[2, 0], [0, 1]], [[1, 0], [0, 2]], ("opera", "football")),
    # Zero-sum, three actions; unique equilibrium: both mix (1/3, 1/3, 1/3).
    "rock_paper_scissors": (
        [[0, -1, 1], [1, 0, -1], [-1, 1, 0]],
        [[0, 1, -1], [-1, 0, 1], [1, -1, 0]],
        ("rock", "paper", "scissors"),
    ),
}
MAX_ACTIONS = 16


def payoff_tables(p: dict[str, Any]) -> tuple[list[list[float]], list[list[float]]]:
    """The row and the column player's payoffs, each [row action][column action], for resolved params."""
    if p["matrix"] != "custom":
        row, column, _ = NAMED_GAMES[p["matrix"]]
        return [[float(v) for v in r] for r in row], [[float(v) for v in r] for r in column]
    width = len(p["row_payoffs"]) // p["row_actions"]

    def rows(flat: list[float]) -> list[list[float]]:
        return [flat[a * width : (a + 1) * width] for a in range(p["row_actions"])]

    return rows(p["row_payoffs"]), rows(p["column_payoffs"])


def action_names(p: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The row and the column player's action names (a custom game's are their indices)."""
    if p["matrix"] != "custom":
        names = NAMED_GAMES[p["matrix"]][2]
        return names, names
    row, column = payoff_tables(p)
    return tuple(map(str, range(len(row)))), tuple(map(str, range(len(column[0]))))


def _custom_payoffs_fit(p: dict[str, Any]) -> str | None:
    given = p["row_payoffs"] or p["column_payoffs"]
    if p["matrix"] != "custom":
        if given:
            return (
                f"row_payoffs or column_payoffs is given with matrix = {p['matrix']!r}: set matrix = "
                "'custom' to play a bimatrix of your own"
            )
        return None
    rows, size = p["row_actions"], len(p["row_payoffs"])
    if size != len(p["column_payoffs"]) or size % rows or not 2 <= size // rows <= MAX_ACTIONS:
        return (
            f"row_payoffs has {size} and column_payoffs {len(p['column_payoffs'])} numbers: a custom game "
            f"needs both of row_actions ({rows}) x column actions (2 to {MAX_ACTIONS}), row by row"
        )
    return None


MATRIX_PARAMS = ParamSpace(
    name="game",
    params={
        "n_agents": Param(
            1,
            "agents per role per world; each round every row agent meets a uniformly random column agent "
            "(1: the plain repeated two-player game)",
            kind=int,
            low=1,
            high=10_000_000,
            per_world=False,
        ),
        "matrix": Param(
            "matching_pennies",
            "the normal-form game played: a textbook game, or 'custom' (row_payoffs and column_payoffs)",
            kind=str,
            choices=(*NAMED_GAMES, "custom"),
            per_world=False,
        ),
        "row_payoffs": Param(
            [], "custom games: the row player's payoff for each (row action, column action), row by row",
            kind=list,
        ),
        "column_payoffs": Param(
            [], "custom games: the column player's payoff, laid out as row_payoffs", kind=list
        ),
        "row_actions": Param(
            2, "custom games: the row player's actions (the column player's: the payoffs' length / this)",
            kind=int, low=2, high=MAX_ACTIONS, per_world=False,
        ),
    },
    checks=(_custom_payoffs_fit,),
)  # fmt: skip
