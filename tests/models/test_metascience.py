"""The field's classic models, reproduced in the publication game's batched engine.

Ioannidis (2005) "Why most published research findings are false", Table 4; McElreath & Smaldino (2015)
"Replication, communication, and the population dynamics of scientific discovery" (PLoS ONE 10: e0136088);
Smaldino & McElreath (2016) "The natural selection of bad science" (R. Soc. open sci. 3: 160384). Each test
states its run length, seeds and tolerance. The evolutionary run of Smaldino & McElreath lives in
studies/natural_selection_of_bad_science.toml (REPORT.md section 5); here a short one checks its direction.
"""

from __future__ import annotations

import functools
import math

import pytest
import torch

from models.games import GAMES
from models.games.publication import PUBLICATION_PARAMS
from models.games.publication.beliefs import posterior
from models.games.publication.methods import smaldino_alpha, smaldino_productivity
from models.learners import resolve_learner
from models.simulate import build_batch, play, simulate

INDEX = {m.name: i for i, m in enumerate(GAMES["publication"].metrics)}


def fixed(probabilities: list[float]) -> dict:
    return {"researcher": resolve_learner({"kind": "fixed", "probabilities": probabilities}, "researcher")}


def published_ppv(tallies: list) -> tuple[float, int]:
    """The share of published novel positives that are true over the rounds and worlds, and their count."""
    positives = sum(int(t.published_novel_positives.sum()) for t in tallies)
    false = sum(int(t.published_false_positives.sum()) for t in tallies)
    return (positives - false) / positives, positives


def ioannidis_ppv(power: float, odds: float, u: float, alpha: float = 0.05) -> float:
    """Ioannidis (2005), with bias u: PPV = ((1 - beta) R + u beta R) / (R + alpha - beta R + u - u alpha +
    u beta R)."""
    beta = 1 - power
    return ((1 - beta) * odds + u * beta * odds) / (
        odds + alpha - beta * odds + u - u * alpha + u * beta * odds
    )


# Ioannidis (2005), Table 4: power 1 - beta, pre-study odds R, bias u, and the PPV printed there (alpha 0.05).
TABLE_4 = [
    (0.80, 1 / 1, 0.10, 0.85),  # adequately powered RCT with little bias, 1:1 pre-study odds
    (0.95, 2 / 1, 0.30, 0.85),  # confirmatory meta-analysis of good-quality RCTs
    (0.80, 1 / 3, 0.40, 0.41),  # meta-analysis of small inconclusive studies
    (0.20, 1 / 5, 0.20, 0.23),  # underpowered, but well-performed phase I/II RCT
    (0.20, 1 / 5, 0.80, 0.17),  # underpowered, poorly performed phase I/II RCT
    (0.80, 1 / 10, 0.30, 0.20),  # adequately powered exploratory epidemiological study
    (0.20, 1 / 10, 0.30, 0.12),  # underpowered exploratory epidemiological study
    (0.20, 1 / 1000, 0.80, 0.0010),  # discovery-oriented exploratory research with massive testing
    (0.20, 1 / 1000, 0.20, 0.0015),  # as above, with more limited bias
]


@pytest.mark.parametrize(("power", "odds", "u", "printed"), TABLE_4)
def test_ioannidis_table_4_ppv_with_bias(power, odds, u, printed):
    """Every study novel, alpha 0.05 (rigor_levels 2 with alpha = hacked_alpha), base rate R / (1 + R),
    power and u (qrp_bias) as in the row, every positive published: the simulated PPV of the published
    novel positives is within 4 Monte Carlo standard errors of Ioannidis' formula, which gives the printed
    value to its printed digits. 200,000 researchers x 6 rounds (1.2 million studies), seed 2005. A u that
    only raised alpha would miss rows 1-5, whose true hypotheses gain positives from u too."""
    expected = ioannidis_ppv(power, odds, u)
    assert round(expected, 2 if printed >= 0.01 else 4) == printed
    world = PUBLICATION_PARAMS.resolve(
        {"n_researchers": 200_000, "rigor_levels": 2, "alpha": 0.05, "hacked_alpha": 0.05,
         "power": power, "base_rate": odds / (1 + odds), "qrp_bias": u, "rigor_cost": 0.0}
    )  # fmt: skip
    ppv, positives = published_ppv(play("publication", [world], fixed([1, 0, 0, 0]), [2005], 6))
    error = math.sqrt(expected * (1 - expected) / positives)
    assert abs(ppv - expected) < 4 * error, (ppv, expected, error)


def test_smaldino_mcelreath_effort_sets_alpha_and_productivity():
    """Smaldino & McElreath (2016): alpha(W = 0.8, e = 75) = 0.05 exactly, and h(75) = 0.625 with eta = 0.2
    as printed: 1 - 0.2 log10(75) = 0.624988, which the paper rounds (so to 5e-5 here). At the least effort,
    e = 1, alpha = W / (2 - W) = 2/3 and h = 1."""
    assert smaldino_alpha(0.8, 75.0) == pytest.approx(0.05, rel=1e-12)
    assert smaldino_productivity(75.0, 0.2) == pytest.approx(0.625, abs=5e-5)
    assert smaldino_alpha(0.8, 1.0) == pytest.approx(2 / 3, rel=1e-12)
    assert smaldino_productivity(1.0, 0.2) == 1.0


@pytest.mark.parametrize(("effort", "fdr"), [(75.0, 0.36), (1.0, 0.88)])
def test_the_effort_model_gives_smaldino_and_mcelreaths_false_discovery_rates(effort, fdr):
    """Labs of effort e in their world (base rate 0.1, W = 0.8, only positive novel results published), all
    testing novel hypotheses: studies finish at the rate h(e), and the false discovery rate of published
    novel positives is (1 - b) alpha / ((1 - b) alpha + b W): 0.36 at e = 75, their start, and 0.88 at e = 1,
    where selection takes them. 20,000 labs x 10 rounds, seed 2016; within 4 standard errors."""
    world = PUBLICATION_PARAMS.resolve(
        {"preset": "smaldino_mcelreath_2016", "n_researchers": 20_000, "effort": effort, "effort_levels": 1}
    )
    tallies = play("publication", [world], fixed([1, 0]), [2016], 10)
    finished = sum(int(t.novel_studies.sum()) for t in tallies) / (20_000 * 10)
    h = smaldino_productivity(effort, 0.2)
    assert abs(finished - h) < 4 * math.sqrt(h * (1 - h) / (20_000 * 10)) + 1e-9
    alpha = smaldino_alpha(0.8, effort)
    expected = 0.9 * alpha / (0.9 * alpha + 0.1 * 0.8)
    assert round(expected, 2) == fdr
    ppv, positives = published_ppv(tallies)
    assert abs((1 - ppv) - expected) < 4 * math.sqrt(expected * (1 - expected) / positives)


@functools.cache
def evolved_effort(replication_rate: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Smaldino & McElreath's (2016) labs of Table 1 (the preset: e0 = 75, W = 0.8, eta = 0.2, d = 10, V_N =
    1, V_R = 0.5, V_O+ = 0.1, V_O- = -100), effort alone heritable, over 3,000 rounds in 8 worlds (seeds
    1-8): each world's mean effort over its last 200 rounds, and the false discovery rate's series.

    Every offspring's effort mutates (mutation_rate 1, sigma_e = 1 as theirs): their 0.01 shows the same
    selection over 100 times as many steps. The literature holds 12,000 findings, more than these runs
    publish: as in their model, every published finding stays replicable."""
    learner = {
        "researcher": resolve_learner(
            {"kind": "evolution", "mutates": "effort", "mutation_rate": 1.0}, "researcher"
        )
    }
    world = PUBLICATION_PARAMS.resolve(
        {"preset": "smaldino_mcelreath_2016", "replication_rate": replication_rate, "literature_size": 12_000}
    )
    series = simulate("publication", [world] * 8, learner, list(range(1, 9)), 3_000, record_every=10)
    return series[-20:, :, INDEX["mean_effort"]].mean(0), series[:, :, INDEX["false_discovery_rate"]]


def test_without_replication_effort_evolves_down_and_false_discoveries_up():
    """Smaldino & McElreath (2016), figure 3: selection for output lowers effort and raises the false
    discovery rate of published novel findings (from 0.36 toward 0.88: the full run is in
    studies/natural_selection_of_bad_science.toml). Here, after 3,000 rounds (see evolved_effort): the mean
    effort of the 8 worlds is below 70 (it starts at 75; mutational drift alone moves a world's mean by
    about 4 over this run, and the 8 worlds' mean by about 1.5), and the false discovery rate over the last
    500 rounds exceeds that of the first 500 by at least 0.02."""
    effort, fdr = evolved_effort(0.0)
    assert effort.mean() < 70, effort
    assert fdr[-50:].nanmean() > fdr[:50].nanmean() + 0.02, fdr


def test_replication_slows_the_decline_of_effort_but_does_not_stop_it():
    """Smaldino & McElreath (2016), figure 5: with replication (r = 0.5, V_O- = -100) effort falls more
    slowly, but falls. After 3,000 rounds (see evolved_effort) the 8 worlds' mean effort is at least 2
    above that of labs that never replicate, and at least 2 below its start."""
    replicating, _ = evolved_effort(0.5)
    never, _ = evolved_effort(0.0)
    assert never.mean() + 2 < replicating.mean() < 75 - 2, (never, replicating)


def literature_world(**changes) -> dict:
    """Every study at full rigor (alpha 0.05), power 0.8, base rate 0.3; every result published unless
    changed; a finding replicable any number of times; a literature that never fills in these runs."""
    return PUBLICATION_PARAMS.resolve(
        {"n_researchers": 2_000, "rigor_levels": 2, "alpha": 0.05, "hacked_alpha": 0.05, "power": 0.8,
         "base_rate": 0.3, "rigor_cost": 0.0, "publish_null_prob": 1.0, "replications_per_finding": 0,
         "literature_size": 60_000, **changes}
    )  # fmt: skip


# Half the researchers test novel hypotheses, half replicate, all at full rigor (actions 1 and 3).
NOVEL_AND_REPLICATE = [0, 0.5, 0, 0.5]


def test_the_literatures_posterior_is_the_closed_form_of_mcelreath_and_smaldino():
    """McElreath & Smaldino (2015): with every result published, the share of true hypotheses among those
    whose published record is k positives and m negatives equals b W^k (1 - W)^m / (b W^k (1 - W)^m + (1 -
    b) alpha^k (1 - alpha)^m). 2,000 researchers x 60 rounds (about 15,000 findings, replicated 0-6 times),
    seed 2015; every record class with at least 150 hypotheses within 4 standard errors of the closed form.
    The game's canonized tallies agree with the posterior computed here, hypothesis by hypothesis."""
    world = literature_world()
    batch = build_batch("publication", [world], fixed(NOVEL_AND_REPLICATE), [2015])
    with torch.inference_mode():
        for _ in range(60):
            result = batch.round()
    literature = batch.engine.literature
    filled = literature.hypothesis[0] >= 0
    k = (literature.published_positive[0] + 1)[filled]
    m = literature.published_negative[0][filled]
    true = literature.true[0][filled]
    tested = 0
    for kk, mm in {(int(a), int(b)) for a, b in zip(k, m, strict=True)}:
        members = (k == kk) & (m == mm)
        n = int(members.sum())
        if n < 150:
            continue
        expected = float(posterior(kk, mm, 0.3, 0.8, 0.05))
        share = float(true[members].float().mean())
        assert abs(share - expected) < 4 * math.sqrt(max(expected * (1 - expected), 1e-4) / n), (kk, mm)
        tested += 1
    assert tested >= 5  # the record classes checked: refuted and confirmed ones among them
    belief = posterior(k, m, 0.3, 0.8, 0.05)
    tallies = result.tallies
    assert int(tallies.literature_hypotheses) == int(filled.sum())
    assert int(tallies.false_canonized) == int(((belief >= 0.95) & ~true).sum())
    assert int(tallies.true_canonized) == int(((belief >= 0.95) & true).sum())
    assert int(tallies.believed_correctly) == int(((belief > 0.5) == true).sum())


def test_a_small_literature_replicated_many_times_is_believed_finding_by_finding():
    """A literature of 12 places that 200 researchers keep replicating: its findings gather dozens of
    published results, so there are more (k, m, truth) classes than places and the rules count place by
    place; the tallies still equal the posterior computed here, hypothesis by hypothesis, every round."""
    world = literature_world(n_researchers=200, literature_size=12)
    batch = build_batch("publication", [world], fixed([0, 0.02, 0, 0.98]), [7])  # 2% novel, at full rigor
    counted_by_place = 0
    with torch.inference_mode():
        for _ in range(40):
            tallies = batch.round().tallies
            literature = batch.engine.literature
            filled = literature.hypothesis[0] >= 0
            k = (literature.published_positive[0] + 1)[filled]
            m = literature.published_negative[0][filled]
            true = literature.true[0][filled]
            if filled.any():
                counted_by_place += 2 * (int(k.max()) + 1) * (int(m.max()) + 1) > 12
            belief = posterior(k, m, 0.3, 0.8, 0.05)
            assert int(tallies.literature_hypotheses) == int(filled.sum())
            assert int(tallies.literature_true) == int(true.sum())
            assert int(tallies.false_canonized) == int(((belief >= 0.95) & ~true).sum())
            assert int(tallies.true_canonized) == int(((belief >= 0.95) & true).sum())
            assert int(tallies.believed_correctly) == int(((belief > 0.5) == true).sum())
    assert counted_by_place >= 30


def test_hiding_failed_replications_makes_the_literature_believe_worse():
    """McElreath & Smaldino (2015): suppressing negative replications (cR- -> 0) makes the literature's
    beliefs less accurate and canonizes false findings. Same world as above, 2,000 researchers x 40 rounds,
    seeds 1-3: with cR- = 0 every world believes fewer hypotheses the right way (by at least 0.05) and holds
    more false ones as facts than with cR- = 1."""
    seeds = [1, 2, 3]
    worlds = [literature_world(publish_replication_null_prob=c) for c in (1.0, 0.0)]
    series = simulate(
        "publication", [worlds[0]] * 3 + [worlds[1]] * 3, fixed(NOVEL_AND_REPLICATE), seeds * 2, 40
    )
    accuracy = series[-1, :, INDEX["belief_accuracy"]].view(2, 3)
    false_facts = series[-1, :, INDEX["false_canonized_share"]].view(2, 3)
    assert (accuracy[1] < accuracy[0] - 0.05).all(), accuracy
    assert (false_facts[1] > false_facts[0]).all(), false_facts
