"""Every page of the explorer on a large database (100,000 runs), and while a study writes to the file.

The large database is made by copying one real run (benchmarks/explorer_load.py: 1,000 design points x
100 seeds, 6.9 million metric rows, about 3 s). A page must do its work in DuckDB and read only what it
draws: every query the pages run here is counted, and none may bring back more than MAX_ROWS rows (the runs
table alone holds 100,000). How long each page takes is measured by `python -m benchmarks.explorer_load`,
not here.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import streamlit as st
from test_app import PAGES, open_page, start

from benchmarks.explorer_load import large_store
from studies import store

MAX_ROWS = 10_000


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return large_store(tmp_path_factory.mktemp("large") / "results.duckdb", runs=100_000)


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The row counts of every query the tool runs from now on (its own and a user's)."""
    rows: list[int] = []

    def wrap(query: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            result = query(*args, **kwargs)
            frame = result[0] if isinstance(result, tuple) else result
            rows.append(frame.height if isinstance(frame, pl.DataFrame) else 0)
            return result

        return counted

    monkeypatch.setattr(store, "query", wrap(store.query))
    monkeypatch.setattr(store, "user_query", wrap(store.user_query))
    return rows


@pytest.mark.parametrize("title", PAGES)
def test_every_page_reads_only_what_it_draws_from_a_large_database(
    title: str, large: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = counting(monkeypatch)
    st.cache_data.clear()
    at = open_page(start(monkeypatch, large), title)
    assert not at.exception, at.exception
    assert not at.error, at.error[0].value
    assert rows, "the page read nothing"
    assert max(rows) <= MAX_ROWS, f"the {title} page brought back {max(rows):,} rows in one query"


def test_every_page_opens_while_a_study_writes_to_the_same_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A study in another process writes batch after batch; the pages keep opening, and it loses nothing."""
    db = tmp_path / "results.duckdb"
    config = tmp_path / "writing.toml"
    config.write_text(
        '[study]\nname = "writing"\nrounds = 60\nreplications = 10\nseed = 5\n'
        "[game]\nn_researchers = 20\n"
        "[sweep]\npublish_null_prob = { low = 0.0, high = 1.0, steps = 12 }\n"
    )
    subprocess.run(  # one complete study first, so that every page has something to show
        [sys.executable, "-m", "studies", "run", str(config), "--db", str(db), "--quiet"], check=True
    )
    second = config.with_name("second.toml")  # one batch per temperature: 12 writes, one after another
    second.write_text(
        config.read_text()
        .replace('"writing"', '"second"')
        .replace("rounds = 60", "rounds = 400")
        .replace("publish_null_prob =", '"learners.researcher.temperature" =')
        .replace("low = 0.0", "low = 0.1")
    )
    writer = subprocess.Popen(
        [sys.executable, "-m", "studies", "run", str(second), "--db", str(db), "--quiet"]
    )
    try:
        opened = while_writing = 0
        while writer.poll() is None or opened < len(PAGES):
            while_writing += writer.poll() is None
            st.cache_data.clear()
            at = open_page(start(monkeypatch, db), PAGES[opened % len(PAGES)])
            assert not at.exception, at.exception
            assert not at.error, at.error[0].value
            opened += 1
    finally:
        assert writer.wait(timeout=300) == 0
    studies = store.list_studies(db)
    assert studies["runs_complete"].to_list() == studies["runs_planned"].to_list() == [120, 120]
    assert while_writing >= 2, "the study ended before the pages could be opened beside it"
