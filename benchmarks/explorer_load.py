"""How fast the explorer's pages open on an empty, a small and a large results database.

    python -m benchmarks.explorer_load [--runs 100000]

The large database is made, not run: one real run of the publication game is stored, then copied by SQL
into a study of `--runs` runs (1,000 design points of publication bias x 100 seeds, 50 rounds recorded
every 10, the metrics shifted with the design point and jittered per run), which takes seconds where
running it would take an hour. Each page is opened cold (its caches cleared) through streamlit's AppTest,
which runs the page's script as the server does, without a browser's drawing; the figures in the README
come from here.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import streamlit as st

from studies import store
from studies.config import plan_study
from studies.runner import run_study

APP = Path(__file__).resolve().parents[1] / "app" / "streamlit_app.py"
PAGES = ("Playground", "Study", "Agents", "Compare", "SQL")
SEEDS_PER_POINT = 100
ROUNDS, RECORD_EVERY = 50, 10


def study_config(name: str, design_points: int, seeds: int) -> dict[str, Any]:
    sweep = {"low": 0.0, "high": 1.0, "steps": design_points} if design_points > 1 else [0.0]
    return {
        "study": {
            "name": name,
            "rounds": ROUNDS,
            "record_every": RECORD_EVERY,
            "replications": seeds,
            "seed": 7,
        },
        "game": {"n_researchers": 20},
        "sweep": {"publish_null_prob": sweep},
    }


def small_store(path: Path) -> Path:
    """A real study: 5 design points x 4 seeds."""
    run_study(plan_study(study_config("small", 5, 4)), path, progress=False)
    return path


def large_store(path: Path, runs: int = 100_000) -> Path:
    """A study of `runs` runs made by copying one real run (see the module's docstring)."""
    template = plan_study(study_config("template", 1, 1))
    run_study(template, path, progress=False)
    points = max(runs // SEEDS_PER_POINT, 1)
    large = plan_study(study_config("large", points, SEEDS_PER_POINT))
    store.register_study(path, large)
    with duckdb.connect(str(path)) as con:
        con.execute(
            f"""
            INSERT INTO runs BY NAME
            SELECT runs.* REPLACE (
                'large-' || i AS run_id, ? AS study_id, (i // {SEEDS_PER_POINT})::INTEGER AS design_point,
                (i % {SEEDS_PER_POINT})::INTEGER AS replicate, i::UBIGINT AS seed,
                (i // {SEEDS_PER_POINT}) / {max(points - 1, 1)}::DOUBLE AS publish_null_prob)
            FROM runs, range(?) AS copies(i) WHERE runs.study_id = ?
            """,
            [large.study_id, points * SEEDS_PER_POINT, template.study_id],
        )
        con.execute(
            f"""
            INSERT INTO metrics
            SELECT 'large-' || i, m.step, m.metric,
                   m.value * (0.75 + 0.5 * (i // {SEEDS_PER_POINT}) / {max(points - 1, 1)})
                   + 0.02 * (hash(i, m.step, m.metric) % 1000) / 1000.0
            FROM metrics m JOIN runs r USING (run_id), range(?) AS copies(i) WHERE r.study_id = ?
            """,
            [points * SEEDS_PER_POINT, template.study_id],
        )
        for table in ("metrics", "runs", "studies"):
            where = (
                "run_id IN (SELECT run_id FROM runs WHERE study_id = ?)"
                if table == "metrics"
                else "study_id = ?"
            )
            con.execute(f"DELETE FROM {table} WHERE {where}", [template.study_id])
    return path


def open_page(db: Path, title: str) -> Any:
    """Open one page cold, as a first visit does; the AppTest after the page ran."""
    from streamlit.testing.v1 import AppTest

    st.cache_data.clear()
    at = AppTest.from_file(str(APP), default_timeout=300)
    at.run()
    if title != "Study":  # the default page; the others as a click in the navigation opens them
        (page,) = [key for key, info in at._registered_pages.items() if info["page_name"] == title]
        at._page_hash = page
        at.run()
    return at


def page_seconds(db: Path, title: str, repeats: int = 3) -> float:
    """The median time to open the page cold (the default page's run included)."""
    import os

    os.environ["STUDIES_DB"] = str(db)
    times = []
    for _ in range(repeats):
        begun = time.perf_counter()
        at = open_page(db, title)
        times.append(time.perf_counter() - begun)
        if at.exception:
            raise RuntimeError(f"the {title} page failed on {db}: {at.exception[0].value}")
    return statistics.median(times)


def databases(folder: Path, runs: int) -> Iterator[tuple[str, Path]]:
    yield "empty (no file)", folder / "none.duckdb"
    yield "small (20 runs)", small_store(folder / "small.duckdb")
    yield f"large ({runs:,} runs)", large_store(folder / "large.duckdb", runs)


def main(argv: list[str] | None = None) -> int:
    import sys
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=100_000, help="runs in the large database")
    args = parser.parse_args(argv)
    sys.argv = ["streamlit_app.py"]
    with tempfile.TemporaryDirectory() as folder:
        rows = []
        for label, db in databases(Path(folder), args.runs):
            rows.append((label, [page_seconds(db, title) for title in PAGES]))
    print(f"{'database':<24}" + "".join(f"{title:>12}" for title in PAGES))
    for label, seconds in rows:
        print(f"{label:<24}" + "".join(f"{value:>11.2f}s" for value in seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
