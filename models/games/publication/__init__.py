"""The publication game: researchers learn how to do and publish science under publication biases."""

from models.game import GameSpec
from models.games.publication.actions import action_names
from models.games.publication.funding import FUNDER
from models.games.publication.journals import JOURNAL
from models.games.publication.metrics import PUBLICATION_METRICS
from models.games.publication.params import PUBLICATION_PARAMS, publication_rounds_fit
from models.games.publication.rules import RESEARCHER, PublicationRules, peak_bytes_per_world

GAME = GameSpec(
    name="publication",
    doc="researchers choose rigor and novelty; journals publish, funders fund, findings are cited",
    params=PUBLICATION_PARAMS,
    roles=(RESEARCHER, JOURNAL),
    rules=PublicationRules,
    accelerated=(
        "models.games.publication.kernels:PublicationKernels",
        "models.games.publication.study_kernels:PublicationStudyKernels",
    ),
    metrics=PUBLICATION_METRICS,
    institutions=(FUNDER,),
    peak_bytes_per_world=peak_bytes_per_world,
    rounds_fit=publication_rounds_fit,
    headline="false_discovery_rate",
    key_metrics=("replication_rate", "mean_rigor"),
    scale="n_researchers",
    order=0,
)

__all__ = ["GAME", "PUBLICATION_PARAMS", "PublicationRules", "action_names"]

