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
