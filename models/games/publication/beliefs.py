"""What the literature believes: the posterior that a published hypothesis is true, given its published
results (McElreath & Smaldino 2015; the canonization of facts as in Nissen et al. 2016).

A reader takes every published result at face value, with the model's nominal power W, false positive rate
alpha and base rate b. After k positive and m negative published results (the finding itself counts as the
first positive), the posterior is

    P(true | k, m) = b W^k (1 - W)^m / (b W^k (1 - W)^m + (1 - b) alpha^k (1 - alpha)^m),

computed as log-odds. It is the right posterior when publication does not depend on a result's sign; under
publication bias, questionable research practices or low effort the literature believes too much, and the
metrics measure how far: the share of hypotheses it believes the right way (posterior above or below 1/2),
and the shares of false and of true hypotheses it holds as facts (posterior above `canonization_threshold`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from models.games.publication.methods import nominal_alpha, world


def _times(count: torch.Tensor, log_ratio: torch.Tensor) -> torch.Tensor:
    """count x log_ratio, 0 where count is 0 (so that a certain result, log 0, adds nothing unless seen)."""
    return torch.where(count > 0, count * log_ratio, 0.0)


def belief_log_odds(
    positive: torch.Tensor, negative: torch.Tensor, base_rate: Any, power: Any, alpha: Any
) -> torch.Tensor:
    """The log-odds that a hypothesis is true after `positive` and `negative` published results."""
    base_rate, power, alpha = (torch.as_tensor(x, dtype=torch.float32) for x in (base_rate, power, alpha))
    prior = torch.log(base_rate) - torch.log1p(-base_rate)
    positive_ratio = torch.log(power) - torch.log(alpha)
    negative_ratio = torch.log1p(-power) - torch.log1p(-alpha)
    return prior + _times(positive, positive_ratio) + _times(negative, negative_ratio)


def posterior(positive: Any, negative: Any, base_rate: float, power: float, alpha: float) -> torch.Tensor:
    """P(true | k positive, m negative published results)."""
    return torch.sigmoid(
        belief_log_odds(torch.as_tensor(positive), torch.as_tensor(negative), base_rate, power, alpha)
    )


@dataclass
class LiteratureTallies:
    """Per world, int32: the literature's hypotheses, the true ones among them, those it believes the right
    way, and the false and true ones it holds as facts."""

    hypotheses: torch.Tensor
    true: torch.Tensor
    believed_correctly: torch.Tensor
    false_canonized: torch.Tensor
    true_canonized: torch.Tensor


def literature_tallies(
    p: Mapping[str, Any],
    positive: torch.Tensor,
    negative: torch.Tensor,
    true: torch.Tensor,
    count: torch.Tensor,
) -> LiteratureTallies:
    """The tallies of a literature given as classes: `count` (W, C) hypotheses whose published results are
    (`positive`, `negative`) (W, C) and whose truth is `true` (W, C). Classes rather than places, so that
    the rules (a class per place) and the kernels (a class per replication record) count the same way."""
    log_odds = belief_log_odds(
        positive.float(), negative.float(), world(p, "base_rate"), world(p, "power"), nominal_alpha(p)
    )
    threshold = world(p, "canonization_threshold")
    canonized = log_odds >= torch.log(threshold) - torch.log1p(-threshold)
    believed_true = log_odds > 0

    def total(where: torch.Tensor) -> torch.Tensor:
        return torch.where(where, count, 0).sum(1, dtype=torch.int32)

    return LiteratureTallies(
        hypotheses=count.sum(1, dtype=torch.int32),
        true=total(true),
        believed_correctly=total(believed_true == true),
        false_canonized=total(canonized & ~true),
        true_canonized=total(canonized & true),
    )


def class_codes(
    hypothesis: torch.Tensor,
    published_positive: torch.Tensor,
    published_negative: torch.Tensor,
    true: torch.Tensor,
    m: torch.Tensor,
    classes: torch.Tensor,
) -> torch.Tensor:
    """Each place's class of a literature, (worlds, places) int64, for literature_tallies: (k m + n) 2 + t
    for a finding with k positive published results (the finding itself the first), n negative ones (fewer
    than m) and truth t; `classes` for an empty place; numbered on from world x (classes + 1), so that one
    bincount counts every world's classes."""
    code = ((published_positive + 1) * m + published_negative) * 2 + true.int()
    code = torch.where(hypothesis >= 0, code, classes)
    world = torch.arange(hypothesis.shape[0], device=hypothesis.device).view(-1, 1)
    return code + world * (classes + 1)
