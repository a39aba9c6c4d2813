"""The Study page at the width of a laptop: parameters in the field's words, whole legends, small multiples
for many design points, heat maps of two parameters, intervals of shares within [0, 1], charts that fit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest
from test_app import (
    chart_data,
    charts,
    load_app_module,
    page_text,
    sampled_study,
    sidebar_text,
    start,
    study_id,
    table,
)

from models.games import GAMES
from studies import summaries
from studies.config import plan_study
from studies.runner import run_study

BIAS = [0.0, 0.25, 0.5, 0.75, 1.0]  # publish_null_prob; shown as publication bias, 1 − each
PENALTY = [0.0, 3.0, 6.0]
RULES = ["plurality", "runoff", "instant_runoff", "approval", "borda", "condorcet"]
LIMIT_PX = 1200  # the widest a chart may be: it must fit a 1,280 px screen
MAIN_COLUMN_PX = 1400 - 336 - 2 * 80  # a 1,400 px window less Streamlit's sidebar and wide-layout padding
AXIS_PX = 70  # a row's y axis (title and labels), once per chart, unless its labels may be wider
PANEL_AXIS_PX = 36  # the tick labels beside each further panel of a row
LEGEND_PX = 150  # a legend at the right of a fixed-width chart


def publication(name: str, sweep: dict[str, list[float]]) -> dict:
    return {
        "study": {"name": name, "rounds": 30, "replications": 2, "seed": 5},
        "game": {"n_researchers": 20},
        "sweep": sweep,
    }


@pytest.fixture(scope="module")
def grid(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A one-parameter sweep of ten values, then (the default) a 5 x 3 grid: 15 design points."""
    db = tmp_path_factory.mktemp("study_grid") / "results.duckdb"
    for config in (
        publication("one_parameter", {"publish_null_prob": [i / 9 for i in range(10)]}),
        publication("two_parameters", {"publish_null_prob": BIAS, "failed_replication_penalty": PENALTY}),
    ):
        run_study(plan_study(config), db, progress=False)
    return db


@pytest.fixture(scope="module")
def election(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """studies/election_rules.toml in miniature: 6 rules x 3 media biases x 2 polarizations = 36 points."""
    db = tmp_path_factory.mktemp("study_election") / "results.duckdb"
    config = {
        "study": {"name": "election_rules", "game": "election", "rounds": 20, "replications": 2, "seed": 3},
        "game": {"n_voters": 15, "n_candidates": 3, "voter_distribution": "bimodal"},
        "sweep": {"rule": RULES, "media_attention_bias": [0.0, 0.5, 1.0], "polarization": [0.5, 1.5]},
    }
    run_study(plan_study(config), db, progress=False)
    return db


@pytest.fixture(scope="module")
def sobol(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """test_app.py's Sobol study: 32 design points over two parameters."""
    db = tmp_path_factory.mktemp("study_sobol") / "results.duckdb"
    run_study(plan_study(sampled_study("tiny_sobol", {"kind": "sobol", "samples": 8})), db, progress=False)
    return db


# --- Reading charts -----------------------------------------------------------------------------------


def views(spec: dict) -> list[dict]:
    """The single views of a chart: its layers, a facet's layers, a concatenation's panels' layers."""
    if "concat" in spec:
        return [view for panel in spec["concat"] for view in views(panel)]
    inner = spec.get("spec", spec)
    return inner.get("layer", [inner])


def marks(spec: dict) -> set[str]:
    return {view["mark"]["type"] if isinstance(view["mark"], dict) else view["mark"] for view in views(spec)}


def index_of(at: AppTest, test: Any) -> int:
    (found,) = [i for i, spec in enumerate(charts(at)) if test(spec)]
    return found


def heat_map_index(at: AppTest) -> int:
    return index_of(at, lambda spec: "rect" in marks(spec))


def time_course_index(at: AppTest) -> int:
    return index_of(at, lambda spec: views(spec)[-1]["encoding"]["x"]["field"] == "step")


def with_bias(outcome: pl.DataFrame) -> pl.DataFrame:
    return outcome.with_columns((1 - pl.col("publish_null_prob")).round(12).alias("publication bias"))


# --- 1. The field's words -----------------------------------------------------------------------------


def test_publish_null_prob_is_shown_as_publication_bias(monkeypatch: pytest.MonkeyPatch, grid: Path) -> None:
    at = start(monkeypatch, grid)
    outcome_spec = charts(at)[0]
    x = views(outcome_spec)[0]["encoding"]["x"]
    assert (x["field"], x["title"]) == ("publication bias", "publication bias")
    assert x["axis"]["values"] == BIAS  # 1 − each swept value: the same five, now read as the bias
    drawn = chart_data(at, 0)
    assert (drawn["publication bias"] + drawn["publish_null_prob"]).to_list() == [1.0] * 15
    heat = views(charts(at)[heat_map_index(at)])[0]["encoding"]
    assert heat["x"]["title"] == "publication bias"
    course = charts(at)[time_course_index(at)]
    assert course["facet"]["title"] == "publication bias"  # panels by the bias, lines by the penalty
    assert sorted(chart_data(at, time_course_index(at))["publication bias"].unique()) == BIAS
    assert lines_per_panel(at)["lines"].to_list() == [len(PENALTY)] * len(BIAS)  # 15 points, 3 a panel
    meaning = "publication bias = 1 − publish_null_prob: the share of null results that journals turn away"
    assert f"`publish_null_prob`: {', '.join(map(str, BIAS))} (shown as publication bias: {meaning})" in (
        sidebar_text(at)
    )
    assert meaning in page_text(at)


def test_a_metric_is_explained_by_its_spec(monkeypatch: pytest.MonkeyPatch, grid: Path) -> None:
    """replication_rate (also a parameter's name, the labs' chance to replicate) reads as the metric it is."""
    at = start(monkeypatch, grid)
    at.selectbox(key="metric").set_value("replication_rate").run()
    assert not at.exception, at.exception
    (spec,) = [m for m in GAMES["publication"].metrics if m.name == "replication_rate"]
    assert "confirmed the finding" in spec.doc
    assert charts(at)[0]["title"] == {"text": "replication_rate", "subtitle": spec.doc, "anchor": "start"}
    assert f"**replication_rate**: {spec.doc}." in page_text(at)


def test_the_display_table_converts_values(monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_app_module(monkeypatch)
    assert app.DISPLAYS["publish_null_prob"].label == "publication bias"
    assert app.display_value("publish_null_prob", 0.9) == 0.1  # rounded: not 0.09999999999999998
    assert app.display_value("failed_replication_penalty", 3.0) == 3.0  # not in the table: as stored
    frame = pl.DataFrame({"publish_null_prob": [0.1, 1.0], "rule": ["a", "b"]})
    shown, fields = app.displayed(frame, ["publish_null_prob", "rule"])
    assert fields == ["publication bias", "rule"]
    assert shown["publication bias"].to_list() == [0.9, 0.0]
    assert shown["publish_null_prob"].to_list() == [0.1, 1.0]  # the stored column stays


# --- 2. Whole legends ---------------------------------------------------------------------------------


def test_legends_show_whole_labels(monkeypatch: pytest.MonkeyPatch, election: Path) -> None:
    at = start(monkeypatch, election)
    specs = charts(at)
    legends = [
        view["encoding"]["color"]["legend"]
        for spec in specs
        for view in views(spec)
        if "field" in view["encoding"].get("color", {})
    ]
    assert legends and all(legend["labelLimit"] == 0 for legend in legends)  # 0: no limit
    colour = views(specs[0])[0]["encoding"]["color"]
    assert colour["legend"]["title"] == "media_attention_bias, polarization"  # the key to the labels
    labels = sorted(chart_data(at, 0)[colour["field"]].unique())
    assert labels == ["0.0, 0.5", "0.0, 1.5", "0.5, 0.5", "0.5, 1.5", "1.0, 0.5", "1.0, 1.5"]


# --- 3. Many design points ----------------------------------------------------------------------------


def lines_per_panel(at: AppTest) -> pl.DataFrame:
    index = time_course_index(at)
    panel = charts(at)[index]["facet"]["field"]
    return chart_data(at, index).group_by(panel).agg(pl.col("design").n_unique().alias("lines"))


def test_many_design_points_become_small_multiples(monkeypatch: pytest.MonkeyPatch, election: Path) -> None:
    at = start(monkeypatch, election)
    index = time_course_index(at)
    assert charts(at)[index]["facet"]["field"] == "rule"  # the parameter with most values: 6 panels
    panels = lines_per_panel(at)
    assert panels.height == 6 and panels["lines"].to_list() == [6] * 6  # media bias x polarization
    drawn = chart_data(at, index)
    assert drawn.select("design_point").n_unique() == 36  # every design point, in some panel

    at.selectbox(key="panels").set_value("polarization").run()  # 2 panels: 18 lines each would not read
    assert not at.exception, at.exception
    assert lines_per_panel(at)["lines"].max() <= 8
    held = at.selectbox(key="hold_media_attention_bias")  # so the others are held at one value
    assert held.value == 0.0
    drawn = chart_data(at, time_course_index(at))
    assert drawn["design"].n_unique() == 6 and drawn.select("design_point").n_unique() == 12


def test_one_parameter_of_many_values_shows_a_chosen_few(monkeypatch: pytest.MonkeyPatch, grid: Path) -> None:
    at = start(monkeypatch, grid)
    at.selectbox(key="study").set_value(study_id(grid, "one_parameter")).run()
    assert not at.exception, at.exception
    chosen = at.multiselect(key="shown_points")
    assert chosen.value == [0, 2, 4, 7, 9]  # five of ten, from the first to the last
    index = time_course_index(at)
    assert "facet" not in charts(at)[index]
    assert sorted(chart_data(at, index)["design_point"].unique()) == [0, 2, 4, 7, 9]
    chosen.set_value([1, 8]).run()
    assert sorted(chart_data(at, time_course_index(at))["design_point"].unique()) == [1, 8]


# --- 4. Heat map --------------------------------------------------------------------------------------


def test_two_parameters_as_a_heat_map(monkeypatch: pytest.MonkeyPatch, grid: Path) -> None:
    at = start(monkeypatch, grid)
    index = heat_map_index(at)
    rect, text = views(charts(at)[index])
    assert rect["encoding"]["y"]["field"] == "failed_replication_penalty"
    assert text["mark"]["type"] == "text" and text["encoding"]["text"]["field"] == "mean"  # written in
    cells = chart_data(at, index)
    assert cells.height == len(BIAS) * len(PENALTY)
    assert cells.select("publication bias", "failed_replication_penalty").is_unique().all()
    metric = at.selectbox(key="metric").value
    expected = with_bias(summaries.outcome_by_design_point(grid, study_id(grid, "two_parameters"), metric))
    keys = ["publication bias", "failed_replication_penalty"]
    assert_frame_equal(
        cells.select(*keys, "mean").sort(keys), expected.select(*keys, "mean").sort(keys), check_dtypes=False
    )


def test_three_parameters_give_a_heat_map_per_value_of_the_third(
    monkeypatch: pytest.MonkeyPatch, election: Path
) -> None:
    at = start(monkeypatch, election)
    index = heat_map_index(at)
    spec = charts(at)[index]
    assert spec["facet"]["field"] == "polarization"
    cells = chart_data(at, index)
    assert (
        cells.height == 36 and cells.select("rule", "media_attention_bias", "polarization").is_unique().all()
    )


# --- 5. Intervals of shares ---------------------------------------------------------------------------


def test_intervals_of_shares_stay_within_0_and_1(monkeypatch: pytest.MonkeyPatch, grid: Path) -> None:
    at = start(monkeypatch, grid)
    metric = at.selectbox(key="metric").value
    assert next(m for m in GAMES["publication"].metrics if m.name == metric).bounded
    raw = summaries.outcome_by_design_point(grid, study_id(grid, "two_parameters"), metric)
    assert (raw["ci_low"] < 0).any() or (raw["ci_high"] > 1).any()  # two seeds: a t-interval passes a bound
    at.toggle(key="band").set_value(True).run()
    for frame in (table(at, 0), chart_data(at, 0)):
        for column in ("ci_low", "ci_high", "q10", "q90", "mean"):
            assert frame[column].drop_nulls().is_between(0, 1).all(), column
    course = chart_data(at, time_course_index(at))
    assert course["q10"].is_between(0, 1).all() and course["q90"].is_between(0, 1).all()
    assert "clipped to [0, 1]" in page_text(at)

    at.selectbox(key="metric").set_value("mean_payoff").run()  # not a share: its interval as computed
    raw = summaries.outcome_by_design_point(grid, study_id(grid, "two_parameters"), "mean_payoff")
    assert_frame_equal(table(at, 0), raw, check_dtypes=False)


# --- 6. Widths ----------------------------------------------------------------------------------------


def panel_px(view: dict, data: pl.DataFrame) -> int:
    """A panel's declared width; a step width times the values along x."""
    width = view.get("width", 0)
    if isinstance(width, dict):
        return width["step"] * data[views(view)[0]["encoding"]["x"]["field"]].n_unique()
    return 0 if width == "container" else width


def chart_px(spec: dict, data: pl.DataFrame) -> int:
    """The most a chart takes across: its widest row of panels, spacing, axes and a legend beside it.
    A single view without a fixed width sizes to its container (0 here: it always fits)."""
    if "concat" in spec:
        columns = spec.get("columns", len(spec["concat"]))
        rows = [spec["concat"][i : i + columns] for i in range(0, len(spec["concat"]), columns)]
        panels = max(sum(panel_px(p, data) for p in row) + (len(row) - 1) * 20 for row in rows)
        columns = max(len(row) for row in rows)
    elif "facet" in spec:
        facet = spec["facet"]
        field = (facet.get("column") or facet)["field"]
        columns = min(spec.get("columns") or data[field].n_unique(), data[field].n_unique())
        panels = columns * panel_px(spec["spec"], data) + (columns - 1) * spec.get("spacing", 20)
    else:
        width = panel_px(spec, data)
        if not width:
            return 0
        panels, columns = width, 1
    legend_right = any(  # a colour legend (legend None: none drawn) at its default place, the right
        view["encoding"].get("color", {}).get("legend", {}) is not None
        and "field" in view["encoding"].get("color", {})
        and (view["encoding"]["color"].get("legend") or {}).get("orient") != "bottom"
        for view in views(spec)
    )
    label_limit = max(
        view["encoding"].get("y", {}).get("axis", {}).get("labelLimit", 0) for view in views(spec)
    )
    axis = max(AXIS_PX, label_limit + 20)
    return panels + axis + (columns - 1) * PANEL_AXIS_PX + (LEGEND_PX if legend_right else 0)


@pytest.mark.parametrize("fixture", ["sobol", "election", "grid"])
def test_every_chart_fits_a_laptop_screen(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, fixture: str
) -> None:
    db = request.getfixturevalue(fixture)
    at = start(monkeypatch, db)
    widths = [chart_px(spec, chart_data(at, i)) for i, spec in enumerate(charts(at))]
    assert len(widths) >= 3
    assert all(width <= MAIN_COLUMN_PX < LIMIT_PX for width in widths), widths
    if fixture == "sobol":  # scatters and indices are fixed-width: they were what ran off the page
        assert widths[0] and widths[1]


def test_three_scatter_panels_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """publication_sensitivity.toml's three parameters: their panels once ran past a 1,400 px window."""
    load_app_module(monkeypatch)
    import sampled

    swept = ["a", "b", "c"]
    outcome = pl.DataFrame({"design_point": [0, 1], **{n: [0.0, 1.0] for n in swept}, "runs": 1, "mean": 0.5})
    spec = sampled.marginal_chart(outcome, swept, "m", alt.Scale()).to_dict()
    assert spec["columns"] == 3
    assert 0 < chart_px(spec, outcome) <= MAIN_COLUMN_PX  # 3 x 300 px panels took 1,080 px
    indices = pl.DataFrame(
        {
            "parameter": swept * 2,
            "statistic": ["S1"] * 3 + ["ST"] * 3,
            "value": [0.1, 0.2, 0.3] * 2,
            "ci_low": [0.0] * 6,
            "ci_high": [0.5] * 6,
        }
    )
    facet = sampled.sensitivity_chart(indices, "m", "sobol", {"a": "A shown"})
    spec = facet.to_dict()
    assert 0 < chart_px(spec, indices.with_columns(panel=pl.col("statistic"))) <= MAIN_COLUMN_PX
    assert '"A shown"' in spec["spec"]["layer"][0]["encoding"]["y"]["axis"]["labelExpr"]


def test_small_multiples_keep_a_panel_to_eight_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    app = load_app_module(monkeypatch)
    counts = {"rule": 6, "media_attention_bias": 3, "polarization": 2}
    assert app.small_multiples_layout(counts, "rule") == (["media_attention_bias", "polarization"], [])
    # two panels: 18 lines in each would not read, so the colour is the one that fits and the rest held
    assert app.small_multiples_layout(counts, "polarization") == (["rule"], ["media_attention_bias"])
    assert app.small_multiples_layout({"a": 12, "b": 10}, "a") is None  # no colour fits: choose a few
    assert app.small_multiples_layout({"a": 12}, "a") is None
    assert app.spread_evenly(list(range(10))) == [0, 2, 4, 7, 9]
