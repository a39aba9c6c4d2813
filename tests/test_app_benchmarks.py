"""The explorer's benchmarks view, driven headless with AppTest against benchmark rows written by hand.

The numbers are made up but consistent (the engine ten times the PettingZoo loop, twenty times Mesa), so
every figure the page shows can be checked against what was written; the real suite is too slow to run.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.testing.v1 import AppTest
from test_app import (
    APP,
    PAGES,
    SWEEP,
    chart_data,
    charts,
    listed_pages,
    open_page,
    page_text,
    start,
    table,
    tiny,
)

from benchmarks import suite
from studies import store
from studies.config import plan_study
from studies.runner import run_study

NEW, OLD = "bench-20260102T000000", "bench-20251201T000000"
WHEN = {NEW: datetime(2026, 1, 2, tzinfo=UTC), OLD: datetime(2025, 12, 1, tzinfo=UTC)}
COMMIT = {NEW: "abcdef1234567890", OLD: "0123456789abcdef"}
MACHINE = {"cpu": "Test CPU 3000", "cores": 4, "python": "3.11.7", "torch": "2.13.0"}
ROUNDS = 10

# (agents, worlds) -> decisions per second of the engine; the loop and Mesa at one world.
PUBLICATION_ENGINE = {(100, 1): 1e5, (100, 10): 1e6, (100, 100): 2e6, (1000, 1): 1e6, (1000, 10): 4e6}
PUBLICATION_LOOP = {100: 2e5, 1000: 4e5}  # the engine's best is ten times these
PUBLICATION_MESA = {100: 1e5, 1000: 2e5}  # and twenty times these
# Election: plurality at every size; borda and approval at 1000 voters x 100 worlds only.
PLURALITY_ENGINE = {(100, 1): 1e5, (100, 10): 1.5e6, (1000, 1): 1e6, (1000, 100): 6e6, (1000, 1000): 9e6}
RULES_ENGINE = {"plurality": 6e6, "borda": 4e6, "approval": 2e6}  # at 1000 voters x 100 worlds
RULES_LOOP = {"plurality": 3e5, "borda": 2e5, "approval": 1e5}  # at 1000 voters
OVERHEAD_SHARE = 0.125


def case(
    bench: str, game: str, method: str, agents: int, worlds: int, rate: float, rule: str | None = None
) -> dict[str, Any]:
    """One row as `python -m studies bench` writes it (the election adds 3 candidates and the institution)."""
    per_world = agents + (3 if game == "election" else 0)
    decisions = per_world * worlds * ROUNDS
    engine = method == "engine"
    return {
        "bench_id": bench,
        "measured_at": WHEN[bench],
        "game": game,
        "rule": rule,
        "method": method,
        "agents": agents,
        "agents_per_world": per_world,
        "worlds": worlds,
        "rounds": ROUNDS,
        "decisions": decisions,
        "seconds": decisions / rate,
        "decisions_per_second": rate,
        "peak_bytes_per_agent": 1e5 / worlds,
        "state_bytes_per_agent": 32.0 if engine else None,
        "overhead_share": None,
        "threads": 4 if engine else 1,
        "device": "cpu",
        "code_commit": COMMIT[bench],
        "code_dirty": bench == NEW,
        "package_versions": json.dumps({"torch": "2.13.0"}),
        "machine": json.dumps(MACHINE),
    }


def bench_rows() -> list[dict[str, Any]]:
    rows = [case(NEW, "publication", "engine", n, w, r) for (n, w), r in PUBLICATION_ENGINE.items()]
    rows += [case(NEW, "publication", "pettingzoo_loop", n, 1, r) for n, r in PUBLICATION_LOOP.items()]
    rows += [case(NEW, "publication", "mesa", n, 1, r) for n, r in PUBLICATION_MESA.items()]
    rows += [case(NEW, "election", "engine", n, w, r, "plurality") for (n, w), r in PLURALITY_ENGINE.items()]
    rows.append(case(NEW, "election", "pettingzoo_loop", 100, 1, 1e5, "plurality"))
    for rule, rate in RULES_LOOP.items():
        rows.append(case(NEW, "election", "pettingzoo_loop", 1000, 1, rate, rule))
        if rule != "plurality":
            rows.append(case(NEW, "election", "engine", 1000, 100, RULES_ENGINE[rule], rule))
    overhead = case(NEW, "publication", "study_overhead", 100, 8, 5e4)
    rows.append({**overhead, "rounds": 500, "overhead_share": OVERHEAD_SHARE})
    rows += [
        case(OLD, "publication", "engine", 100, 1, 5e4),
        case(OLD, "publication", "pettingzoo_loop", 100, 1, 1e4),
    ]
    return rows


def write_rows(db: Path) -> None:
    for row in bench_rows():
        store.write_benchmark(db, row)


@pytest.fixture(scope="module")
def bench_only(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two bench runs (the newer with both games and the study overhead) and no study."""
    db = tmp_path_factory.mktemp("bench") / "results.duckdb"
    write_rows(db)
    return db


@pytest.fixture(scope="module")
def one_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("study") / "results.duckdb"
    run_study(plan_study(tiny("tiny", SWEEP)), db, progress=False)
    return db


@pytest.fixture
def with_benchmarks(one_study: Path, tmp_path: Path) -> Path:
    db = tmp_path / "results.duckdb"
    shutil.copy(one_study, db)
    write_rows(db)
    return db


@pytest.fixture
def older_file(one_study: Path, tmp_path: Path) -> Path:
    """A store written before the benchmarks table existed."""
    db = tmp_path / "results.duckdb"
    shutil.copy(one_study, db)
    with duckdb.connect(str(db)) as con:
        con.execute("DROP TABLE benchmarks")
    return db


def rows_of(db: Path, bench: str, game: str) -> pl.DataFrame:
    return store.query(db, "SELECT * FROM benchmarks WHERE bench_id = ? AND game = ?", [bench, game])


def by_method(frame: pl.DataFrame) -> dict[str, dict[int, float]]:
    """method -> {agents per world: decisions per second}."""
    return {
        method: dict(zip(group["agents_per_world"], group["decisions_per_second"], strict=True))
        for (method,), group in frame.group_by("method")
    }


def speedups(at: AppTest) -> pl.DataFrame:
    return table(at, 0)


def view_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(APP.parent))  # as `streamlit run` does
    import benchmarks_view

    return benchmarks_view


def test_benchmarks_alone_replace_the_no_study_message(
    monkeypatch: pytest.MonkeyPatch, bench_only: Path
) -> None:
    at = start(monkeypatch, bench_only)
    assert listed_pages(at) == [*PAGES, "Benchmarks"]
    assert at.main.title[0].value == "Benchmarks"  # opened by default: there is no study to show
    assert "studies run" not in page_text(at)
    bench = at.selectbox(key="bench")
    assert bench.options == [
        "2026-01-02 00:00 · Test CPU 3000 · abcdef1+",
        "2025-12-01 00:00 · Test CPU 3000 · 0123456",
    ]
    assert bench.value == NEW  # the newest
    assert at.selectbox(key="bench_game").options == ["publication", "election"]
    sidebar = "\n".join(str(e.value) for e in [*at.sidebar.markdown, *at.sidebar.caption])
    assert "Test CPU 3000, 4 cores" in sidebar
    assert "4 threads on cpu" in sidebar
    assert f"`{NEW}`" in sidebar
    assert "uncommitted changes" in sidebar

    open_page(at, "Study")  # still listed: it says how to run a study
    assert "holds no study yet" in page_text(at)
    assert "studies run" in page_text(at)
    assert not [s for s in at.selectbox if s.key == "bench"]


def test_the_charts_hold_the_rates_written(monkeypatch: pytest.MonkeyPatch, bench_only: Path) -> None:
    at = start(monkeypatch, bench_only)
    rates, batching = charts(at)
    for spec in (rates, batching):
        assert spec["encoding"]["x"]["scale"] == spec["encoding"]["y"]["scale"] == {"type": "log"}
    assert rates["encoding"]["x"]["field"] == "agents_per_world"
    drawn = chart_data(at, 0)
    assert by_method(drawn) == {
        "engine": {100: 2e6, 1000: 4e6},  # the engine at its fastest worlds count per size
        "pettingzoo_loop": PUBLICATION_LOOP,
        "mesa": PUBLICATION_MESA,
    }
    engine_line = drawn.filter(pl.col("method") == "engine")
    assert dict(zip(engine_line["agents"], engine_line["worlds"], strict=True)) == {100: 100, 1000: 10}

    assert batching["encoding"]["x"]["field"] == "worlds"
    assert batching["encoding"]["color"]["field"] == "agents_per_world"
    engine = chart_data(at, 1)
    assert {
        (n, w): r for n, w, r in engine.select("agents", "worlds", "decisions_per_second").iter_rows()
    } == (PUBLICATION_ENGINE)


def test_the_speedup_table_is_engine_over_loop_and_mesa(
    monkeypatch: pytest.MonkeyPatch, bench_only: Path
) -> None:
    at = start(monkeypatch, bench_only)
    shown = speedups(at)
    assert shown["agents"].to_list() == [100, 1000]
    assert shown["engine_worlds"].to_list() == [100, 10]
    assert shown["a"].to_list() == [2e6, 4e6]
    assert shown["a_over_b"].to_list() == [10.0, 10.0]
    assert shown["a_over_c"].to_list() == [20.0, 20.0]
    # The rows hold no scenario (the game's defaults), and the explorer's table has no scenario column.
    expected = (
        suite.ratios(rows_of(bench_only, NEW, "publication"))
        .drop("scenario")
        .with_columns(pl.col("a_over_b", "a_over_c").round(1))
    )
    assert_frame_equal(shown, expected, check_dtypes=False)

    memory = table(at, 1)  # the engine's cases with their memory per agent
    assert memory.height == len(PUBLICATION_ENGINE)
    assert memory["state_bytes_per_agent"].to_list() == [32.0] * len(PUBLICATION_ENGINE)
    assert sorted(memory["peak_bytes_per_agent"]) == sorted(1e5 / w for _, w in PUBLICATION_ENGINE)
    assert "**12.5%** of the default publication study's time" in page_text(at)


@pytest.mark.parametrize("game", ["publication", "election"])
def test_the_sql_shown_gives_the_table_and_suite_ratios(
    monkeypatch: pytest.MonkeyPatch, bench_only: Path, game: str
) -> None:
    at = start(monkeypatch, bench_only)
    at.selectbox(key="bench_game").set_value(game).run()
    assert not at.exception, at.exception
    (code,) = at.get("code")
    reproduced = store.query(bench_only, code.value)
    assert_frame_equal(reproduced, speedups(at), check_dtypes=False)
    ratios = suite.ratios(rows_of(bench_only, NEW, game)).drop("scenario")  # none: the defaults
    assert_frame_equal(
        reproduced.drop("a_over_b", "a_over_c"), ratios.drop("a_over_b", "a_over_c"), check_dtypes=False
    )
    for column in ("a_over_b", "a_over_c"):
        assert reproduced[column].to_list() == [
            None if v is None else round(v, 1) for v in ratios[column].to_list()
        ]


def test_the_election_compares_rules_at_one_batch(monkeypatch: pytest.MonkeyPatch, bench_only: Path) -> None:
    at = start(monkeypatch, bench_only)
    at.selectbox(key="bench_game").set_value("election").run()
    assert not at.exception, at.exception
    assert len(charts(at)) == 3
    assert by_method(chart_data(at, 0)) == {  # the size curves follow plurality, measured at every size
        "engine": {103: 1.5e6, 1003: 9e6},
        "pettingzoo_loop": {103: 1e5, 1003: 3e5},
    }
    rules = chart_data(at, 2)
    engine = rules.filter(pl.col("method") == "engine")
    assert dict(zip(engine["rule"], engine["decisions_per_second"], strict=True)) == RULES_ENGINE
    assert set(engine["worlds"]) == {
        100
    }  # plurality's faster 1000-world batch is left out: not every rule had it
    loop = rules.filter(pl.col("method") == "pettingzoo_loop")
    assert dict(zip(loop["rule"], loop["decisions_per_second"], strict=True)) == RULES_LOOP
    assert "Each rule at 1,000 voters per world" in page_text(at)

    shown = speedups(at)
    assert shown.select("rule", "agents").rows() == [
        ("approval", 1000),
        ("borda", 1000),
        ("plurality", 100),
        ("plurality", 1000),
    ]
    assert shown["a_over_b"].to_list() == [20.0, 20.0, 15.0, 30.0]
    assert shown["c"].is_null().all()
    assert "12.5%" in page_text(at)  # the study overhead is the bench run's, whichever game is shown


def test_an_older_bench_run(monkeypatch: pytest.MonkeyPatch, bench_only: Path) -> None:
    at = start(monkeypatch, bench_only)
    at.selectbox(key="bench").set_value(OLD).run()
    assert not at.exception, at.exception
    assert at.selectbox(key="bench_game").options == ["publication"]
    shown = speedups(at)
    assert shown["a_over_b"].to_list() == [5.0]
    assert shown["c"].is_null().all()
    assert "of the default" not in page_text(at)  # no study overhead measured in that run
    assert "0123456789" in "\n".join(str(e.value) for e in at.sidebar.caption)


def test_studies_and_benchmarks_are_two_pages(monkeypatch: pytest.MonkeyPatch, with_benchmarks: Path) -> None:
    at = start(monkeypatch, with_benchmarks)
    assert listed_pages(at) == [*PAGES, "Benchmarks"]
    assert at.main.title[0].value == "tiny"  # the studies page opens by default, as before
    assert at.selectbox(key="study").value
    assert len(charts(at)) == 2

    open_page(at, "Benchmarks")
    assert at.main.title[0].value == "Benchmarks"
    assert not [s for s in at.selectbox if s.key == "study"]
    assert speedups(at)["a_over_b"].to_list() == [10.0, 10.0]

    open_page(at, "Study")
    assert at.selectbox(key="study").value
    assert len(charts(at)) == 2


def test_the_benchmarks_page_appears_with_the_first_bench_rows(
    monkeypatch: pytest.MonkeyPatch, one_study: Path, tmp_path: Path
) -> None:
    db = tmp_path / "results.duckdb"
    shutil.copy(one_study, db)
    at = start(monkeypatch, db)
    assert listed_pages(at) == PAGES
    write_rows(db)  # `python -m studies bench` into the same file while the explorer is open
    at.run()
    assert not at.exception, at.exception
    assert listed_pages(at) == [*PAGES, "Benchmarks"]
    assert at.main.title[0].value == "tiny"  # the reader stays on the studies page
    open_page(at, "Benchmarks")
    assert at.selectbox(key="bench").value == NEW


def test_a_store_older_than_benchmarks_keeps_the_studies_view(
    monkeypatch: pytest.MonkeyPatch, older_file: Path, one_study: Path
) -> None:
    tables = store.query(older_file, "SELECT table_name FROM information_schema.tables")["table_name"]
    assert "benchmarks" not in tables.to_list()
    at = start(monkeypatch, older_file)
    assert listed_pages(at) == PAGES
    assert at.selectbox(key="study").options == ["tiny · 4/4 runs"]
    assert len(charts(at)) == 2
    assert "Benchmarks" not in page_text(at)

    empty = start(monkeypatch, one_study)  # the table exists but holds no row: the same
    assert listed_pages(empty) == PAGES


def test_the_rule_comparison_needs_several_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    view = view_module(monkeypatch)
    rows = pl.DataFrame([case(NEW, "publication", "engine", 100, 1, 1e5)])
    assert view.main_rule(rows) is None
    assert view.rule_rates(rows).is_empty()
    assert "''" in view.speedup_sql("it's", "publication")  # quotes escaped


SCENARIO = "smaldino_mcelreath"
SCENARIO_ENGINE = {10: 2e6, 100: 3e6}  # at 1000 researchers: the best is thirty times the loop's
SCENARIO_LOOP = 1e5


@pytest.fixture
def with_scenario(tmp_path: Path) -> Path:
    """The newer bench run with a scenario's rows beside the publication game's defaults."""
    db = tmp_path / "results.duckdb"
    write_rows(db)
    rows = [case(NEW, "publication", "engine", 1000, w, r) for w, r in SCENARIO_ENGINE.items()]
    rows.append(case(NEW, "publication", "pettingzoo_loop", 1000, 1, SCENARIO_LOOP))
    for row in rows:
        store.write_benchmark(db, {**row, "scenario": SCENARIO})
    return db


def test_a_scenario_has_its_own_speedup_row_and_stays_out_of_the_charts(
    monkeypatch: pytest.MonkeyPatch, with_scenario: Path
) -> None:
    at = start(monkeypatch, with_scenario)
    assert not at.exception, at.exception
    # The charts draw the game at its defaults only: the same points as without the scenario.
    drawn = chart_data(at, 0)
    assert by_method(drawn)["engine"] == {100: 2e6, 1000: 4e6}
    assert by_method(drawn)["pettingzoo_loop"] == PUBLICATION_LOOP
    assert len(chart_data(at, 1)) == len(PUBLICATION_ENGINE)

    shown = speedups(at)
    assert shown["scenario"].to_list() == [None, None, SCENARIO]
    assert shown["agents"].to_list() == [100, 1000, 1000]
    assert shown["a"].to_list() == [2e6, 4e6, 3e6]
    assert shown["engine_worlds"].to_list() == [100, 10, 100]
    assert shown["a_over_b"].to_list() == [10.0, 10.0, 30.0]
    (code,) = at.get("code")
    reproduced = store.query(with_scenario, code.value)
    assert_frame_equal(reproduced, shown, check_dtypes=False)
    expected = suite.ratios(rows_of(with_scenario, NEW, "publication"))
    assert_frame_equal(
        reproduced.drop("a_over_b", "a_over_c"), expected.drop("a_over_b", "a_over_c"), check_dtypes=False
    )


def test_a_bench_file_from_before_scenarios(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A file whose benchmarks table has no scenario column still shows its table and its SQL runs on it."""
    db = tmp_path / "results.duckdb"
    write_rows(db)
    with duckdb.connect(str(db)) as con:
        con.execute("ALTER TABLE benchmarks DROP COLUMN scenario")
    at = start(monkeypatch, db)
    assert not at.exception, at.exception
    assert "scenario" not in speedups(at).columns
    (code,) = at.get("code")
    assert_frame_equal(store.query(db, code.value), speedups(at), check_dtypes=False)
