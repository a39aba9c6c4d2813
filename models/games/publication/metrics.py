"""Metrics of the publication game (Ioannidis 2005; Smaldino & McElreath 2016)."""

from __future__ import annotations

import torch

from models.games.publication.tallies import PublicationTallies
from models.metrics import Metric, ratio


def _fdr(t: PublicationTallies) -> torch.Tensor:
    return ratio(t.published_false_positives, t.published_novel_positives)


PUBLICATION_METRICS: tuple[Metric, ...] = (
    Metric(
        "replication_rate",
        "share of replication studies that came out positive (confirmed the finding)",
        lambda t: ratio(t.replication_successes, t.replication_studies),
        bounded=True,
    ),
    Metric(
        "false_discovery_rate",
        "share of published novel positive findings that are false (from ground truth)",
        _fdr,
        bounded=True,
    ),
    Metric(
        "ppv",
        "positive predictive value: share of published novel positive findings that are true",
        lambda t: 1 - _fdr(t),
        bounded=True,
    ),
    Metric(
        "mean_rigor",
        "mean rigor chosen by researchers, 0 to 1",
        lambda t: t.rigor_sum / t.researchers,
        bounded=True,
    ),
    Metric(
        "novel_share",
        "share of researchers who chose a novel study over a replication",
        lambda t: t.novel_choices / t.researchers,
        bounded=True,
    ),
    Metric(
        "publications_per_researcher",
        "published studies per researcher this round",
        lambda t: t.publications / t.researchers,
    ),
    Metric(
        "true_discoveries",
        "published novel positive findings that are true, per world",
        lambda t: t.published_novel_positives - t.published_false_positives,
    ),
    Metric(
        "mean_payoff",
        "mean payoff a researcher received this round, penalties included",
        lambda t: t.payoff_sum / t.researchers,
    ),
)
