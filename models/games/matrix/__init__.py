"""The matrix game: two roles play a normal-form game (matching pennies, coordination, stag hunt, the
prisoner's dilemma, battle of the sexes, rock-paper-scissors, or a custom bimatrix), the testbed on which
learning rules have known answers."""

from models.game import GameSpec
from models.games.matrix.metrics import MATRIX_METRICS
from models.games.matrix.params import MATRIX_PARAMS, NAMED_GAMES, action_names, payoff_tables
from models.games.matrix.rules import COLUMN, ROW, MatrixRules, payoff_model, peak_bytes_per_world

GAME = GameSpec(
    name="matrix",
    doc="two roles play a normal-form game (matching pennies, stag hunt, ...), randomly matched each round",
    params=MATRIX_PARAMS,
    roles=(ROW, COLUMN),
    rules=MatrixRules,
    metrics=MATRIX_METRICS,
    peak_bytes_per_world=peak_bytes_per_world,
    headline="row_share_0",
    scale="n_agents",
    order=2,
    benched=False,  # a testbed with known answers, not a scale the bench need measure
    payoff_model=payoff_model,
)

__all__ = ["GAME", "MATRIX_PARAMS", "NAMED_GAMES", "MatrixRules", "action_names", "payoff_tables"]
