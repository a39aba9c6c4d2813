"""Metrics of the publication game (Ioannidis 2005; McElreath & Smaldino 2015; Smaldino & McElreath 2016;
Nissen et al. 2016 for canonization)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from models.games.publication.tallies import PublicationTallies
from models.metrics import Metric, ratio


def _fdr(t: PublicationTallies) -> torch.Tensor:
    return ratio(t.published_false_positives, t.published_novel_positives)


def _institution(name: str) -> Callable[[PublicationTallies], torch.Tensor]:
    """An institution's tally as a metric: NaN in worlds whose round has no such institution."""

    def value(t: PublicationTallies) -> torch.Tensor:
        tally = getattr(t, name)
        return torch.full_like(t.publications, torch.nan, dtype=torch.float64) if tally is None else tally

    return value


Count = Callable[[PublicationTallies], torch.Tensor]


def _per_fund(count: Count) -> Count:
    """A count per unit of funds spent on studies this round: NaN without funding or spending."""

    def value(t: PublicationTallies) -> torch.Tensor:
        if t.funds_spent is None:
            return _institution("funds_spent")(t)
        return ratio(count(t), t.funds_spent)

    return value


def _false_citations(t: PublicationTallies) -> torch.Tensor:
    if t.citations_made is None:
        return _institution("citations_made")(t)
    return ratio(t.citations_to_false, t.citations_made)


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
    Metric(
        "journal_acceptance_rate",
        "share of the studies submitted to journals (every study done) that were published",
        lambda t: ratio(t.publications, t.novel_studies + t.replication_studies),
        bounded=True,
    ),
    Metric(
        "citation_gini",
        "Gini coefficient of the citations the literature's findings have received (citations on)",
        _institution("citation_gini"),
        bounded=True,
    ),
    Metric(
        "false_citation_share",
        "share of this round's citations that went to false findings (citations on)",
        _false_citations,
        bounded=True,
    ),
    Metric(
        "failed_citation_ratio",
        "mean citations of findings with a published failed replication over those of findings whose "
        "replications confirmed them (above 1: non-replicable findings cited more)",
        _institution("failed_citation_ratio"),
    ),
    Metric(
        "funds_gini",
        "Gini coefficient of the labs' funds (funding on: study_cost > 0)",
        _institution("funds_gini"),
        bounded=True,
    ),
    Metric(
        "true_discoveries_per_fund",
        "true new findings published per unit of funds spent on studies this round (funding on)",
        _per_fund(lambda t: t.published_novel_positives - t.published_false_positives),
    ),
    Metric(
        "false_discoveries_per_fund",
        "false new findings published per unit of funds spent on studies this round (funding on)",
        _per_fund(lambda t: t.published_false_positives),
    ),
    Metric(
        "high_fpr_funds_share",
        "share of the funds held by labs whose false positive rate is above the median lab's (funding on)",
        _institution("high_fpr_funds_share"),
        bounded=True,
    ),
)
