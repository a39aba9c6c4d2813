"""The explorer, driven headless with Streamlit's AppTest against small studies run in-process."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from studies import store, summaries
from studies.config import plan_study
from studies.runner import run_study

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
SWEEP = {"publish_null_prob": [0.0, 1.0]}


def tiny(name: str, sweep: dict[str, list[float]], replications: int = 2) -> dict:
    return {
        "study": {"name": name, "rounds": 30, "replications": replications, "seed": 1},
        "game": {"n_researchers": 20},
        "sweep": sweep,
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database with a one-parameter sweep (created last, so the default), a grid and no sweep."""
    db = tmp_path_factory.mktemp("app") / "results.duckdb"
    grid = {**SWEEP, "learners.researcher.temperature": [0.1, 1.0]}
    for config in (tiny("tiny_grid", grid), tiny("tiny_single", {}, replications=3), tiny("tiny", SWEEP)):
        run_study(plan_study(config), db, progress=False)
    return db


def study_id(db: Path, name: str) -> str:
    studies = store.list_studies(db)
    return studies.filter(pl.col("name") == name)["study_id"].item()


def start(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("STUDIES_DB", str(db))
    monkeypatch.setattr("sys.argv", ["streamlit_app.py"])
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    return [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]


def shown_outcome(at: AppTest) -> pl.DataFrame:
    assert len(at.dataframe) == 1
    return pl.from_pandas(at.dataframe[0].value)


def page_text(at: AppTest) -> str:
    kinds = ("title", "markdown", "caption", "info", "warning", "error", "code")
    return "\n".join(str(element.value) for kind in kinds for element in at.get(kind))


def test_shows_the_latest_study_with_its_outcome(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = start(monkeypatch, results)
    studies = at.selectbox(key="study")
    assert len(studies.options) == 3
    assert studies.options[0].startswith("tiny · 4/4 runs")
    assert studies.value == study_id(results, "tiny")
    assert at.selectbox(key="metric").value == "false_discovery_rate"
    assert len(charts(at)) == 2  # outcome across the sweep, and the time course
    expected = summaries.outcome_by_design_point(results, study_id(results, "tiny"), "false_discovery_rate")
    assert_frame_equal(shown_outcome(at), expected, check_dtypes=False)
    assert "publish_null_prob" in page_text(at)
    assert "95%" in page_text(at)


def test_changing_the_metric_shows_its_values(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = start(monkeypatch, results)
    at.selectbox(key="metric").set_value("mean_rigor").run()
    assert not at.exception, at.exception
    outcome = summaries.outcome_by_design_point(results, study_id(results, "tiny"), "mean_rigor")
    shown = shown_outcome(at)
    assert_frame_equal(shown, outcome, check_dtypes=False)
    assert shown["mean"].is_between(0, 1).all()
    outcome_spec = charts(at)[0]
    assert outcome_spec["layer"][2]["encoding"]["y"]["scale"] == {"domain": [0, 1]}  # a share: fixed axis


def test_the_sql_shown_reproduces_the_table(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = start(monkeypatch, results)
    sql = at.get("code")[0].value
    assert "final_metrics" in sql
    reproduced = store.query(results, sql)
    assert_frame_equal(
        reproduced.select("design_point", "publish_null_prob", "runs", "mean", "q10", "q90"),
        shown_outcome(at).select("design_point", "publish_null_prob", "runs", "mean", "q10", "q90"),
        check_dtypes=False,
    )


def test_time_course_window_and_band(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = start(monkeypatch, results)
    at.select_slider(key="window").set_value(5).run()
    at.toggle(key="band").set_value(True).run()
    assert not at.exception, at.exception
    layers = charts(at)[1]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["area", "line"]
    (points,) = at.get("vega_lite_chart")[1].proto.datasets
    assert points.data.data  # the chart carries its data


def test_grid_and_single_point_studies(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = start(monkeypatch, results)
    at.selectbox(key="study").set_value(study_id(results, "tiny_grid")).run()
    assert not at.exception, at.exception
    outcome_spec = charts(at)[0]
    assert outcome_spec["layer"][2]["encoding"]["color"]["field"] == "researcher_temperature"
    assert shown_outcome(at).height == 4

    at.selectbox(key="study").set_value(study_id(results, "tiny_single")).run()
    assert not at.exception, at.exception
    expected = summaries.outcome_by_design_point(
        results, study_id(results, "tiny_single"), "false_discovery_rate"
    )
    assert at.metric[0].value == f"{expected['mean'].item():.4g}"
    assert len(charts(at)) == 1  # the time course; a single design point needs no sweep chart


def test_db_option_overrides_the_environment(
    monkeypatch: pytest.MonkeyPatch, results: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("STUDIES_DB", str(tmp_path / "elsewhere.duckdb"))
    monkeypatch.setattr("sys.argv", ["streamlit_app.py", "--db", str(results), "--unrelated"])
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="study").value == study_id(results, "tiny")


def test_a_study_still_running(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Registered with no run written yet, then with half its runs: the page says so instead of failing."""
    db = tmp_path / "results.duckdb"
    plan = plan_study(tiny("running", SWEEP))
    store.register_study(db, plan)
    at = start(monkeypatch, db)
    assert "No run of this study is complete yet" in page_text(at)
    assert at.sidebar.warning  # 0 of 4 runs complete

    run_study(plan, db, progress=False)
    with duckdb.connect(str(db)) as con:  # as if interrupted after the first replicate of each point
        con.execute("DELETE FROM metrics WHERE run_id LIKE '%:r1'")
        con.execute("DELETE FROM runs WHERE run_id LIKE '%:r1'")
    at.run()  # a rerun of the same session sees the new state: the cache is keyed by the file's mtime
    assert not at.exception, at.exception
    assert at.selectbox(key="study").options == ["running · 2/4 runs"]
    assert shown_outcome(at)["runs"].to_list() == [1, 1]
    assert len(charts(at)) == 2


def test_without_a_database_explains_how_to_run_a_study(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = start(monkeypatch, tmp_path / "missing.duckdb")
    text = page_text(at)
    assert "studies run" in text
    assert "make run" in text
    assert not at.error
    assert not at.get("vega_lite_chart")


@pytest.mark.parametrize("contents", ["empty file", "schema only"])
def test_a_database_without_studies_explains_how_to_run_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, contents: str
) -> None:
    db = tmp_path / "results.duckdb"
    if contents == "empty file":
        duckdb.connect(str(db)).close()
    else:
        store.ensure_schema(db)
    at = start(monkeypatch, db)
    assert "studies run" in page_text(at)
    assert not at.error


def test_an_unreadable_file_shows_an_error_not_a_trace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "results.duckdb"
    db.write_text("not a database")
    at = start(monkeypatch, db)
    assert at.error
    assert str(db) in at.error[0].value


def load_app_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("streamlit_app", APP)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the functions; main() runs only as __main__
    return module


def test_averaging_windows() -> None:
    app = load_app_module()
    assert app.window_options(30) == [1, 2, 5, 10]
    assert app.window_options(1) == [1]
    assert app.default_window(600) == 10  # 60 points per line
    assert app.default_window(80) == 1
    course = pl.DataFrame(
        {
            "design_point": [0] * 4,
            "design": ["a"] * 4,
            "step": [0, 1, 2, 3],
            "mean": [1.0, 3.0, 5.0, 7.0],
            "q10": [0.0] * 4,
            "q90": [2.0] * 4,
            "runs": [2, 2, 1, 2],
        }
    )
    windowed = app.averaged(course, 2)
    assert windowed["mean"].to_list() == [2.0, 6.0]
    assert windowed["step"].to_list() == [0.5, 2.5]
    assert windowed["runs"].to_list() == [2, 1]
