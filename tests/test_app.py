"""The explorer, driven headless with Streamlit's AppTest against small studies run in-process."""

from __future__ import annotations

import importlib.util
import json
import sys
import warnings
from pathlib import Path
from types import ModuleType

import duckdb
import polars as pl
import pyarrow as pa
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest

from models.games import GAMES
from studies import store, summaries
from studies.config import plan_study
from studies.runner import run_study

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
PAGES = ["Playground", "Study", "Agents", "Compare", "SQL"]  # Benchmarks after them, with bench rows
SWEEP = {"publish_null_prob": [0.0, 1.0]}
RANGES = {
    "publish_null_prob": {"low": 0.0, "high": 1.0},
    "failed_replication_penalty": {"low": 0.0, "high": 6.0},
}
SAMPLED = ["publish_null_prob", "failed_replication_penalty"]


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


def sampled_study(name: str, design: dict) -> dict:
    return {
        "study": {"name": name, "rounds": 30, "replications": 1, "seed": 2},
        "game": {"n_researchers": 20},
        "design": design,
        "sweep": RANGES,
    }


@pytest.fixture(scope="module")
def sampled_results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Latin hypercube study and a Sobol one (created last, so the default): 12 and 32 design points."""
    db = tmp_path_factory.mktemp("sampled") / "results.duckdb"
    for config in (
        sampled_study("tiny_lhs", {"kind": "latin_hypercube", "samples": 12}),
        sampled_study("tiny_sobol", {"kind": "sobol", "samples": 8}),
    ):
        run_study(plan_study(config), db, progress=False)
    return db


def clipped_to_shares(outcome: pl.DataFrame) -> pl.DataFrame:
    """A share's outcome as the page shows it: its t-interval clipped to [0, 1]."""
    return outcome.with_columns(pl.col("ci_low", "ci_high").clip(0.0, 1.0))


def study_id(db: Path, name: str) -> str:
    studies = store.list_studies(db)
    return studies.filter(pl.col("name") == name)["study_id"].item()


def listed_pages(at: AppTest) -> list[str]:
    """The titles of the pages st.navigation listed in the last run, in order.

    AppTest has no public accessor for them (nor a switch_page for function pages, only for page files), so
    this and open_page read its registry of the last run's pages."""
    return [info["page_name"] for info in at._registered_pages.values()]


def open_page(at: AppTest, title: str) -> AppTest:
    """Open a listed page, as a click in the navigation does, and run."""
    (page_hash,) = [key for key, info in at._registered_pages.items() if info["page_name"] == title]
    at._page_hash = page_hash
    at.run()
    assert not at.exception, at.exception
    return at


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
    kinds = ("title", "subheader", "markdown", "caption", "info", "warning", "error", "code")
    return "\n".join(str(element.value) for kind in kinds for element in at.get(kind))


def chart_data(at: AppTest, index: int) -> pl.DataFrame:
    """The one dataset a chart carries, decoded from the Arrow bytes Streamlit sends to the browser."""
    (dataset,) = at.get("vega_lite_chart")[index].proto.datasets
    return pl.from_arrow(pa.ipc.open_stream(dataset.data.data).read_all())


def kinds_of_charts(at: AppTest) -> list[str]:
    """What each chart is: 'concat' (small multiples), 'facet' (indices) or 'layer' (a single view)."""
    return [next(k for k in ("concat", "facet", "layer") if k in spec) for spec in charts(at)]


def table(at: AppTest, index: int) -> pl.DataFrame:
    return pl.from_pandas(at.dataframe[index].value)


def shown_indices(at: AppTest) -> pl.DataFrame:
    assert len(at.dataframe) == 2  # the outcome table, then the indices
    return table(at, 1)


def sidebar_text(at: AppTest) -> str:
    return "\n".join(str(element.value) for element in at.sidebar.markdown)


def test_shows_the_latest_study_with_its_outcome(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = start(monkeypatch, results)
    assert listed_pages(at) == PAGES  # no bench rows: no benchmarks page
    studies = at.selectbox(key="study")
    assert len(studies.options) == 3
    assert studies.options[0].startswith("tiny · 4/4 runs")
    assert studies.value == study_id(results, "tiny")
    metrics = at.selectbox(key="metric")
    assert metrics.value == "false_discovery_rate"
    # The stored metrics as the game declares them (a metric never defined in a study, as the effort model's
    # mean effort in the rigor model, has no rows and no entry)
    stored = set(summaries.metric_names(results, study_id(results, "tiny")))
    assert "mean_effort" not in stored and "belief_accuracy" in stored
    assert metrics.options == [m.name for m in GAMES["publication"].metrics if m.name in stored]
    assert len(charts(at)) == 2  # outcome across the sweep, and the time course
    expected = summaries.outcome_by_design_point(results, study_id(results, "tiny"), "false_discovery_rate")
    assert_frame_equal(shown_outcome(at), clipped_to_shares(expected), check_dtypes=False)
    assert "publish_null_prob" in page_text(at)
    assert "95%" in page_text(at)
    assert kinds_of_charts(at) == ["layer", "layer"]  # a grid keeps its views: no small multiples
    assert "Sensitivity" not in page_text(at)
    assert "**Design:** grid" in sidebar_text(at)
    assert "`publish_null_prob`: 0.0, 1.0" in sidebar_text(at)  # a grid lists its values


def test_changing_the_metric_shows_its_values(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = start(monkeypatch, results)
    at.selectbox(key="metric").set_value("mean_rigor").run()
    assert not at.exception, at.exception
    outcome = summaries.outcome_by_design_point(results, study_id(results, "tiny"), "mean_rigor")
    shown = shown_outcome(at)
    assert_frame_equal(shown, clipped_to_shares(outcome), check_dtypes=False)
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


def test_a_game_is_described_by_the_registry(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """An election study: the game's meaning, metrics and their order come from the registry, not by hand."""
    db = tmp_path / "results.duckdb"
    config = {
        "study": {"name": "tiny_election", "game": "election", "rounds": 20, "replications": 2, "seed": 3},
        "game": {"n_voters": 15},
        "sweep": {"rule": ["plurality", "borda"]},
    }
    run_study(plan_study(config), db, progress=False)
    at = start(monkeypatch, db)
    election = GAMES["election"]
    assert f"**Game:** election — {election.doc}" in sidebar_text(at)
    metrics = at.selectbox(key="metric")
    assert metrics.options == [m.name for m in election.metrics]
    assert metrics.value == election.headline == "voter_welfare"  # no false discovery rate here
    first = next(m for m in election.metrics if m.name == election.headline)
    assert f"**{first.name}**: {first.doc}." in page_text(at)
    assert len(charts(at)) == 2


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
    assert all(f"**{name}**: {spec.doc}" in text for name, spec in GAMES.items())  # the registry's games
    assert not at.error
    assert not at.get("vega_lite_chart")
    assert listed_pages(at) == PAGES


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
    assert listed_pages(at) == PAGES


def test_an_unreadable_file_shows_an_error_not_a_trace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "results.duckdb"
    db.write_text("not a database")
    at = start(monkeypatch, db)
    assert at.error
    assert str(db) in at.error[0].value


def load_app_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(APP.parent))  # as `streamlit run` does, for its sibling modules
    spec = importlib.util.spec_from_file_location("study_page", APP.parent / "study_page.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "study_page", module)  # as an import would (dataclasses look it up)
    spec.loader.exec_module(module)  # defines the functions; main() runs only as __main__
    return module


def test_averaging_windows(monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_app_module(monkeypatch)
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


# --- Sampled designs: Sobol and Latin hypercube ---------------------------------------------------------


def expected_indices(db: Path, name: str, metric: str) -> pl.DataFrame:
    return summaries.sensitivity(db, study_id(db, name), metric)


def test_a_sobol_study_shows_marginal_effects_and_indices(
    monkeypatch: pytest.MonkeyPatch, sampled_results: Path
) -> None:
    at = start(monkeypatch, sampled_results)
    assert at.selectbox(key="study").value == study_id(sampled_results, "tiny_sobol")
    assert kinds_of_charts(at) == ["concat", "facet", "layer"]  # scatters, indices, time course
    metric = "false_discovery_rate"

    panels = charts(at)[0]["concat"]  # one scatter with its trend per swept parameter, in sweep order
    shown = ["publication bias", "failed_replication_penalty"]  # publish_null_prob in the field's words
    assert [panel["layer"][0]["encoding"]["x"]["field"] for panel in panels] == shown
    assert [panel["layer"][1]["transform"][-1]["loess"] for panel in panels] == ["mean"] * 2
    sobol = study_id(sampled_results, "tiny_sobol")
    outcome = summaries.outcome_by_design_point(sampled_results, sobol, metric)
    assert chart_data(at, 0).height == outcome.height == 32  # 8 x (2 + 2) design points
    assert_frame_equal(table(at, 0), clipped_to_shares(outcome), check_dtypes=False)

    expected = expected_indices(sampled_results, "tiny_sobol", metric)
    assert set(expected["statistic"]) == {"S1", "ST"}
    assert_frame_equal(shown_indices(at), expected, check_dtypes=False)
    columns = ["parameter", "statistic", "value", "ci_low", "ci_high"]
    assert_frame_equal(  # the bars and whiskers drawn are the stored indices
        chart_data(at, 1).select(columns).sort(columns[:2]),
        expected.select(columns).sort(columns[:2]),
        check_dtypes=False,
    )
    bars = charts(at)[1]["spec"]["layer"][0]["encoding"]["y"]
    by_total = expected.filter(pl.col("statistic") == "ST").sort("value", descending=True)["parameter"]
    assert bars["sort"] == by_total.to_list()  # parameters sorted by total effect

    text = page_text(at)
    assert "Each point is one design point" in text
    assert "crosses zero" in text
    sidebar = sidebar_text(at)
    assert "**Design:** Sobol" in sidebar
    low, high = outcome["failed_replication_penalty"].min(), outcome["failed_replication_penalty"].max()
    assert f"`failed_replication_penalty`: {low:.3g} to {high:.3g} (sampled in [0, 6])" in sidebar


def test_switching_the_metric_updates_the_indices(
    monkeypatch: pytest.MonkeyPatch, sampled_results: Path
) -> None:
    at = start(monkeypatch, sampled_results)
    before = shown_indices(at)
    at.selectbox(key="metric").set_value("mean_rigor").run()
    assert not at.exception, at.exception
    after = shown_indices(at)
    expected = expected_indices(sampled_results, "tiny_sobol", "mean_rigor")
    assert_frame_equal(after, expected, check_dtypes=False)
    assert set(after["metric"]) == {"mean_rigor"}
    assert not after["value"].equals(before["value"])
    drawn = chart_data(at, 1)
    assert sorted(drawn["value"].to_list()) == sorted(after["value"].to_list())


def test_a_sampled_time_course_is_a_band_across_design_points(
    monkeypatch: pytest.MonkeyPatch, sampled_results: Path
) -> None:
    at = start(monkeypatch, sampled_results)
    at.select_slider(key="window").set_value(1).run()
    layers = charts(at)[2]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["area", "line"]  # the band is on by default
    course = chart_data(at, 2)
    assert course["label"].unique().to_list() == ["all design points"]
    # One row per round (not one per design point and round); a round where the rate is undefined at
    # every design point has none.
    assert course["step"].is_unique().all() and 25 <= course.height <= 30
    assert course["points"].max() == 32  # fewer where the rate is undefined at some design points
    raw = summaries.time_course(
        sampled_results, study_id(sampled_results, "tiny_sobol"), "mean_rigor"
    ).filter(pl.col("step") == 7)
    at.selectbox(key="metric").set_value("mean_rigor").run()
    step = chart_data(at, 2).filter(pl.col("step") == 7).row(0, named=True)
    assert step["mean"] == pytest.approx(raw["mean"].mean())
    assert step["q10"] == pytest.approx(raw["mean"].quantile(0.1, interpolation="linear"))

    at.selectbox(key="split").set_value("publish_null_prob").run()
    assert not at.exception, at.exception
    split = chart_data(at, 2)
    thirds = ["0 to 0.333", "0.333 to 0.667", "0.667 to 1"]  # of the range sampled, [0, 1]
    assert split["label"].unique(maintain_order=True).to_list() == thirds
    assert split.group_by("step").agg(pl.col("points").sum())["points"].unique().to_list() == [32]
    assert charts(at)[2]["layer"][1]["encoding"]["color"]["field"] == "label"


def test_a_latin_hypercube_study_has_no_indices(
    monkeypatch: pytest.MonkeyPatch, sampled_results: Path
) -> None:
    at = start(monkeypatch, sampled_results)
    at.selectbox(key="study").set_value(study_id(sampled_results, "tiny_lhs")).run()
    assert not at.exception, at.exception
    assert kinds_of_charts(at) == ["concat", "layer"]  # scatters and the time course; no indices
    assert len(charts(at)[0]["concat"]) == 2
    assert len(at.dataframe) == 1  # the outcome table alone
    text = page_text(at)
    assert "Sobol and Morris designs give sensitivity indices" in text
    assert "Sensitivity" not in [s.value for s in at.subheader]
    assert "**Design:** Latin hypercube" in sidebar_text(at)


def test_windows_align_across_design_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """A round missing at one design point (its metric undefined there) must not shift its windows."""
    load_app_module(monkeypatch)
    import sampled

    course = pl.DataFrame(
        {
            "design_point": [0, 0, 0, 0, 1, 1, 1],
            "step": [0, 1, 2, 3, 0, 2, 3],  # design point 1 lacks round 1
            "mean": [1.0, 3.0, 5.0, 7.0, 2.0, 6.0, 8.0],
        }
    )
    frame = sampled.across_points(course, window=2)
    assert frame["step"].to_list() == [0.5, 2.5]
    assert frame["mean"].to_list() == [2.0, 6.5]  # (2 + 2) / 2 and (6 + 7) / 2
    assert frame["points"].to_list() == [2, 2]
    points = pl.DataFrame({"design_point": [0, 1, 2, 3], "x": [0.0, 0.4, 0.6, 1.0]})
    bins = sampled.binned(points, "x", (0.0, 1.0), bins=2)
    assert bins["group"].to_list() == [0, 0, 1, 1]
    assert bins["label"].to_list() == ["0 to 0.5", "0 to 0.5", "0.5 to 1", "0.5 to 1"]


def test_morris_indices_chart(monkeypatch: pytest.MonkeyPatch) -> None:
    """mu_star beside sigma (which has no interval), parameters by mu_star."""
    load_app_module(monkeypatch)
    import sampled

    indices = pl.DataFrame(
        {
            "study_id": ["m"] * 4,
            "method": ["morris"] * 4,
            "metric": ["mean_rigor"] * 4,
            "parameter": ["publish_null_prob", "researcher_temperature"] * 2,
            "statistic": ["mu_star", "mu_star", "sigma", "sigma"],
            "value": [0.1, 0.3, 0.05, 0.2],
            "ci_low": [0.05, 0.2, None, None],
            "ci_high": [0.15, 0.4, None, None],
        }
    )
    assert sampled.method_of(indices) == "morris"
    spec = sampled.sensitivity_chart(indices, "mean_rigor", "morris").to_dict()
    assert [title.split(":")[0] for title in spec["facet"]["column"]["sort"]] == ["mu_star", "sigma"]
    bars, whiskers, _ = spec["spec"]["layer"]
    assert bars["encoding"]["y"]["sort"] == ["researcher_temperature", "publish_null_prob"]
    assert "isValid(datum.ci_low)" in whiskers["transform"][0]["filter"]
    assert "mu_star" in sampled.sensitivity_caption("morris", "mean_rigor", 30)


def test_non_numeric_parameters_plot_as_their_python_text(monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_app_module(monkeypatch)
    frame = pl.DataFrame({"flag": [True, False, None], "spread": [[0.1, 0.2], [1.0], None], "n": [1, 2, 3]})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # polars warns of a per-row Python map
        labelled = app.as_labels(frame, ["flag", "spread", "n"])
    assert labelled["flag"].to_list() == ["True", "False", None]
    assert labelled["spread"].to_list() == ["[0.1, 0.2]", "[1.0]", None]
    assert labelled["n"].to_list() == [1, 2, 3]  # numbers stay numbers


def test_runs_from_several_code_versions_are_flagged(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A study whose runs came from two versions of the model says so beside its charts."""
    db = tmp_path / "results.duckdb"
    run_study(plan_study(tiny("mixed", SWEEP)), db, progress=False)
    at = start(monkeypatch, db)
    assert not at.sidebar.warning  # one version: nothing to flag
    (single,) = summaries.code_versions(db, study_id(db, "mixed"))["code"]
    assert f"code `{single}`" in "\n".join(str(c.value) for c in at.sidebar.caption)

    with duckdb.connect(str(db)) as con:  # one replicate of each point from an edited, uncommitted model
        con.execute("UPDATE runs SET code_diff = '0123456789abcdef' WHERE run_id LIKE '%:r1'")
    at.run()
    assert not at.exception, at.exception
    (warning,) = at.sidebar.warning
    commit = store.query(db, "SELECT any_value(code_commit) AS c FROM runs")["c"].item()
    assert "from 2 versions of the code" in warning.value
    assert f"2 from `{commit[:10]}+01234567`" in warning.value
