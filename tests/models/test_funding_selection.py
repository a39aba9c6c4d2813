"""Smaldino, Turner & Contreras Kallens (2019, R. Soc. Open Sci. 6:190194; corrected text 6:191249),
"Open science and modified funding lotteries can impede the natural selection of bad science", reproduced
qualitatively with evolving labs.

Their model: 100 labs of power 0.8, base rate 0.1, each with a heritable false positive rate alpha; a study
costs 1 fund, a lab with no funds idles; one grant of G = 10 a step; a new lab gets G; each step the oldest
of 10 sampled labs dies and the most published of 10 others reproduces (mutation 0.05). Here alpha is the
effort model's W / (1 + (1 - W) e) with effort e the heritable trait and no productivity cost (eta = 0), so
that, as in theirs, a lab's methods change only its false positive rate; the funder ranks all labs, not 10
sampled applicants. Their runs start at alpha 0.05 and last 10^7 steps; ours start at e = 20 (alpha 0.16),
where a mutation of effort moves alpha enough for selection to show within 2,000 rounds (at e = 75 a unit
of effort moves alpha by 0.0006), with offspring mutating by 3 effort units.

Their results (Fig. 2-4): with funding by publications, alpha rises to its maximum about four times faster
than with a lottery (both end there when negative results go unpublished and review catches nothing); a
modified lottery that funds only labs with alpha <= A, with negative results published, keeps alpha low and
the false discovery rate with it.

Run: 32 worlds per rule (seeds 0-127), 2,000 rounds. Tolerances: the differences asserted are more than
twice their standard error over worlds (publications vs lottery: 0.08 +- 0.024 in time-averaged alpha).
"""

from __future__ import annotations

import torch

from models.games.publication.methods import smaldino_alpha
from models.games.publication.params import PUBLICATION_PARAMS
from models.learners import resolve_learner
from models.simulate import build_batch

WORLDS, ROUNDS = 32, 2_000


def stck_world(rule: str, publish_null_prob: float = 0.0) -> dict:
    return PUBLICATION_PARAMS.resolve(
        {
            "study_model": "effort",
            "n_researchers": 100,
            "base_rate": 0.1,
            "power": 0.8,
            "effort": 20.0,
            "max_effort": 100.0,
            "effort_productivity": 0.0,
            "replication_rate": 0.0,
            "publish_null_prob": publish_null_prob,
            "novelty_reward": 1.0,
            "null_reward": 1.0,  # fitness is the publication count, negative results included
            "study_cost": 1.0,
            "initial_funds": 10.0,
            "grant_budget": 10.0,
            "grants_per_period": 1,
            "funding_rule": rule,
            "funding_threshold": 0.0,
            "funding_alpha_cap": 0.2,  # A: only the modified lottery reads it
        }
    )


def test_funding_by_publications_selects_for_false_positives_faster_than_a_lottery_and_a_modified_lottery_with_open_science_stops_it():  # noqa: E501
    cases = {
        "publications": stck_world("publications"),
        "lottery": stck_world("lottery"),
        "lottery, negatives published": stck_world("lottery", 0.5),
        "modified lottery, negatives published": stck_world("modified_lottery", 0.5),
    }
    worlds = [world for world in cases.values() for _ in range(WORLDS)]
    evolution = resolve_learner(
        {"kind": "evolution", "mutation_rate": 0.05, "mutation_scale": 3.0, "mutates": "effort"}, "learners"
    )
    batch = build_batch("publication", worlds, {"researcher": evolution}, list(range(len(worlds))))
    alphas, false, new = [], torch.zeros(len(worlds)), torch.zeros(len(worlds))
    for t in range(ROUNDS):
        tallies = batch.round().tallies
        if t >= ROUNDS // 2:
            false += tallies.published_false_positives.float()
            new += tallies.published_novel_positives.float()
        if (t + 1) % 250 == 0:
            effort = batch.learners["researcher"].values[..., 0]
            alphas.append(smaldino_alpha(0.8, effort).mean(1).view(len(cases), WORLDS))
    alpha = dict(zip(cases, torch.stack(alphas).mean(0), strict=True))  # time-averaged, per world
    fdr = dict(zip(cases, (false / new).view(len(cases), WORLDS), strict=True))

    def mean(x: torch.Tensor) -> float:
        return float(x.mean())

    def se_of_difference(a: torch.Tensor, b: torch.Tensor) -> float:
        return float((a.var() / len(a) + b.var() / len(b)).sqrt())

    # 1. Publications select for high alpha faster than a lottery.
    pubs, lottery = alpha["publications"], alpha["lottery"]
    assert mean(pubs) - mean(lottery) > 2 * se_of_difference(pubs, lottery), (mean(pubs), mean(lottery))
    assert mean(lottery) > 0.17  # and the lottery does not stop it (alpha started at 0.16)
    # 2. A modified lottery with negative results published keeps alpha below its cap, and gives the
    # lowest false discovery rate of the four.
    screened = "modified lottery, negatives published"
    assert float(alpha[screened].max()) < 0.2
    for other in ("publications", "lottery", "lottery, negatives published"):
        gap = mean(fdr[other]) - mean(fdr[screened])
        assert gap > 2 * se_of_difference(fdr[other], fdr[screened]), (other, gap)
