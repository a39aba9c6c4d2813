"""A study may sweep a role's learner family: each value brings its own parameters, batches never mix
families, and the runs table has every family's parameter columns."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import tiny_config

from models.params import ConfigError
from studies import store
from studies.config import plan_study
from studies.runner import run_study

FAMILIES = ["q_learning", "imitation", "policy_gradient"]


def family_config(**sweep) -> dict:
    config = tiny_config(name="families", rounds=15)
    config["sweep"] = {"learners.researcher.kind": FAMILIES, **sweep}
    return config


def test_sweeping_the_learner_family_runs_each_with_its_own_parameters(db: Path):
    plan = plan_study(family_config(publish_null_prob=[0.0, 1.0]))
    assert sorted({run.learners["researcher"]["kind"] for run in plan.runs}) == sorted(FAMILIES)
    run_study(plan, db, progress=False)
    rows = store.query(
        db,
        "SELECT researcher_kind AS kind, count(*) AS runs, count(researcher_temperature) AS temperature, "
        "count(researcher_noise) AS noise, count(researcher_hidden) AS hidden "
        "FROM runs GROUP BY 1 ORDER BY 1",
    ).to_dicts()
    assert rows == [
        {"kind": "imitation", "runs": 4, "temperature": 0, "noise": 4, "hidden": 0},
        {"kind": "policy_gradient", "runs": 4, "temperature": 0, "noise": 0, "hidden": 4},
        {"kind": "q_learning", "runs": 4, "temperature": 4, "noise": 0, "hidden": 0},
    ]
    per_kind = store.query(
        db,
        "SELECT researcher_kind, count(DISTINCT run_id) AS n FROM final_metrics JOIN runs USING (run_id) "
        "GROUP BY 1",
    )
    assert sorted(per_kind["n"].to_list()) == [4, 4, 4]


def test_an_unknown_family_or_a_parameter_another_family_lacks_is_refused():
    with pytest.raises(ConfigError, match=r"learners\.researcher\.kind"):
        plan_study({**family_config(), "sweep": {"learners.researcher.kind": ["q_learning", "telepathy"]}})
    config = family_config()
    config["learners"] = {"researcher": {"temperature": 0.2}}  # q_learning's, not imitation's
    with pytest.raises(ConfigError, match="temperature"):
        plan_study(config)
