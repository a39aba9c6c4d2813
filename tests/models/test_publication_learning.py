"""Learning researchers reproduce the qualitative results the default study reports.

Smaldino & McElreath (2016): when only positive results pay and nothing punishes false ones, low rigor
wins. Removing publication bias makes failed replications visible and costly, so rigor rises and the
false discovery rate falls.
"""

from __future__ import annotations

import torch

from models.games import GAMES
from models.games.publication import PUBLICATION_PARAMS
from models.learners import resolve_learner
from models.simulate import simulate

INDEX = {m.name: i for i, m in enumerate(GAMES["publication"].metrics)}


def steady_state(series: torch.Tensor, metric: str) -> torch.Tensor:
    """Per world: the metric's mean over the last fifth of rounds."""
    tail = series[-series.shape[0] // 5 :, :, INDEX[metric]]
    return tail.nanmean(0)


def test_publication_bias_lowers_rigor_and_raises_false_discoveries():
    learner = {"researcher": resolve_learner({"exploration": "softmax"}, "learners.researcher")}
    worlds = [PUBLICATION_PARAMS.resolve({"n_researchers": 60, "publish_null_prob": p}) for p in (0, 1)] * 3
    series = simulate("publication", worlds, learner, seeds=[1, 1, 2, 2, 3, 3], rounds=400)
    rigor = steady_state(series, "mean_rigor").view(3, 2)
    fdr = steady_state(series, "false_discovery_rate").view(3, 2)
    assert (rigor[:, 1] > rigor[:, 0] + 0.2).all(), rigor
    assert (fdr[:, 0] > fdr[:, 1] + 0.1).all(), fdr


def test_without_penalties_for_refuted_findings_rigor_decays():
    learner = {"researcher": resolve_learner({"exploration": "softmax"}, "learners.researcher")}
    worlds = [
        PUBLICATION_PARAMS.resolve(
            {"n_researchers": 60, "publish_null_prob": 1.0, "failed_replication_penalty": penalty}
        )
        for penalty in (0.0, 3.0)
    ]
    series = simulate("publication", worlds * 2, learner, seeds=[4, 4, 5, 5], rounds=400)
    rigor = steady_state(series, "mean_rigor").view(2, 2)
    assert (rigor[:, 0] < 0.3).all(), rigor  # well below the 0.5 of random choice
    assert (rigor[:, 1] > rigor[:, 0] + 0.2).all(), rigor
