"""The explorer: the reward design lab's results, and a playground to try a design live.

Start it with `streamlit run app/streamlit_app.py [-- --db PATH]` (or `make app`). The pages only read,
and each query opens the database read-only for that query alone, so a study can keep writing to the same
file meanwhile; query results are cached briefly and keyed by the file's modification time, so new runs
show up on the next rerun. The Playground is the one page that writes, and only when asked to save its run
as a study (through the same store a study script uses).

Pages (st.navigation), one module each next to this file (`streamlit run` puts this folder on the import
path): Playground (`playground.py`), Study (`study_page.py`, the default), Agents (`agents_page.py`),
Compare (`compare_page.py`), SQL (`sql_page.py`) and Benchmarks (`benchmarks_view.py`, listed only when the
database holds bench rows from `python -m studies bench`). Each page module has
`show(db, token, studies)`; what every page shares lives in `shared.py`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import agents_page
import benchmarks_view
import compare_page
import playground
import polars as pl
import sql_page
import streamlit as st
import study_page
from shared import (
    TITLE,
    Token,
    database_from_argv,
    freshness,
    load_studies,
    show_how_to_run,
    show_sidebar_header,
)

from studies import store

# The pages' URL paths and icons.
PLAYGROUND, STUDIES, AGENTS, COMPARE, SQL, BENCHMARKS = (
    "playground",
    "studies",
    "agents",
    "compare",
    "sql",
    "benchmarks",
)
ICONS = {
    PLAYGROUND: ":material/tune:",
    STUDIES: ":material/science:",
    AGENTS: ":material/groups:",
    COMPARE: ":material/compare_arrows:",
    SQL: ":material/database:",
    BENCHMARKS: ":material/speed:",
}
STUDIES_ICON, BENCHMARKS_ICON = ICONS[STUDIES], ICONS[BENCHMARKS]

PageView = Callable[[Path, Token, pl.DataFrame], None]


def pages(db: Path) -> list[st.Page]:
    """The explorer's pages; Benchmarks only where the database holds bench rows.

    Study opens by default, unless the database holds benchmarks and no study: then Benchmarks does (and
    Study, still listed, says how to run one). Each page is a function of what was read here, in one run.
    """
    token = freshness(db)
    exists = db.exists()
    studies = load_studies(str(db), token) if exists else pl.DataFrame()
    bench_runs = benchmarks_view.load_bench_runs(str(db), token) if exists else pl.DataFrame()

    def needs_studies(view: PageView) -> Callable[[], None]:
        def page() -> None:
            show_sidebar_header()
            if not exists:
                show_how_to_run(db, f"There is no results database at `{db}` yet.")
            elif studies.is_empty():
                show_how_to_run(db, f"The results database `{db}` holds no study yet.")
            else:
                view(db, token, studies)

        return page

    def anyway(view: PageView) -> Callable[[], None]:
        def page() -> None:
            show_sidebar_header()
            view(db, token, studies)

        return page

    def benchmarks_page() -> None:
        show_sidebar_header()
        benchmarks_view.show(db, token, bench_runs)

    def entry(view: Callable[[], None], title: str, path: str, default: bool = False) -> st.Page:
        return st.Page(view, title=title, url_path=path, icon=ICONS[path], default=default)

    found = [
        entry(anyway(playground.show), "Playground", PLAYGROUND),
        entry(
            needs_studies(study_page.show),
            "Study",
            STUDIES,
            default=not studies.is_empty() or bench_runs.is_empty(),
        ),
        entry(needs_studies(agents_page.show), "Agents", AGENTS),
        entry(needs_studies(compare_page.show), "Compare", COMPARE),
        entry(anyway(sql_page.show), "SQL", SQL),
    ]
    if not bench_runs.is_empty():
        found.append(entry(benchmarks_page, "Benchmarks", BENCHMARKS, default=studies.is_empty()))
    return found


def main() -> None:
    st.set_page_config(page_title=TITLE, page_icon=":material/science:", layout="wide")
    db = database_from_argv(sys.argv[1:])
    try:  # reading the database (to list the pages) and each page's queries
        st.navigation(pages(db)).run()
    except store.StoreError as error:  # locked too long, not a DuckDB file, a failed query
        st.error(f"The results database `{db}` cannot be read: {error}")


if __name__ == "__main__":
    main()
