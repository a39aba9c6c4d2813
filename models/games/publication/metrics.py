"""Metrics of the publication game (Ioannidis 2005; McElreath & Smaldino 2015; Smaldino & McElreath 2016;
Nissen et al. 2016 for canonization)."""

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
    Metric(
        "mean_effort",
        "mean effort e of the labs (effort model; undefined in the rigor model)",
        lambda t: t.mean_effort,
    ),
    Metric("mean_power", "mean statistical power W of the labs", lambda t: t.mean_power, bounded=True),
    Metric(
        "mean_qrp",
        "mean u: the share of would-be negative analyses reported positive (Ioannidis' bias)",
        lambda t: t.mean_qrp,
        bounded=True,
    ),
    Metric(
        "belief_accuracy",
        "share of the literature's hypotheses it believes the right way (posterior above 1/2 exactly "
        "for the true ones)",
        lambda t: ratio(t.believed_correctly, t.literature_hypotheses),
        bounded=True,
    ),
    Metric(
        "false_canonized_share",
        "share of the literature's false hypotheses held as facts (posterior above the canonization "
        "threshold)",
        lambda t: ratio(t.false_canonized, t.literature_hypotheses - t.literature_true),
        bounded=True,
    ),
    Metric(
        "true_canonized_share",
        "share of the literature's true hypotheses held as facts (posterior above the canonization "
        "threshold)",
        lambda t: ratio(t.true_canonized, t.literature_true),
        bounded=True,
    ),
)
