"""What one round of the publication game counts, per world: the inputs of every metric."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PublicationTallies:
    """Per-world counts of one round, shapes (worlds,); int32 counts, float32 sums."""

    researchers: int
    novel_choices: torch.Tensor  # researchers who chose a novel study
    rigor_sum: torch.Tensor  # the sum of the rigor the researchers chose
    novel_studies: torch.Tensor  # novel studies done
    replication_studies: torch.Tensor  # replications done
    replication_successes: torch.Tensor  # replications done that came out positive
    published_novel_positives: torch.Tensor  # new findings
    published_false_positives: torch.Tensor  # new findings that are false
    publications: torch.Tensor  # studies published
    payoff_sum: torch.Tensor  # what the researchers received: payoffs plus credit (penalties)
    mean_effort: torch.Tensor  # float32: the researchers' mean effort e (NaN in the rigor model)
    mean_power: torch.Tensor  # float32: their mean power W
    mean_qrp: torch.Tensor  # float32: their mean u
    # The literature at the round's end (beliefs.py): its hypotheses, the true ones, those believed the
    # right way, and the false and the true ones held as facts.
    literature_hypotheses: torch.Tensor
    literature_true: torch.Tensor
    believed_correctly: torch.Tensor
    false_canonized: torch.Tensor
    true_canonized: torch.Tensor
    # The institutions' (journals.py, citations.py, funding.py), (worlds,) each; None where the round has
    # none of them (no citations, no funding), and their metrics are then undefined.
    citations_made: torch.Tensor | None = None  # int32: citations the round's published studies made
    citations_to_false: torch.Tensor | None = None  # int32: of them, to findings that are false
    citation_gini: torch.Tensor | None = None  # float32: inequality of the literature's citation counts
    # float32: mean citations of the literature's findings with a published failed replication over those of
    # the findings whose published replications all confirmed them
    failed_citation_ratio: torch.Tensor | None = None
    funds_gini: torch.Tensor | None = None  # float32: inequality of the labs' funds
    funds_spent: torch.Tensor | None = None  # float32: what the labs paid for the studies they started
    high_fpr_funds_share: torch.Tensor | None = None  # float32: funds held by labs above the median alpha
