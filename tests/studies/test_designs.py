"""Sweep designs: sizes, ranges, stratification, refusals, and sensitivity indices against known values."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from models.params import ConfigError
from studies import sensitivity
from studies.config import plan_study

RANGES = {"publish_null_prob": {"low": 0.1, "high": 0.9}, "n_researchers": {"low": 10, "high": 50}}


def plan(kind: str, samples: int = 8, sweep=None, replications: int = 1, **design):
    return plan_study(
        {
            "study": {"name": f"d_{kind}", "rounds": 5, "replications": replications, "seed": 3},
            "design": {"kind": kind, "samples": samples, **design},
            "sweep": sweep or RANGES,
        }
    )


def matrix(p) -> np.ndarray:
    values = p.point_values()
    return np.array([[values[i][a.key] for a in p.axes] for i in range(p.design_points)], dtype=float)


def test_grid_ranges_expand_to_evenly_spaced_values():
    p = plan("grid", sweep={"base_rate": {"low": 0.1, "high": 0.5, "steps": 5}, "rigor_levels": [2, 4]})
    assert p.design_points == 10
    assert sorted({run.game["base_rate"] for run in p.runs}) == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])


@pytest.mark.parametrize(
    ("kind", "points"), [("random", 12), ("latin_hypercube", 12), ("sobol", 16 * 4), ("morris", 5 * 3)]
)
def test_sampled_designs_have_their_sizes_and_stay_in_range(kind, points):
    samples = {"random": 12, "latin_hypercube": 12, "sobol": 16, "morris": 5}[kind]
    p = plan(kind, samples=samples, replications=2)
    assert p.design_points == points and len(p.runs) == 2 * points
    x = matrix(p)
    assert ((x[:, 0] >= 0.1) & (x[:, 0] <= 0.9)).all()
    assert ((x[:, 1] >= 10) & (x[:, 1] <= 50)).all()
    assert all(isinstance(run.game["n_researchers"], int) for run in p.runs)  # integer axis is rounded
    again = plan(kind, samples=samples, replications=2)
    assert np.array_equal(matrix(again), x)  # the design seed makes it reproducible


def test_latin_hypercube_puts_one_point_in_every_slice_of_every_axis():
    p = plan("latin_hypercube", samples=20, sweep={"publish_null_prob": {"low": 0.0, "high": 1.0},
                                                   "base_rate": {"low": 0.0, "high": 1.0}})  # fmt: skip
    slices = np.floor(matrix(p) * 20).astype(int)
    for column in slices.T:
        assert sorted(column.tolist()) == list(range(20))


@pytest.mark.parametrize(
    ("kind", "sweep", "design", "fragment"),
    [
        ("random", {"base_rate": [0.1, 0.2]}, {}, "is a list, but a random design samples a range"),
        ("random", {"base_rate": {"low": 0.5, "high": 0.1}}, {}, "allowed is a range with low < high"),
        ("random", {"base_rate": {"low": 0.5, "high": 0.5}}, {}, "allowed is a range with low < high"),
        ("random", {"base_rate": {"low": 0.1, "high": 2}}, {}, "sweep.base_rate.high = 2"),
        ("random", {"base_rate": {"low": 0.1}}, {}, "is not a range"),
        ("grid", {"base_rate": {"low": 0.1, "high": 0.2}}, {}, "no steps: a grid axis needs steps"),
        ("sobol", {"base_rate": {"low": 0.1, "high": 0.2}}, {"samples": 12}, "not a power of two"),
        ("morris", {}, {}, "needs at least one swept range"),
        (
            "latin_hypercube",
            {"learners.researcher.colour": {"low": 0, "high": 1}},
            {},
            "has no parameter 'colour'",
        ),
        ("random", {"learners.researcher.exploration": {"low": 0, "high": 1}}, {}, "sweep it with a list"),
    ],
)
def test_bad_designs_are_refused(kind, sweep, design, fragment):
    with pytest.raises(ConfigError) as error:
        plan_study({"study": {"name": "bad"}, "design": {"kind": kind, **design}, "sweep": sweep})
    assert fragment in str(error.value)


def test_a_design_too_large_is_refused_with_its_size():
    with pytest.raises(ConfigError, match=r"4,000,000 runs .* at most 2,000,000"):
        plan("random", samples=1_000_000, replications=4)


def ishigami(x: np.ndarray) -> np.ndarray:
    """The Ishigami function on [-pi, pi]^3 (Ishigami & Homma 1990), the standard sensitivity benchmark."""
    return np.sin(x[:, 0]) + 7 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def outputs_of(p, function) -> pl.DataFrame:
    y = function(matrix(p) - math.pi)  # the axes below span [0, 2 pi]: shift to [-pi, pi]
    return pl.DataFrame({"design_point": range(len(y)), "metric": ["mean_payoff"] * len(y), "value": y})


def test_sobol_indices_of_the_ishigami_function_match_their_analytic_values(monkeypatch):
    two_pi = 2 * math.pi
    sweep = {k: {"low": 0.0, "high": two_pi} for k in ("novelty_reward", "replication_reward", "null_reward")}
    p = plan("sobol", samples=2048, sweep=sweep)
    monkeypatch.setattr(sensitivity, "point_outputs", lambda plan, db: outputs_of(plan, ishigami))
    indices = sensitivity.analyze(p, db=None)
    got = {(r["parameter"], r["statistic"]): r for r in indices.iter_rows(named=True)}
    analytic = {"S1": (0.3139, 0.4424, 0.0), "ST": (0.5576, 0.4424, 0.2437)}
    for statistic, values in analytic.items():
        for name, expected in zip(sweep, values, strict=True):
            row = got[(name, statistic)]
            assert abs(row["value"] - expected) < 0.05, (name, statistic, row["value"])
            assert row["ci_low"] <= row["value"] <= row["ci_high"]


def test_morris_ranks_parameters_by_their_elementary_effects(monkeypatch):
    sweep = {k: {"low": 0.0, "high": 1.0} for k in ("novelty_reward", "replication_reward", "null_reward")}
    p = plan("morris", samples=20, sweep=sweep)
    linear = lambda x: 3 * x[:, 0] + 1 * x[:, 1] + 0 * x[:, 2]  # noqa: E731
    monkeypatch.setattr(sensitivity, "point_outputs", lambda plan, db: outputs_of(plan, linear))
    mu_star = {
        r["parameter"]: r["value"] for r in sensitivity.analyze(p, db=None).iter_rows(named=True)
        if r["statistic"] == "mu_star"
    }  # fmt: skip
    # For a linear model the elementary effect is the slope: mu_star = |coefficient|.
    assert mu_star == pytest.approx(
        {"novelty_reward": 3.0, "replication_reward": 1.0, "null_reward": 0.0}, abs=1e-6
    )
