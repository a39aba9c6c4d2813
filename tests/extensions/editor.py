"""An institution, as a user adds one: an editor who sets the journals' publication policy.

One editor per world picks, each round, the probability that it publishes a null result
(`publish_null_prob`: 0, 0.5 or 1), and is paid by the pages it fills: the studies it published per
researcher that round.

Registered with one line: `models.games.register_institution("publication", EDITOR)`.
"""

from __future__ import annotations

import torch

from models.games.publication.tallies import PublicationTallies
from models.institutions import Institution


def pages_filled(tallies: PublicationTallies) -> torch.Tensor:
    """Studies published per researcher this round, per world."""
    return tallies.publications / tallies.researchers


EDITOR = Institution(
    role="editor",
    doc="an editor: picks how often the journals publish null results, paid by the studies it publishes",
    parameter="publish_null_prob",
    choices=(0.0, 0.5, 1.0),
    objective=pages_filled,
)
