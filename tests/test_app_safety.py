"""The explorer opening a results file someone shared: whatever the file holds, it runs none of it."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from studies import store
from studies.config import plan_study
from studies.runner import run_study

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
CRAFTED = "design_point\" FROM runs r; COPY (SELECT 'x') TO 'pwned.txt'; SELECT r.\"publish_null_prob"


def study(name: str, design: dict) -> dict:
    return {
        "study": {"name": name, "rounds": 20, "replications": 1, "seed": 1},
        "game": {"n_researchers": 10},
        "design": design,
        "sweep": {"publish_null_prob": {"low": 0.0, "high": 1.0, **({} if design else {"steps": 2})}},
    }


@pytest.fixture(scope="module")
def shared_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A grid study and a sampled one (the latter reads its design points' values), both crafted."""
    db = tmp_path_factory.mktemp("shared") / "results.duckdb"
    run_study(plan_study(study("crafted_grid", {})), db, progress=False)
    run_study(plan_study(study("crafted_sampled", {"kind": "random", "samples": 3})), db, progress=False)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE studies SET swept_parameters = [?]", [CRAFTED])
    return db


@pytest.mark.parametrize("name", ["crafted_sampled", "crafted_grid"])
def test_the_study_view_of_a_crafted_file_runs_nothing_and_says_why(
    name: str, shared_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = hashlib.sha256(shared_file.read_bytes()).hexdigest()
    monkeypatch.chdir(tmp_path)  # where the crafted COPY would write
    monkeypatch.setenv("STUDIES_DB", str(shared_file))
    monkeypatch.setattr("sys.argv", ["streamlit_app.py"])
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    listed = store.list_studies(shared_file)
    at.selectbox(key="study").set_value(listed.filter(listed["name"] == name)["study_id"].item()).run()
    assert not at.exception, at.exception
    (error,) = at.error
    assert "not columns of its runs" in error.value and "nothing in it was run" in error.value
    assert not at.get("vega_lite_chart")
    assert list(tmp_path.iterdir()) == [] and not (APP.parents[1] / "pwned.txt").exists()
    assert hashlib.sha256(shared_file.read_bytes()).hexdigest() == before
