"""The election game: voters vote, candidates choose platforms, an electoral body sets the voting rule."""

from models.game import GameSpec
from models.games.election.metrics import ELECTION_METRICS
from models.games.election.params import ELECTION_PARAMS
from models.games.election.rules import CANDIDATE, ELECTORAL_BODY, VOTER, ElectionRules, peak_bytes_per_world

GAME = GameSpec(
    name="election",
    doc="voters vote, candidates choose platforms, an institution sets the electoral rule",
    params=ELECTION_PARAMS,
    roles=(VOTER, CANDIDATE),
    institutions=(ELECTORAL_BODY,),
    rules=ElectionRules,
    accelerated=("models.games.election.kernels:ElectionKernels",),
    metrics=ELECTION_METRICS,
    peak_bytes_per_world=peak_bytes_per_world,
    headline="voter_welfare",
    key_metrics=("platform_polarization", "turnout"),
    scale="n_voters",
    variants="rule",
    order=1,
)

__all__ = ["ELECTION_PARAMS", "GAME", "ElectionRules"]
