"""The Playground page, driven headless through the explorer with Streamlit's AppTest: it runs a batch live
on any database path, its sliders move the outcomes the way the science says, and what it saves as a study
is what it showed."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, chart_data, open_page, page_text, start

from models.games import GAMES
from models.games.election.voting import RULES
from studies import store, summaries
from studies.config import plan_study
from studies.runner import run_study

THIS = "this design"
NO_BIAS = "baseline: no publication bias"


def playground(monkeypatch: pytest.MonkeyPatch, db: Path, worlds: int = 16, rounds: int = 100) -> AppTest:
    """The explorer opened on the Playground, then made small (fewer worlds and rounds) to keep tests fast."""
    at = open_page(start(monkeypatch, db), "Playground")
    at.select_slider(key="playground_worlds").set_value(worlds)
    at.select_slider(key="playground_rounds").set_value(rounds).run()
    assert not at.exception, at.exception
    return at


def curves(at: AppTest) -> pl.DataFrame:
    assert len(at.get("vega_lite_chart")) == 1  # one chart: a panel per outcome
    return chart_data(at, 0)


def last_point(frame: pl.DataFrame, metric: str, run: str) -> float:
    line = frame.filter((pl.col("metric") == metric) & (pl.col("run") == run)).sort("round")
    return line["mean"][-1]


def outcome(at: AppTest) -> pl.DataFrame:
    """The page's end-of-run table: one row per outcome, a column per run."""
    return pl.from_pandas(at.dataframe[0].value)


def set_bias(at: AppTest, bias: float) -> AppTest:
    at.slider(key="playground_publication_bias").set_value(bias).run()
    assert not at.exception, at.exception
    return at


def test_runs_live_without_a_database_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "results.duckdb"
    at = open_page(start(monkeypatch, db), "Playground")  # the default set-up, in full
    (progress,) = at.get("progress")
    assert progress.proto.value == 100
    frame = curves(at)
    assert set(frame["metric"]) == {"false_discovery_rate", "mean_rigor", "novel_share", "true_discoveries"}
    assert set(frame["run"]) == {THIS, NO_BIAS}
    assert frame["round"].max() > 250  # the whole run of 300 rounds is drawn
    shown = outcome(at)
    assert shown.columns == ["metric", THIS, NO_BIAS, "difference"]
    # The defaults show the effect: publication bias 0.9 against none.
    fdr = shown.filter(pl.col("metric") == "false_discovery_rate").row(0, named=True)
    assert fdr[THIS] > fdr[NO_BIAS] + 0.05
    assert at.metric[0].value == f"{fdr[THIS]:.3f}"
    text = page_text(at)
    docs = {metric.name: metric.doc for metric in GAMES["publication"].metrics}
    for name in set(frame["metric"]):
        assert docs[name] in text  # each panel's metric explained in the game's own words
    assert not db.exists()  # the page writes only when asked to save


def test_runs_beside_studies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "results.duckdb"
    config = {"study": {"name": "tiny", "rounds": 20, "replications": 1}, "game": {"n_researchers": 20}}
    run_study(plan_study(config), db, progress=False)
    at = playground(monkeypatch, db, worlds=8, rounds=50)
    assert set(curves(at)["run"]) == {THIS, NO_BIAS}
    assert store.list_studies(db)["name"].to_list() == ["tiny"]  # untouched


def test_publication_bias_raises_the_false_discovery_rate(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = playground(monkeypatch, tmp_path / "results.duckdb")
    unbiased = curves(set_bias(at, 0.0))
    assert set(unbiased["run"]) == {THIS}  # no bias: the design is its own baseline
    unbiased_end = outcome(at).row(0, named=True)
    biased = curves(set_bias(at, 1.0))
    biased_end = outcome(at).row(0, named=True)
    assert last_point(biased, "false_discovery_rate", THIS) > last_point(
        unbiased, "false_discovery_rate", THIS
    )
    assert biased_end[THIS] > unbiased_end[THIS] + 0.05  # the false discovery rate, over the last tenth
    # The baseline is the unbiased run itself: same worlds, same seeds, same numbers.
    baseline = biased.filter(pl.col("run") == NO_BIAS).with_columns(run=pl.lit(THIS))
    assert baseline.equals(unbiased)
    assert biased_end[NO_BIAS] == pytest.approx(unbiased_end[THIS])
    # Same settings, same curves: back to no bias and to full bias again, run anew.
    set_bias(at, 0.0)
    assert curves(set_bias(at, 1.0)).equals(biased)


def test_switching_to_the_election_draws_its_outcomes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = playground(monkeypatch, tmp_path / "results.duckdb", worlds=8, rounds=50)
    at.selectbox(key="playground_game").set_value("election").run()
    assert not at.exception, at.exception
    frame = curves(at)
    outcomes = {"median_voter_distance", "voter_welfare", "turnout", "platform_polarization"}
    assert set(frame["metric"]) == outcomes
    assert set(frame["run"]) == {THIS, "baseline: no media or donor bias"}
    assert set(outcome(at)["metric"]) == outcomes
    assert at.selectbox(key="playground_rule").options == list(RULES)
    assert "false_discovery_rate" not in set(frame["metric"])
    # Media bias pulls the winner away from the median voter (default media bias 1 against none).
    assert last_point(frame, "median_voter_distance", THIS) > last_point(
        frame, "median_voter_distance", "baseline: no media or donor bias"
    )


def kinds(options: list[str]) -> list[str]:
    """Learner families from their menu labels ("kind: what it does")."""
    return [option.split(":")[0] for option in options]


def test_learners_offered_fit_the_game(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = playground(monkeypatch, tmp_path / "results.duckdb", worlds=8, rounds=50)
    learner = at.selectbox(key="playground_publication_researcher_learner")
    assert learner.value == "q_learning"
    assert "evolution" not in kinds(learner.options)  # evolving labs need the effort model's traits
    at.selectbox(key="playground_study_model").set_value("effort").run()
    assert not at.exception, at.exception
    assert "mean_effort" in set(curves(at)["metric"])  # rigor is undefined in the effort model
    learner = at.selectbox(key="playground_publication_researcher_learner")
    assert "evolution" in kinds(learner.options)
    learner.set_value("evolution").run()
    assert not at.exception, at.exception
    at.selectbox(key="playground_study_model").set_value("rigor").run()  # evolution cannot play here
    assert not at.exception, at.exception
    assert at.selectbox(key="playground_publication_researcher_learner").value == "q_learning"


def test_save_as_a_study_stores_what_the_page_showed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "new" / "results.duckdb"  # no file, no folder yet
    at = playground(monkeypatch, db, worlds=8, rounds=100)
    set_bias(at, 0.5)
    at.slider(key="playground_replication_reward").set_value(0.4).run()
    shown = outcome(at)
    at.button(key="playground_save").click().run()
    assert not at.exception, at.exception

    studies = store.list_studies(db)
    assert studies.height == 1
    study = studies.row(0, named=True)
    assert (study["game"], study["runs_complete"], study["rounds"]) == ("publication", 8, 100)
    assert study["study_id"] in at.success[0].value and str(db) in at.success[0].value
    columns = "publish_null_prob, replication_reward, researcher_kind, seed"
    runs = store.query(db, f"SELECT {columns} FROM runs WHERE study_id = ?", [study["study_id"]])
    assert set(runs["publish_null_prob"]) == {0.5}
    assert set(runs["replication_reward"]) == {0.4}
    assert set(runs["researcher_kind"]) == {"q_learning"}
    assert runs["seed"].n_unique() == 8
    for row in shown.iter_rows(named=True):  # every outcome the page showed, as the store computes it
        saved = summaries.outcome_by_design_point(db, study["study_id"], row["metric"])["mean"].item()
        assert saved == pytest.approx(row[THIS], rel=1e-9, abs=1e-12)

    at.button(key="playground_save").click().run()  # the same settings again: the same study
    assert "there already" in at.success[0].value
    assert store.list_studies(db).height == 1


def load_playground(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(APP.parent))  # as `streamlit run` does, for its sibling modules
    spec = importlib.util.spec_from_file_location("playground", APP.parent / "playground.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_control_sets_values_its_game_allows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bad values are impossible by construction: a slider's ends and start are values its parameter
    allows, and every slider at its lowest or highest beside any option of any choice, with the fewest agents
    and rounds, plans as a study (the games' cross-field checks, a funding threshold the run can reach)."""
    page = load_playground(monkeypatch)
    assert set(page.DESIGNS) == {"publication", "election"}
    for design in page.DESIGNS.values():
        game = GAMES[design.game]
        controls = [control for _, group in design.groups for control in group]
        sliders = [control for control in controls if isinstance(control, page.Slider)]
        ends = {}
        for slider in sliders:
            param = game.params.params[slider.param]
            low, high, start = slider.bounds(param)
            assert low < high and low <= start <= high
            for value in (low, high, start):
                param.check(slider.param, value)  # raises ConfigError outside the range
            ends[slider.param] = (low, high)
        options = [
            control.values(option, game.params.params[control.param])
            for control in controls
            if isinstance(control, page.Choice)
            for option in control.options_for(game.params.params[control.param])
        ]
        for end in (0, 1):
            for chosen in options:
                values = {**design.fixed, game.scale: min(design.agents)}
                values |= {name: pair[end] for name, pair in ends.items()} | chosen
                plan_study(page.study_config(design.game, values, {}, min(page.ROUNDS), 1, 0))
    bias = next(c for c in page.PUBLICATION.groups[0][1] if c.key == "playground_publication_bias")
    assert bias.param == "publish_null_prob" and bias.inverted
