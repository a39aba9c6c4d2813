"""The benchmark's per-agent baselines play the same game and learn the same way as the batched engine."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from benchmarks.agent_learner import AgentLearner
from benchmarks.mesa_publication import PublicationModel, run_mesa
from benchmarks.pettingzoo_loop import build, play, run_loop
from models.games.publication.metrics import PUBLICATION_METRICS
from models.games.publication.params import PUBLICATION_PARAMS
from models.learners import resolve_learner
from models.simulate import simulate

METRIC = {metric.name: i for i, metric in enumerate(PUBLICATION_METRICS)}


def world(**values) -> dict:
    return PUBLICATION_PARAMS.resolve(values)


@pytest.mark.parametrize("rng", [random.Random(0), np.random.default_rng(0)], ids=["random", "numpy"])
def test_softmax_frequencies_match_boltzmann_probabilities(rng):
    learner = AgentLearner(4, rng, temperature=0.1)
    learner.values = [0.0, 0.1, 0.2, -0.1]
    weights = [math.exp(q / 0.1) for q in learner.values]
    expected = [w / sum(weights) for w in weights]
    assert learner.probabilities() == pytest.approx(expected)
    n = 20_000
    counts = np.bincount([learner.act() for _ in range(n)], minlength=4)
    chi_square = sum((c - n * p) ** 2 / (n * p) for c, p in zip(counts, expected, strict=True))
    assert chi_square < 21  # 3 degrees of freedom: P(chi2 > 21) ~ 1e-4


def test_update_moves_the_chosen_value_toward_the_reward():
    learner = AgentLearner(3, random.Random(1), learning_rate=0.1, initial_value=0.5)
    learner.learn(2, 1.5)
    assert learner.values == pytest.approx([0.5, 0.5, 0.6])
    for _ in range(200):
        learner.learn(2, 1.5)
    assert learner.values[2] == pytest.approx(1.5, abs=1e-6)
    learner.credit(0, -3.0)  # a late penalty: learning_rate x amount, nothing else moves
    assert learner.values[:2] == pytest.approx([0.2, 0.5])


@pytest.mark.parametrize("action", [0, 1, 2])  # novel at rigor 0, 0.5, 1
def test_mesa_fdr_with_fixed_actions_matches_ioannidis(action):
    """Every published novel positive is false with probability 1 - PPV: a binomial count."""
    params = world(n_researchers=500, base_rate=0.1, power=0.8, alpha=0.05, hacked_alpha=0.3)
    model = PublicationModel(params, seed=action, fixed_action=action)
    for _ in range(40):
        model.step()
    rigor = action / 2
    alpha = 0.3 + (0.05 - 0.3) * rigor
    ppv = 0.8 * 0.1 / (0.8 * 0.1 + alpha * 0.9)
    n = sum(t["published_novel_positives"] for t in model.history)
    false = sum(t["published_false_positives"] for t in model.history)
    z = (false - n * (1 - ppv)) / math.sqrt(n * ppv * (1 - ppv))
    assert n > 1000 and abs(z) < 4, f"FDR {false / n:.3f} vs {1 - ppv:.3f}"
    assert model.history[-1]["rigor_sum"] == 500 * rigor


def test_mesa_refutation_charges_the_producing_action_once_per_finding():
    params = world(
        n_researchers=200, base_rate=0.0, alpha=1.0, hacked_alpha=1.0, rigor_cost=0.0, publish_null_prob=1.0
    )
    model = PublicationModel(params, seed=5, fixed_action=1)  # round 0: everyone publishes a false finding
    model.step()
    assert model.history[0]["published_false_positives"] == 200
    model.p = {**params, "alpha": 0.0, "hacked_alpha": 0.0}
    model.fixed_action = 5  # round 1: everyone replicates at full rigor, every replication fails
    model.step()
    tallies = model.history[1]
    charged = [agent.learner.values for agent in model.agents]
    assert all(v[0] == v[2] == v[3] == v[4] == v[5] == 0 for v in charged)
    refuted = sum(v[1] < 0 for v in charged)
    assert {round(v[1], 9) for v in charged} <= {0.0, -0.3}  # learning rate x penalty, at most once
    # A finding is replicated once: every study replicates (and refutes) a different finding, and
    # replicators who drew a finding someone else took first ran no study.
    assert 0 < refuted == tallies["replication_studies"] < 200
    expected_payoff = tallies["replication_studies"] * (0.2 + 0.5) - 3.0 * refuted
    assert tallies["payoff_sum"] == pytest.approx(expected_payoff)


def long_run(params: dict, mesa_seeds: list[int], engine_seeds: list[int]) -> dict[str, tuple]:
    """Mean rigor and mean FDR over rounds 200-299, per Mesa run and per engine world, default learners."""
    rounds, last, n = 300, 100, params["n_researchers"]
    mesa = {"mean_rigor": [], "false_discovery_rate": []}
    for seed in mesa_seeds:
        model = PublicationModel(params, seed)
        for _ in range(rounds):
            model.step()
        tail = model.history[-last:]
        mesa["mean_rigor"].append(np.mean([t["rigor_sum"] / n for t in tail]))
        positives = [(t["published_false_positives"], t["published_novel_positives"]) for t in tail]
        fdr = [false / n for false, n in positives if n]  # undefined in a round without any, as in the engine
        mesa["false_discovery_rate"].append(np.mean(fdr))
    learner = {"researcher": resolve_learner({}, "learners.researcher")}
    out = simulate("publication", [params] * len(engine_seeds), learner, engine_seeds, rounds)[-last:]
    engine = {name: out[:, :, METRIC[name]].nanmean(0).tolist() for name in mesa}
    return {name: (np.mean(mesa[name]), np.mean(engine[name])) for name in mesa}


@pytest.mark.parametrize(
    "game",
    [
        {},  # the defaults
        {"studies_per_round": 2, "literature_size": 30, "publish_null_prob": 0.5},  # ring buffer wraps
    ],
    ids=["defaults", "small-literature"],
)
def test_mesa_learning_reaches_the_engine_long_run(game):
    """Measured over 10 seed sets, the difference (4 Mesa runs vs 8 engine worlds) has mean <= 0.008 and sd
    <= 0.013 in mean rigor, <= 0.016 in FDR: tolerances are 4 sd. The rules matter far more: without the
    penalty mean rigor falls from 0.25 to 0.17; taking a replicated finding out of the pool within its round
    drops the small-literature rigor from 0.56 to 0.15.
    """
    results = long_run(world(n_researchers=100, **game), mesa_seeds=[1, 2, 3, 4], engine_seeds=list(range(8)))
    mesa_rigor, engine_rigor = results["mean_rigor"]
    mesa_fdr, engine_fdr = results["false_discovery_rate"]
    assert abs(mesa_rigor - engine_rigor) < 0.05, results
    assert abs(mesa_fdr - engine_fdr) < 0.065, results


@pytest.mark.parametrize(
    ("game", "params", "agents"),
    [
        ("publication", {"n_researchers": 30}, 30 + 1 + 1),  # researchers, the journal, the funder
        ("election", {"n_voters": 40, "n_candidates": 3, "rule": "instant_runoff"}, 40 + 3 + 1),
    ],
)
def test_run_loop_counts_every_agent_decision(game, params, agents):
    assert run_loop(game, params, rounds=7, seed=2) == agents * 7


def test_run_mesa_counts_every_agent_decision():
    assert run_mesa(world(n_researchers=30), rounds=7, seed=2) == 30 * 7


def test_pettingzoo_researchers_learn_that_sloppy_novel_work_pays_without_penalties():
    """All results published, no penalty: novel at rigor 0 earns 0.675 per round, every other action < 0.5."""
    params = {"n_researchers": 100, "publish_null_prob": 1.0, "failed_replication_penalty": 0.0}
    env, learners = build("publication", params, rounds=100, seed=3)
    play(env, learners)
    sloppy_novel = np.mean([learner.probabilities()[0] for learner in learners.values()])
    assert sloppy_novel > 0.5  # 1/6 before learning


def test_pettingzoo_voters_learn_to_abstain_when_voting_is_costly():
    """One vote barely moves the policy, so voting at cost 1 (10 x the temperature) loses about 1."""
    env, learners = build("election", {"n_voters": 100, "n_candidates": 3, "voting_cost": 1.0}, 20, seed=4)
    play(env, learners)
    voting = np.mean([learners[f"voter_{i}"].probabilities()[1] for i in range(100)])
    assert voting < 0.25  # 1/2 before learning
