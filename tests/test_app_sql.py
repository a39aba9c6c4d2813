"""The explorer's SQL page, driven headless: a user's query reads the store and nothing else, within its
row and time limits, and its results come back as a table, a chart and downloads that read back."""

from __future__ import annotations

import hashlib
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from test_app import APP, chart_data, charts, open_page, page_text, start, table, tiny

from models.games import GAMES
from studies import store
from studies.config import plan_study
from studies.runner import run_study

# Each write or escape the page must refuse, in the words a user might paste.
REFUSED = {
    "delete": "DELETE FROM runs",
    "drop": "DROP TABLE metrics",
    "insert": "INSERT INTO studies SELECT * FROM studies",
    "update": "UPDATE runs SET seed = 0",
    "create": "CREATE TABLE leak AS SELECT * FROM runs",
    "create_temp": "CREATE TEMP TABLE scratch AS SELECT 1",
    "attach": "ATTACH 'other.duckdb' AS other",
    "copy_to": "COPY (SELECT * FROM runs) TO 'leak.csv'",
    "copy_from": "COPY runs FROM 'other.parquet'",
    "export": "EXPORT DATABASE 'exported'",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "set": "SET enable_external_access = true",
    "reset": "RESET threads",
    "pragma_setting": "PRAGMA threads = 1",
    "pragma_switch": "PRAGMA enable_profiling",
    "pragma_output": "PRAGMA profiling_output = 'profile.txt'",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "read_parquet_elsewhere": "SELECT * FROM read_parquet('other.parquet')",
    "replacement_scan": "SELECT * FROM 'other.parquet'",
    "url": "SELECT * FROM read_csv('https://example.com/data.csv')",
    "glob": "SELECT * FROM glob('*')",
    "second_statement": "SELECT 1; DROP TABLE runs",
}
# Why each is refused: not a reading statement, DuckDB's own confinement, or more than one statement.
REASONS = ("which is not allowed here", "disabled by configuration", "configuration has been locked",
           "allowed is exactly one")  # fmt: skip
SLOW = "SELECT sum(a.range * b.range) AS total FROM range(1000000) a, range(1000000) b"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sql") / "results.duckdb"
    run_study(plan_study(tiny("tiny", {"publish_null_prob": [0.0, 1.0]})), db, progress=False)
    return db


@pytest.fixture(scope="module")
def sql_app(results: Path) -> Iterator[AppTest]:
    """One session on the SQL page for the module's tests: each sets its query and presses Run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("STUDIES_DB", str(results))
        patch.setattr("sys.argv", ["streamlit_app.py"])
        at = AppTest.from_file(str(APP), default_timeout=60).run()
        yield open_page(at, "SQL")


def run_sql(at: AppTest, sql: str, max_rows: int = 1_000, timeout_s: int = 10) -> AppTest:
    at.number_input(key="sql_max_rows").set_value(max_rows)
    at.number_input(key="sql_timeout_s").set_value(timeout_s)
    at.text_area(key="sql_query").set_value(sql)
    at.button(key="sql_run").click().run()
    assert not at.exception, at.exception
    return at


def test_the_example_query_shows_the_headline_by_design_point(sql_app: AppTest, results: Path) -> None:
    at = sql_app
    example = at.text_area(key="sql_query").value
    (study_id,) = store.list_studies(results)["study_id"]
    assert "final_metrics" in example and study_id in example and "false_discovery_rate" in example
    run_sql(at, example)
    assert not at.error
    shown = table(at, 0)
    assert shown.columns == ["design_point", "publish_null_prob", "runs", "mean", "sd"]
    expected = store.query(
        results,
        "SELECT r.design_point, avg(f.value) AS mean FROM final_metrics f JOIN runs r USING (run_id) "
        "WHERE f.metric = 'false_discovery_rate' GROUP BY ALL ORDER BY 1",
    )
    assert_frame_equal(shown.select("design_point", "mean"), expected, check_dtypes=False)
    assert shown["runs"].to_list() == [2, 2]
    (spec,) = charts(at)  # the quick chart: the mean against the first column by default
    assert spec["encoding"]["y"]["title"] == "mean"
    assert chart_data(at, 0)["mean"].to_list() == pytest.approx(shown["mean"].to_list())
    assert {button.label for button in at.get("download_button")} == {"Download CSV", "Download Parquet"}

    at.selectbox(key="sql_chart_x").set_value("publish_null_prob").run()
    at.radio(key="sql_chart_mark").set_value("line").run()
    assert charts(at)[0]["mark"]["type"] == "line"
    assert charts(at)[0]["encoding"]["x"]["title"] == "publish_null_prob"
    assert len(at.dataframe) == 1  # the result is kept: charting does not need the query again

    at.text_area(key="sql_query").set_value("SELECT 1 AS one").run()
    at = open_page(open_page(at, "Study"), "SQL")  # away and back: the query is kept
    assert at.text_area(key="sql_query").value == "SELECT 1 AS one"
    at.button(key="sql_example").click().run()
    assert at.text_area(key="sql_query").value == example


def test_the_schema_reference_lists_the_tables_and_the_metrics(sql_app: AppTest) -> None:
    text = "\n".join(str(element.value) for element in sql_app.markdown)
    positions = [text.index(f"**`{name}`**") for name in ("studies", "runs", "metrics", "final_metrics")]
    assert positions == sorted(positions)  # the store's tables in the README's order
    assert "`step` integer, `metric` varchar, `value` double" in text
    assert "`publish_null_prob` double" in text  # a swept parameter is a typed column of runs
    first = GAMES["publication"].metrics[0]
    assert f"`{first.name}`: {first.doc}" in text


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_writes_and_escapes_are_refused(
    sql: str, sql_app: AppTest, results: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shown as one line of error, no table, the store's bytes unchanged and nothing written where it runs."""
    pl.DataFrame({"secret": [1, 2]}).write_parquet(tmp_path / "other.parquet")  # readable, were reads allowed
    (tmp_path / "other.duckdb").write_bytes(results.read_bytes())
    before, files = digest(results), sorted(tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    at = run_sql(sql_app, sql)
    (error,) = at.error
    assert "\n" not in error.value and error.value[0].isupper()
    assert any(reason in error.value for reason in REASONS), error.value
    assert not at.dataframe and not at.get("download_button")
    assert digest(results) == before
    assert sorted(tmp_path.iterdir()) == files
    assert digest(tmp_path / "other.duckdb") == before


def test_a_mistake_is_one_line_and_the_next_query_runs(sql_app: AppTest) -> None:
    at = run_sql(sql_app, "SELEC design_point FROM runs")
    (error,) = at.error
    assert "syntax error" in error.value and "\n" not in error.value
    at = run_sql(sql_app, "SELECT INTERVAL 3 DAY AS wait")  # a type polars cannot hold: said, not raised
    assert "CAST(column AS VARCHAR)" in at.error[0].value
    at = run_sql(sql_app, "SELECT CAST(INTERVAL 3 DAY AS VARCHAR) AS wait")
    assert not at.error and table(at, 0)["wait"].to_list() == ["3 days"]


def test_the_row_limit_cuts_and_says_so(sql_app: AppTest) -> None:
    at = run_sql(sql_app, "SELECT range AS n FROM range(50) ORDER BY n DESC", max_rows=10)
    assert table(at, 0)["n"].to_list() == list(range(49, 39, -1))
    (warning,) = at.warning
    assert "Only the first 10 rows are shown" in warning.value
    at = run_sql(sql_app, "SELECT range AS n FROM range(10)", max_rows=10)
    assert table(at, 0).height == 10 and not at.warning


def test_the_time_limit_stops_a_slow_query(sql_app: AppTest, results: Path) -> None:
    begun = time.monotonic()
    at = run_sql(sql_app, SLOW, timeout_s=1)
    assert time.monotonic() - begun < 8
    (error,) = at.error
    assert "ran past its time limit of 1 s and was stopped" in error.value
    assert not at.dataframe
    at = run_sql(sql_app, "SELECT count(*) AS runs FROM runs")  # the file is free again
    assert table(at, 0)["runs"].to_list() == [4]


def test_downloads_read_back(sql_app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    """CSV parses back, nested columns as JSON text; Parquet reads back with polars, types kept."""
    downloads: dict[str, bytes] = {}
    load = MemoryMediaFileStorage.load_and_get_id

    def keep(self, data, mimetype, kind, filename=None):  # type: ignore[no-untyped-def]
        downloads[filename] = data
        return load(self, data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", keep)
    sql = (
        "SELECT range AS n, [range, range + 1] AS pair, {'a': range, 'b': 'x'} AS tagged, "
        "'\\xAA'::BLOB AS raw, range / 2 AS half, MAP {'k': range} AS lookup FROM range(3)"
    )
    at = run_sql(sql_app, sql)
    assert not at.error and table(at, 0).height == 3
    csv = pl.read_csv(io.BytesIO(downloads["query.csv"]))
    assert csv["n"].to_list() == [0, 1, 2]
    assert [json.loads(text) for text in csv["pair"]] == [[0, 1], [1, 2], [2, 3]]
    assert [json.loads(text) for text in csv["tagged"]] == [{"a": n, "b": "x"} for n in range(3)]
    assert csv["raw"].to_list() == ["aa"] * 3
    assert csv["half"].to_list() == [0.0, 0.5, 1.0]
    assert [json.loads(text) for text in csv["lookup"]] == [{"k": n} for n in range(3)]
    parquet = pl.read_parquet(io.BytesIO(downloads["query.parquet"]))
    assert parquet["pair"].to_list() == [[0, 1], [1, 2], [2, 3]]
    assert parquet["tagged"].to_list() == [{"a": n, "b": "x"} for n in range(3)]
    assert parquet["raw"].to_list() == [b"\xaa"] * 3
    assert parquet.columns == ["n", "pair", "tagged", "raw", "half", "lookup"]
    for column in ("pair", "tagged", "raw", "lookup"):  # charted as text, never a crash
        at.selectbox(key="sql_chart_x").set_value(column).run()
        assert not at.exception, at.exception
        assert chart_data(at, 0).height == 3


def test_without_a_database_it_says_how_to_run_a_study(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    at = open_page(start(monkeypatch, tmp_path / "missing.duckdb"), "SQL")
    assert "studies run" in page_text(at)
    assert not at.text_area and not at.error
    assert not (tmp_path / "missing.duckdb").exists()


def test_a_database_without_a_study_can_still_be_queried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "results.duckdb"
    store.ensure_schema(db)
    at = open_page(start(monkeypatch, db), "SQL")
    assert "holds no study yet" in page_text(at)
    at.button(key="sql_run").click().run()  # the example: the database's tables
    assert not at.exception and not at.error
    assert {"studies", "runs", "metrics", "final_metrics"} <= set(table(at, 0)["table_name"])
