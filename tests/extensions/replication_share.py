"""A metric, as a user adds one: the share of the studies done that were replications.

Registered with one line: `models.games.register_metric("publication", REPLICATION_SHARE)`.
"""

from __future__ import annotations

import torch

from models.games.publication.tallies import PublicationTallies
from models.metrics import Metric, ratio


def replication_share(tallies: PublicationTallies) -> torch.Tensor:
    """Replications done / studies done, per world; NaN where no study got done."""
    return ratio(tallies.replication_studies, tallies.novel_studies + tallies.replication_studies)


REPLICATION_SHARE = Metric(
    "replication_share",
    "share of the studies done that were replications",
    replication_share,
    bounded=True,
)
