"""Bad study files: each is refused before anything runs, in one line, and the database is left byte for
byte as it was; or, if it is a study after all, it runs correctly. The issue's fifteen inputs, and a seeded
fuzz of malformed studies.
"""

from __future__ import annotations

import copy
import datetime
import hashlib
import json
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from helpers import tiny_config

from studies import runner, store
from studies.cli import main
from studies.config import load_study, plan_study

PUBLICATION = """[study]
name = "bad"
rounds = 6
replications = 1
seed = 1

[game]
n_researchers = 6
"""
ELECTION = """[study]
name = "bad"
game = "election"
rounds = 6
replications = 1
seed = 1

[game]
n_voters = 3
voter_distribution = "given"
"""
FIFTEEN = {
    "kind_a_list": (
        PUBLICATION + '[learners.researcher]\nkind = ["q_learning"]\n',
        "learners.researcher.kind",
    ),
    "kind_a_table": (PUBLICATION + "[learners.researcher]\nkind = {a=1}\n", "learners.researcher.kind"),
    "role_a_number": (PUBLICATION + "[learners]\nresearcher = 5\n", "learners.researcher = 5"),
    "role_a_string": (
        PUBLICATION + '[learners]\nresearcher = "softmax"\n',
        "learners.researcher = 'softmax'",
    ),
    "nan_in_actions": (
        PUBLICATION + '[learners.researcher]\nkind = "fixed_actions"\nactions = [0, nan, 0, 0, 0, 0]\n',
        "learners.researcher.actions[1] = nan",
    ),
    "nested_100000_deep": (
        PUBLICATION + "[sweep]\npublish_null_prob = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "nests lists or tables too deeply",
    ),
    "a_billion_steps": (
        PUBLICATION + "[sweep]\npublish_null_prob = {low = 0.0, high = 1.0, steps = 1000000000}\n",
        "sweep.publish_null_prob.steps = 1000000000",
    ),
    "nan_voter_position": (ELECTION + "voter_positions = [0.1, nan, 0.3]\n", "game.voter_positions[1] = nan"),
    "inf_voter_position": (ELECTION + "voter_positions = [0.1, inf, 0.3]\n", "game.voter_positions[1] = inf"),
    "nan_probability": (
        PUBLICATION + '[learners.researcher]\nkind = "fixed"\nprobabilities = [nan, 1, 1, 1, 1, 1]\n',
        "learners.researcher.probabilities[0] = nan",
    ),
    "inf_probability": (
        PUBLICATION + '[learners.researcher]\nkind = "fixed"\nprobabilities = [inf, 1, 1, 1, 1, 1]\n',
        "learners.researcher.probabilities[0] = inf",
    ),
    "huge_probability": (
        PUBLICATION + '[learners.researcher]\nkind = "fixed"\nprobabilities = [1e308, 1e308, 1, 1, 1, 1]\n',
        "learners.researcher.probabilities[0] = 1e+308",
    ),
    "one_value_twice": (PUBLICATION + "[sweep]\nrigor_levels = [2, 2.0]\n", "lists a value twice"),
    "a_huge_literature": (PUBLICATION + "literature_size = 1e8\n", "GiB of memory"),
    "ten_million_rounds": (PUBLICATION.replace("rounds = 6", "rounds = 1e7"), "10,000,000 recorded rounds"),
}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def store_with_a_study(tmp_path: Path) -> Path:
    db = tmp_path / "results.duckdb"
    runner.run_study(plan_study(tiny_config(rounds=5)), db, progress=False)
    return db


@pytest.mark.parametrize("text, names", FIFTEEN.values(), ids=FIFTEEN.keys())
def test_each_of_the_issues_fifteen_inputs_is_refused_in_one_line(
    text, names, store_with_a_study, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(runner, "available_memory", lambda: 16 * 2**30)  # the same refusals anywhere
    study = tmp_path / "bad.toml"
    study.write_text(text)
    before = digest(store_with_a_study)
    for command in ("check", "run"):
        assert main([command, str(study), "--db", str(store_with_a_study)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and names in err, err
    assert digest(store_with_a_study) == before


@pytest.mark.parametrize("name", ["nan_voter_position", "nested_100000_deep"])
def test_a_refusal_is_one_line_from_the_command_itself(name, store_with_a_study, tmp_path):
    study = tmp_path / "bad.toml"
    study.write_text(FIFTEEN[name][0])
    before = digest(store_with_a_study)
    done = subprocess.run(
        [sys.executable, "-m", "studies", "run", str(study), "--db", str(store_with_a_study)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert digest(store_with_a_study) == before


def test_the_memory_estimate_counts_the_literature_and_every_recorded_round(monkeypatch):
    monkeypatch.setattr(runner, "available_memory", lambda: 16 * 2**30)
    small = plan_study({"study": {"name": "ok", "rounds": 600}, "game": {"literature_size": 1_000_000}})
    assert runner.fit_batch_worlds(small, small.runs, Path("x.duckdb"), 256, workers=1) >= 1
    long = plan_study({"study": {"name": "long", "rounds": 10_000_000, "record_every": 1000}})
    assert runner.fit_batch_worlds(long, long.runs, Path("x.duckdb"), 256, workers=1) >= 1  # sparse: fits


# --- The fuzz: malformed studies, generated from a seed --------------------------------------------------

BASES = [
    {
        "study": {"name": "fuzz", "rounds": 5, "replications": 1, "seed": 1},
        "game": {"n_researchers": 6},
        "learners": {"researcher": {"kind": "q_learning", "temperature": 0.2}},
        "sweep": {"publish_null_prob": [0.0, 1.0]},
    },
    {
        "study": {"name": "fuzz_sampled", "rounds": 5, "replications": 1, "seed": 2},
        "game": {"n_researchers": 6, "rigor_levels": 3},
        "design": {"kind": "latin_hypercube", "samples": 2},
        "sweep": {"base_rate": {"low": 0.1, "high": 0.5}},
    },
    {
        "study": {"name": "fuzz_election", "game": "election", "rounds": 5, "replications": 1, "seed": 3},
        "game": {"n_voters": 5, "n_candidates": 2, "rule": "plurality"},
        "learners": {"candidate": {"kind": "fixed_actions", "actions": [0, 1]}},
        "sweep": {"rule": ["plurality", "borda"]},
    },
]
DEEP: list = []
for _ in range(40):
    DEEP = [DEEP]
ODD_VALUES: list[Any] = [
    math.nan, math.inf, -math.inf, 1e308, -1e308, 1e16, -1, 0, 3, 0.5, 2**63 - 1, -(2**63), "", "x",
    "q_learning", "fixed", "softmax", "grid", "sobol", True, False, [], [math.nan], [1, 2.0], [[1]], {},
    {"a": 1}, {"low": 0, "high": 1, "steps": 10**9}, {"low": 1, "high": 0},
    {"low": 0.0, "high": 1.0, "steps": 3}, datetime.date(2026, 1, 1), datetime.time(12, 0), DEEP,
    "é\u0000", [0.1, "x"], ["q_learning", "fixed"],
]  # fmt: skip
ODD_KEYS = ["kind", "rounds", "nope", "learners.researcher.kind", "learners.voter.epsilon",
            "publish_null_prob", "steps", "samples", "extensions", "seed", "researcher", "a\nb",
            ""]  # fmt: skip


def toml_value(value: Any) -> str:
    """One value as TOML text (inline tables and arrays), including what TOML allows and studies do not."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{" + ", ".join(f"{json.dumps(key)} = {toml_value(item)}" for key, item in value.items()) + "}"


def toml_text(config: dict[str, Any]) -> str:
    scalars = [
        f"{json.dumps(key)} = {toml_value(value)}"
        for key, value in config.items()
        if not isinstance(value, dict)
    ]
    tables = [
        f"[{json.dumps(key)}]\n" + "".join(f"{json.dumps(k)} = {toml_value(v)}\n" for k, v in value.items())
        for key, value in config.items()
        if isinstance(value, dict)
    ]
    return "\n".join(scalars + tables)


def tables_in(config: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for key, value in config.items():
        if isinstance(value, dict):
            found += tables_in(value, (*path, key))
    return found


def malformed(rng: random.Random) -> str:
    """A base study with one to three edits: a value replaced by an odd one, a key added or removed, a
    table made a value; or its text cut short or spliced with bytes."""
    config = json.loads(json.dumps(rng.choice(BASES)))
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(tables_in(config))
        table = config
        for key in path:
            table = table[key]
        edit = rng.random()
        if edit < 0.55 and table:
            table[rng.choice(list(table))] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif edit < 0.8:
            table[rng.choice(ODD_KEYS)] = copy.deepcopy(rng.choice(ODD_VALUES))
        elif table:
            del table[rng.choice(list(table))]
    text = toml_text(config)
    if rng.random() < 0.1:
        cut = rng.randrange(len(text))
        text = text[:cut] + rng.choice(["", "\x00", "[[", "= =", "\ud800", '"""']) + text[cut + 1 :]
    return text


def test_malformed_studies_are_refused_in_one_line_or_run_correctly(tmp_path, capsys):
    """200 generated cases (seeded, so the same every time): a refusal is exit code 2, one line on
    stderr and the database byte for byte as it was; anything accepted runs every one of its runs."""
    rng = random.Random(20261205)
    db = tmp_path / "results.duckdb"
    runner.run_study(plan_study(tiny_config(rounds=5)), db, progress=False)
    outcomes = {0: 0, 2: 0}
    for case in range(200):
        study = tmp_path / f"case_{case}.toml"
        study.write_text(malformed(rng), encoding="utf-8", errors="surrogatepass")
        before = digest(db)
        code = main(["run", str(study), "--db", str(db), "--quiet"])
        err = capsys.readouterr().err
        assert code in outcomes, (case, study.read_text(errors="replace")[:500], err)
        outcomes[code] += 1
        if code == 2:
            assert err.startswith("error: ") and err.count("\n") == 1, (case, err)
            assert digest(db) == before, case
        else:
            plan = load_study(study)
            done = store.completed_run_ids(db, plan.study_id)
            assert done == {run.run_id for run in plan.runs}, case
    assert outcomes[2] >= 60 and outcomes[0] >= 5, outcomes  # mostly malformed, some studies after all
