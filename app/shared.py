"""What every page of the explorer shares: where the database is, when it changed, the study list, the
sidebar's header and the games' metric definitions.

Each page reads through cached functions keyed by the database path and its freshness token, so a new run
of a writing study shows on the next rerun and no page holds a connection.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import polars as pl
import streamlit as st

from models.games import GAMES
from models.metrics import Metric
from studies import store, summaries

TITLE = "Reward design lab — explorer"
CACHE_TTL_S = 30
HOW_TO_RUN = (
    "Run a study first, then reload this page:\n\n"
    "- `make run` runs the default study and starts this explorer, or\n"
    "- `python -m studies run studies/publication_bias.toml` runs just the study, or\n"
    "- the **Playground** page runs a small one here and saves it.\n\n"
    "A study writes into `data/results.duckdb` unless `--db PATH` or the `STUDIES_DB` environment "
    "variable names another file; start the explorer with the same one "
    "(`streamlit run app/streamlit_app.py -- --db PATH`)."
)

Token = tuple[int, ...]


def database_from_argv(argv: list[str]) -> Path:
    """`--db PATH` after streamlit's `--`, else STUDIES_DB, else data/results.duckdb; other args ignored."""
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(argv)
    return store.database_path(known.db)


def freshness(db: Path) -> Token:
    """Changes whenever a study writes (file or write-ahead log), so cached results are never stale."""
    token: list[int] = []
    for path in (db, db.with_name(db.name + ".wal")):
        try:
            stat = path.stat()
            token += [stat.st_mtime_ns, stat.st_size]
        except FileNotFoundError:
            token += [0, 0]
    return tuple(token)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_studies(db: str, token: Token) -> pl.DataFrame:
    """Every study, most recent first; empty when the file holds no results table yet."""
    return store.list_studies(Path(db)).reverse()


def study_label(row: dict[str, Any], name_repeats: bool) -> str:
    """Name and completeness; the date too when studies share a name (same name, different configs)."""
    label = f"{row['name']} · {row['runs_complete']}/{row['runs_planned']} runs"
    return f"{label} · {row['created']}" if name_repeats else label


def pick_study(
    studies: pl.DataFrame, key: str = "study", label: str = "Study", where: Any = None, index: int = 0
) -> dict[str, Any]:
    """The chosen study's row of `list_studies` (most recent first); `where` is the sidebar by default."""
    rows = {row["study_id"]: row for row in studies.iter_rows(named=True)}
    repeated = set(studies.filter(studies["name"].is_duplicated())["name"])
    study_id = (where or st.sidebar).selectbox(
        label,
        list(rows),
        index=min(index, len(rows) - 1),
        format_func=lambda key: study_label(rows[key], rows[key]["name"] in repeated),
        key=key,
        help="Most recent first.",
    )
    return rows[study_id]


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_study_info(db: str, token: Token, study_id: str) -> dict[str, Any]:
    return summaries.study_info(Path(db), study_id)


def pick_study_info(
    db: Path, token: Token, studies: pl.DataFrame, key: str = "study"
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """The chosen study's row of `list_studies` and its stored facts (summaries.study_info); None, saying
    so, when the file was replaced between the two queries."""
    row = pick_study(studies, key=key)
    try:
        return row, load_study_info(str(db), token, row["study_id"])
    except KeyError:
        st.warning(f"Study `{row['study_id']}` is no longer in `{db}`; press **R** to reload.")
        return None


def metric_specs(game: str) -> dict[str, Metric]:
    """The game's metric definitions, for their meaning and whether they are shares in [0, 1]."""
    spec = GAMES.get(game)
    return {m.name: m for m in spec.metrics} if spec else {}


def metric_order(names: list[str], specs: dict[str, Metric]) -> list[str]:
    """The stored metrics in the order the game declares them; any the game no longer declares after."""
    return [name for name in specs if name in names] + [name for name in names if name not in specs]


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def games_list() -> str:
    """The games a study can name, as the registry finds them (models/games/)."""
    return "\n".join(f"- **{spec.name}**: {spec.doc}" for spec in GAMES.values())


def show_how_to_run(db: Path, reason: str) -> None:
    st.title(TITLE)
    st.info(f"{reason}\n\n{HOW_TO_RUN}", icon=":material/science:")
    st.markdown(
        f"**The games** (a study names one in `study.game`; `python -m studies params GAME` lists its "
        f"parameters):\n{games_list()}"
    )


def show_sidebar_header() -> None:
    st.sidebar.title(TITLE)
    st.sidebar.button("Check for new runs", help="Reloads the page: new runs of a running study appear.")
