"""The explorer's Compare page, driven headless on three tiny studies: the difference it shows is the one
computed here from the runs' outcomes, both sides share the chart, and only metrics both sides record are
offered."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from scipy import stats
from streamlit.testing.v1 import AppTest
from test_app import APP, chart_data, open_page, page_text, study_id, table, tiny

from models.games import GAMES
from studies import store
from studies.config import plan_study
from studies.runner import run_study

SWEEP = {"publish_null_prob": [0.0, 1.0]}
FDR = "false_discovery_rate"


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An election study, then two publication studies: `plain`, and `cited` (latest, with citations on,
    so it alone records citation_gini) with three seeds per design point."""
    db = tmp_path_factory.mktemp("compare") / "results.duckdb"
    election = {
        "study": {"name": "votes", "game": "election", "rounds": 20, "replications": 2, "seed": 3},
        "game": {"n_voters": 15},
        "sweep": {"rule": ["plurality", "borda"]},
    }
    cited = tiny("cited", SWEEP, replications=3)
    cited["game"]["citations_per_paper"] = 2
    for config in (election, tiny("plain", SWEEP), cited):
        run_study(plan_study(config), db, progress=False)
    return db


@pytest.fixture(scope="module")
def compare_app(compared: Path) -> Iterator[AppTest]:
    """One session on the Compare page for the module's tests: each picks its sides."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIES_DB", str(compared))
        patch.setattr("sys.argv", ["streamlit_app.py"])
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        yield open_page(at, "Compare")


def pick(at: AppTest, db: Path, side: str, study: str, point: int, metric: str | None = None) -> AppTest:
    """Side `side` ("a" or "b") on a study's design point (-1: all pooled); then the metric, if given."""
    at.selectbox(key=f"compare_{side}_study").set_value(study_id(db, study)).run()
    at.selectbox(key=f"compare_{side}_point").set_value(point).run()
    if metric:
        at.selectbox(key="compare_metric").set_value(metric).run()
    assert not at.exception, at.exception
    return at


def run_outcomes(db: Path, study: str, point: int, metric: str) -> list[float]:
    """Each run's outcome straight from the metrics table: its mean over the last tenth of its rounds."""
    frame = store.query(
        db,
        "SELECT avg(m.value) AS outcome FROM metrics m JOIN runs r USING (run_id) "
        "WHERE r.study_id = ? AND m.metric = ? AND (? < 0 OR r.design_point = ?) "
        "AND r.record_every = 1 AND m.step >= r.rounds - r.rounds // 10 GROUP BY r.run_id",
        [study_id(db, study), metric, point, point],
    )
    return frame["outcome"].to_list()


def recorded_rounds(db: Path, study: str, point: int, metric: str) -> int:
    frame = store.query(
        db,
        "SELECT count(DISTINCT m.step) AS n FROM metrics m JOIN runs r USING (run_id) "
        "WHERE r.study_id = ? AND m.metric = ? AND (? < 0 OR r.design_point = ?)",
        [study_id(db, study), metric, point, point],
    )
    return frame["n"].item()


def shown_numbers(at: AppTest) -> dict[str, dict]:
    """The table under 'The numbers': side A, side B and B − A."""
    return {row["side"]: row for row in table(at, 0).iter_rows(named=True)}


def test_the_difference_is_the_one_computed_from_the_runs(compare_app: AppTest, compared: Path) -> None:
    at = pick(compare_app, compared, "a", "plain", -1)
    at = pick(at, compared, "b", "cited", 1, FDR)
    a, b = run_outcomes(compared, "plain", -1, FDR), run_outcomes(compared, "cited", 1, FDR)
    assert (len(a), len(b)) == (4, 3)
    welch = stats.ttest_ind(b, a, equal_var=False)
    half = stats.t.ppf(0.975, math.floor(welch.df)) * math.sqrt(
        stats.tvar(a) / len(a) + stats.tvar(b) / len(b)
    )
    difference = sum(b) / len(b) - sum(a) / len(a)
    shown = shown_numbers(at)
    assert shown["B − A"]["estimate"] == pytest.approx(difference, abs=1e-12)
    low, high = max(difference - half, -1), min(difference + half, 1)  # a share: within [-1, 1]
    assert shown["B − A"]["ci_low"] == pytest.approx(low, abs=2e-3 * half)
    assert shown["B − A"]["ci_high"] == pytest.approx(high, abs=2e-3 * half)
    assert (shown["A"]["runs"], shown["B"]["runs"]) == (4, 3)
    assert shown["A"]["estimate"] == pytest.approx(sum(a) / len(a), abs=1e-12)
    assert "Welch" in page_text(at) and "degrees of freedom" in page_text(at)

    course = chart_data(at, 1)  # both time courses on one chart: every recorded round of each side
    labels = ["A · plain · all design points, pooled", "B · cited · publish_null_prob=1.0"]
    assert sorted(course["side"].unique()) == labels
    steps = [recorded_rounds(compared, study, point, FDR) for study, point in (("plain", -1), ("cited", 1))]
    assert course.group_by("side").len().sort("side")["len"].to_list() == steps
    assert min(steps) > 20  # a round where no run defines the metric has no point
    assert course["runs"].max() <= 4
    assert sorted(chart_data(at, 0)["side"]) == labels  # the final outcomes on one axis


def test_the_same_side_twice_differs_by_zero(compare_app: AppTest, compared: Path) -> None:
    at = pick(compare_app, compared, "a", "cited", 0)
    at = pick(at, compared, "b", "cited", 0, FDR)
    shown = shown_numbers(at)
    assert shown["B − A"]["estimate"] == 0
    assert shown["A"]["estimate"] == shown["B"]["estimate"]
    assert "difference is 0 by construction" in page_text(at)


def test_a_metric_only_one_side_records_is_not_offered(compare_app: AppTest, compared: Path) -> None:
    at = pick(compare_app, compared, "a", "plain", 0)
    at = pick(at, compared, "b", "cited", 0)
    offered = at.selectbox(key="compare_metric").options
    assert "citation_gini" not in offered and FDR in offered
    assert "`citation_gini`" in page_text(at)  # said to be on one side only
    at = pick(at, compared, "a", "cited", 1, "citation_gini")  # both sides cite: offered
    assert at.selectbox(key="compare_metric").value == "citation_gini"
    gini = GAMES["publication"].metrics
    assert f"**citation_gini**: {next(m.doc for m in gini if m.name == 'citation_gini')}." in page_text(at)


def test_sides_of_different_games_have_no_common_metric(compare_app: AppTest, compared: Path) -> None:
    at = pick(compare_app, compared, "a", "votes", -1)
    at = pick(at, compared, "b", "cited", -1)
    assert "No metric is recorded on both sides" in page_text(at)
    assert not at.get("vega_lite_chart")
    assert "compare_metric" not in [box.key for box in at.selectbox]


def test_the_defaults_compare_the_latest_study_s_first_and_last_design_points(
    monkeypatch: pytest.MonkeyPatch, compared: Path
) -> None:
    monkeypatch.setenv("STUDIES_DB", str(compared))
    monkeypatch.setattr("sys.argv", ["streamlit_app.py"])
    at = open_page(AppTest.from_file(str(APP), default_timeout=60).run(), "Compare")
    assert at.selectbox(key="compare_a_study").value == study_id(compared, "cited")
    assert (at.selectbox(key="compare_a_point").value, at.selectbox(key="compare_b_point").value) == (0, 1)
    assert at.selectbox(key="compare_metric").value == FDR  # the game's headline


def compare_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(APP.parent))  # as `streamlit run` does, for its sibling modules
    import compare_page

    return compare_page


def test_a_share_s_intervals_stay_within_zero_and_one(monkeypatch: pytest.MonkeyPatch) -> None:
    page = compare_module(monkeypatch)
    near_zero = page.estimate([0.0, 0.0, 0.3], bounds=(0.0, 1.0))
    assert near_zero.low == 0.0 and 0.1 < near_zero.high < 1.0
    unbounded = page.estimate([0.0, 0.0, 0.3])
    assert unbounded.low < 0 and unbounded.high == near_zero.high
    assert page.estimate([0.5]).low is None  # one run: no interval
    wide = page.welch(page.estimate([0.0, 1.0]), page.estimate([1.0, 0.0]), bounds=(-1.0, 1.0))
    assert (wide.value, wide.low, wide.high) == (0.0, -1.0, 1.0)
