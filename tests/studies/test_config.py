"""Study configs: expansion into runs, stable identities, and refusals before anything runs."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from helpers import tiny_config

from models.params import ConfigError
from studies.config import load_study, plan_study

DEFAULT_STUDY = Path(__file__).resolve().parents[2] / "studies" / "publication_bias.toml"


def test_a_grid_expands_to_design_points_times_replications():
    config = tiny_config(replications=3)
    config["sweep"]["learners.researcher.temperature"] = [0.05, 0.1, 0.2]
    plan = plan_study(config)
    assert plan.design_points == 6 and len(plan.runs) == 18
    assert len({run.run_id for run in plan.runs}) == 18
    assert {run.game["publish_null_prob"] for run in plan.runs} == {0.0, 1.0}
    assert {run.learners["researcher"]["temperature"] for run in plan.runs} == {0.05, 0.1, 0.2}
    # Common random numbers: replication r has the same seed at every design point.
    by_replicate = {}
    for run in plan.runs:
        by_replicate.setdefault(run.replicate, set()).add(run.seed)
    assert all(len(seeds) == 1 for seeds in by_replicate.values())
    assert len({seeds.pop() for seeds in by_replicate.values()}) == 3


def test_identity_is_stable_and_follows_the_config():
    first, second = plan_study(tiny_config()), plan_study(tiny_config())
    assert first.study_id == second.study_id
    assert [r.run_id for r in first.runs] == [r.run_id for r in second.runs]
    changed = tiny_config(rounds=41)
    assert plan_study(changed).study_id != first.study_id
    # Spelling out a default does not change the study.
    explicit = tiny_config()
    explicit["game"]["power"] = 0.8
    assert plan_study(explicit).study_id == first.study_id


def test_the_default_study_file_plans():
    plan = load_study(DEFAULT_STUDY)
    assert plan.name == "publication_bias" and plan.swept == ["publish_null_prob"]
    assert plan.design_points == 5


def edit(path: list[str], value) -> dict:
    config = copy.deepcopy(tiny_config())
    target = config
    for key in path[:-1]:
        target = target.setdefault(key, {})
    target[path[-1]] = value
    return config


@pytest.mark.parametrize(
    ("config", "fragments"),
    [
        (edit(["results"], {}), ["unknown section(s) results", "[study]"]),
        (edit(["study", "rounds"], 0), ["study.rounds = 0", ">= 1"]),
        (edit(["study", "rounds"], "many"), ["study.rounds = 'many'", "an integer"]),
        (edit(["study", "name"], "bad name!"), ["name = 'bad name!'", "letters, digits"]),
        (edit(["study", "name"], ""), ["name is missing", "letters, digits"]),
        (edit(["study", "game"], "chess"), ["study.game = 'chess'", "allowed are publication"]),
        (edit(["game", "base_rate"], 2), ["game.base_rate = 2", "<= 1"]),
        (edit(["game", "bias"], 1), ["unknown parameter(s) bias"]),
        (edit(["sweep", "power"], []), ["sweep.power", "non-empty list"]),
        (edit(["sweep", "power"], 0.5), ["sweep.power = 0.5", "non-empty list"]),
        (edit(["sweep", "power"], [0.5, 0.5]), ["lists a value twice"]),
        (edit(["sweep", "publish_null_prob"], [0.0, 1.5]), ["sweep point", "publish_null_prob = 1.5"]),
        (edit(["sweep", "voters"], [1, 2]), ["sweep.voters is not a parameter of the publication game"]),
        (edit(["learners", "voter"], {}), ["unknown role(s) voter", "researcher"]),
        (edit(["learners", "researcher"], {"kind": "fixed", "probabilities": [1, 2]}), ["list of 6"]),
        (edit(["learners", "researcher"], {"epsilon": 2}), ["learners.researcher.epsilon = 2"]),
    ],
)
def test_bad_configs_are_refused_with_one_clear_message(config, fragments):
    with pytest.raises(ConfigError) as error:
        plan_study(config)
    for fragment in fragments:
        assert fragment in str(error.value)


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_study(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[study\nname = 1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_study(broken)
