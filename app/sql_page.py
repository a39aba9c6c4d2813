"""The SQL page: a user's own query on the results database, with a table, a quick chart and downloads.

The query runs through `store.user_query`, as `python -m studies query` does: one statement that reads, on a
connection DuckDB itself keeps from every file but the store, with a row limit and a time limit so that it
never holds the file (and a study waiting to write) for long. Results stay in the session until the next
run, so choosing what to chart does not run the query again.
"""

from __future__ import annotations

import io
import json
import re
import time
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import streamlit as st
from shared import CACHE_TTL_S, Token, metric_order, metric_specs, plural, show_how_to_run

from models.games import GAMES
from studies import store, summaries

DEFAULT_MAX_ROWS = 1_000
DEFAULT_TIMEOUT_S = 10
MAX_ROWS_ALLOWED = 1_000_000
MAX_TIMEOUT_S = 600
CHART_HEIGHT = 380
CHART_MAX_ROWS = 5_000  # a browser draws more points slowly; the table and downloads keep every row
NONE = ""  # the colour picker's "no colour"
QUERY_KEY, KEPT_KEY, OUTCOME_KEY = "sql_query", "sql_kept_query", "sql_outcome"

# What each of the store's tables holds, in the README's words (the columns come from the file itself).
TABLE_NOTES = {
    "studies": "one row per study: its game, swept parameters, design, seeds, rounds and full config (JSON)",
    "runs": "one row per run (design point × seed): its seed, learner, code version, status, timings, and "
    "every game and learner parameter as a typed column",
    "metrics": "one row per run × recorded round × metric, long form (a round where a metric is undefined "
    "has no row)",
    "final_metrics": "one row per run × metric: the metric averaged over the run's last tenth of rounds "
    "(a run's outcome)",
    "sensitivity": "Sobol and Morris indices per study × metric × parameter × statistic, with 95% intervals",
    "benchmarks": "one row per case measured by `python -m studies bench`",
    "store_info": "the store's own facts (schema version, who wrote it)",
}
TABLES_QUERY = (
    "SELECT table_name, table_type\n"
    "FROM information_schema.tables\n"
    "WHERE table_catalog = current_database()\n"
    "ORDER BY table_name"
)
NO_STUDY_EXAMPLE = "-- The tables and views of this database (it holds no study yet)\n" + TABLES_QUERY
TABLES_EXAMPLE = "-- The tables and views of this database\n" + TABLES_QUERY


# --- Reading -------------------------------------------------------------------------------------------


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_schema(db: str, token: Token) -> pl.DataFrame:
    """Every table's and view's columns, in their order, as the file declares them."""
    return store.query(
        Path(db),
        "SELECT c.table_name, t.table_type, c.column_name, c.data_type "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "USING (table_catalog, table_schema, table_name) "
        "WHERE c.table_catalog = current_database() ORDER BY c.table_name, c.ordinal_position",
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_example(db: str, token: Token, study_id: str) -> str:
    """The headline metric by design point of a study, as SQL: a query worth running, and to learn from."""
    path = Path(db)
    try:
        info = summaries.study_info(path, study_id)
    except (KeyError, store.StoreError):  # gone since, or a file whose swept names are not its columns
        return TABLES_EXAMPLE
    names = summaries.metric_names(path, study_id)
    if not names:  # no run complete yet
        return TABLES_EXAMPLE
    specs = metric_specs(info["game"])
    game = GAMES.get(info["game"])
    metric = game.headline if game and game.headline in names else metric_order(names, specs)[0]
    meaning = f" ({specs[metric].doc})" if metric in specs else ""
    swept = "".join(f"r.{identifier(name)}, " for name in info["swept_parameters"] or [])
    return (
        f"-- The latest study, {info['name']}: {metric}{meaning},\n"
        "-- each run's outcome (its mean over the last tenth of rounds) averaged by design point\n"
        f"SELECT r.design_point, {swept}count(*) AS runs,\n"
        "       avg(f.value) AS mean, stddev_samp(f.value) AS sd\n"
        "FROM final_metrics f JOIN runs r USING (run_id)\n"
        f"WHERE r.study_id = {store.quote_literal(study_id)} AND f.metric = {store.quote_literal(metric)}\n"
        "GROUP BY ALL\n"
        "ORDER BY r.design_point"
    )


def identifier(name: str) -> str:
    """A column name as SQL: bare when it reads as one word, quoted otherwise (never SQL of its own)."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else store.quote_identifier(name)


def one_line(message: str) -> str:
    """An error on one line: DuckDB's caret lines point into a query the page no longer shows beside it."""
    lines = [line.strip() for line in message.splitlines()]
    kept = [line for line in lines if line and not line.startswith("LINE ") and set(line) != {"^"}]
    text = " ".join(kept) or "the query failed."
    return text[0].upper() + text[1:]


def run_query(db: Path, sql: str, max_rows: int, timeout_s: float) -> dict[str, Any]:
    """The query's result or its error, as the page keeps it until the next run; never raises."""
    begun = time.monotonic()
    outcome: dict[str, Any] = {"max_rows": max_rows, "frame": None, "more": False, "error": None}
    try:
        frame, more = store.user_query(db, sql, max_rows=max_rows, timeout_s=timeout_s)
        outcome.update(frame=frame, more=more)
    except store.QueryTimeout:  # the store's wording names the CLI's option
        outcome["error"] = (
            f"The query ran past its time limit of {timeout_s:g} s and was stopped: narrow it (a WHERE "
            "clause, fewer joins) or raise the time limit."
        )
    except store.StoreError as error:
        outcome["error"] = one_line(str(error))
    except Exception as error:  # never a trace: a result polars cannot hold, such as an INTERVAL column
        reason = str(error).split(". ")[0].rstrip(".")
        outcome["error"] = one_line(
            f"The result cannot be shown: a column has a type the explorer cannot hold ({reason}); cast it "
            "to text with CAST(column AS VARCHAR)."
        )
    outcome["seconds"] = time.monotonic() - begun
    return outcome


# --- Downloads -----------------------------------------------------------------------------------------


def plain_type(dtype: pl.DataType) -> bool:
    """Numbers, times, text and booleans: what a table cell and a chart axis show as they are; the rest
    (lists, structs, maps, bytes, DuckDB's own extension types) is shown as text."""
    return (
        dtype.is_numeric()
        or dtype.is_temporal()
        or dtype in (pl.String, pl.Boolean, pl.Null)
        or (isinstance(dtype, pl.Categorical | pl.Enum))
    )


def json_value(value: Any) -> Any:
    """What json.dumps cannot write itself (bytes, decimals, dates) as text."""
    return value.hex() if isinstance(value, bytes) else str(value)


def as_text(series: pl.Series) -> pl.Series:
    """A column as text, from Python's values: nested ones as JSON, bytes as hex, others as printed."""
    if series.dtype.is_nested():
        values = [None if v is None else json.dumps(v, default=json_value) for v in series.to_list()]
    else:
        values = [None if v is None else json_value(v) for v in series.to_list()]
    return pl.Series(series.name, values, dtype=pl.String)


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """The result as CSV: columns CSV cannot hold (lists, structs, maps, bytes) become JSON or hex text."""
    return (
        frame.with_columns(as_text(frame[c]) for c in frame.columns if not plain_type(frame.schema[c]))
        .write_csv()
        .encode()
    )


def parquet_bytes(frame: pl.DataFrame) -> bytes | None:
    """The result as Parquet, types kept; None for one Parquet cannot hold."""
    buffer = io.BytesIO()
    try:
        frame.write_parquet(buffer)
    except (pl.exceptions.PolarsError, OSError, ValueError):
        return None
    return buffer.getvalue()


# --- Chart ---------------------------------------------------------------------------------------------


def encoding_type(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "Q"
    return "T" if dtype.is_temporal() else "N"


def quick_chart(frame: pl.DataFrame, x: str, y: str, colour: str, mark: str) -> alt.Chart:
    """y against x (coloured by a column, if any) as points, a line or bars; nested values charted as text."""
    chosen = list(dict.fromkeys(c for c in (x, y, colour) if c))
    data = frame.select(chosen).head(CHART_MAX_ROWS)
    data = data.with_columns(as_text(data[c]) for c in chosen if not plain_type(data[c].dtype))
    # Decimals and 64-bit integers reach the browser as objects Vega-Lite cannot place: as floats.
    data = data.with_columns(pl.col(c).cast(pl.Float64) for c in chosen if data[c].dtype.is_numeric())
    # Vega-Lite reads dots and brackets in a field name as paths: plot under plain names, titled as chosen.
    plain = {
        name: name if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ]*", name) else f"__column_{i}"
        for i, name in enumerate(chosen)
    }
    data = data.rename(plain)
    encoding: dict[str, Any] = {
        "x": alt.X(f"{plain[x]}:{encoding_type(frame.schema[x])}", title=x),
        "y": alt.Y(f"{plain[y]}:Q", title=y, scale=alt.Scale(zero=mark == "bars")),
        "tooltip": [alt.Tooltip(f"{plain[c]}:{encoding_type(frame.schema[c])}", title=c) for c in chosen],
    }
    if colour:
        encoding["color"] = alt.Color(f"{plain[colour]}:{encoding_type(frame.schema[colour])}", title=colour)
    base = alt.Chart(data)
    marks = {
        "points": base.mark_point(filled=True),
        "line": base.mark_line(point=True),
        "bars": base.mark_bar(),
    }
    return marks[mark].encode(**encoding).properties(height=CHART_HEIGHT)


def show_chart(frame: pl.DataFrame) -> None:
    """A quick look at the result: the user picks x, y (numeric), a colour and the mark."""
    numeric = [c for c in frame.columns if frame.schema[c].is_numeric()]
    if frame.is_empty():
        return
    if not numeric:
        st.caption("No chart: the result has no numeric column.")
        return
    left, middle, right, far = st.columns(4)
    x = left.selectbox("x", frame.columns, key="sql_chart_x")
    y_options = [c for c in numeric if c != x] or numeric
    preferred = [c for c in ("mean", "value") if c in y_options]  # the usual outcome columns
    y = middle.selectbox(
        "y", y_options, index=y_options.index(preferred[0]) if preferred else 0, key="sql_chart_y"
    )
    colour = right.selectbox(
        "Colour by",
        [NONE, *[c for c in frame.columns if c not in (x, y)]],
        format_func=lambda name: name or "nothing",
        key="sql_chart_colour",
    )
    mark = far.radio("Mark", ["points", "line", "bars"], horizontal=True, key="sql_chart_mark")
    st.altair_chart(quick_chart(frame, x, y, colour, mark), width="stretch")
    if frame.height > CHART_MAX_ROWS:
        st.caption(f"The chart shows the first {CHART_MAX_ROWS:,} rows; the table and downloads have all.")


# --- Page ----------------------------------------------------------------------------------------------


def show_schema(db: Path, token: Token, studies: pl.DataFrame) -> None:
    """The tables and their columns, read from the file, and what the stored metrics mean."""
    with st.expander("Schema: the tables, their columns and the metrics"):
        schema = load_schema(str(db), token)
        order = {table: position for position, table in enumerate(TABLE_NOTES)}  # the store's own first
        schema = schema.sort(
            pl.col("table_name").replace_strict(order, default=len(order), return_dtype=pl.Int64),
            "table_name",
            maintain_order=True,
        )
        for (table, kind), columns in schema.group_by("table_name", "table_type", maintain_order=True):
            view = " (view)" if kind == "VIEW" else ""
            note = f": {TABLE_NOTES[table]}" if table in TABLE_NOTES else ""
            listed = ", ".join(
                f"`{name}` {sql_type.lower()}"
                for name, sql_type in zip(columns["column_name"], columns["data_type"], strict=True)
            )
            st.markdown(f"**`{table}`**{view}{note}.  \n{listed}")
        games = [] if studies.is_empty() else studies["game"].unique(maintain_order=True).to_list()
        for game in games:
            specs = metric_specs(game)
            if specs:
                lines = "\n".join(f"- `{name}`: {spec.doc}" for name, spec in specs.items())
                st.markdown(f"**Metrics of the {game} game** (`metrics.metric`):\n{lines}")


def show_result(outcome: dict[str, Any]) -> None:
    """The last run's table, cut notice, downloads and chart, or its error in one line."""
    if outcome["error"]:
        st.error(outcome["error"])
        return
    frame: pl.DataFrame = outcome["frame"]
    took = f"{outcome['seconds']:.2f} s"
    if outcome["more"]:
        st.warning(
            f"Only the first {outcome['max_rows']:,} rows are shown: the query returned more. Raise the row "
            "limit, or narrow the query (WHERE, LIMIT, GROUP BY).",
            icon=":material/content_cut:",
        )
    st.caption(f"{plural(frame.height, 'row')} × {plural(frame.width, 'column')} in {took}.")
    # Lists, arrays and structs show as they are; maps and DuckDB's extension types as text.
    odd = [c for c in frame.columns if isinstance(frame.schema[c], pl.Map | pl.Extension)]
    st.dataframe(frame.with_columns(as_text(frame[c]) for c in odd), hide_index=True, width="stretch")
    if "csv" not in outcome:  # made once per result, not on every rerun
        outcome["csv"], outcome["parquet"] = csv_bytes(frame), parquet_bytes(frame)
    left, right = st.columns(2)
    left.download_button(
        "Download CSV",
        outcome["csv"],
        file_name="query.csv",
        mime="text/csv",
        key="sql_download_csv",
        on_click="ignore",
        help="Lists, structs and maps as JSON text; bytes as hex.",
    )
    if outcome["parquet"] is None:
        right.caption("No Parquet download: the result holds a type Parquet cannot store.")
    else:
        right.download_button(
            "Download Parquet",
            outcome["parquet"],
            file_name="query.parquet",
            mime="application/vnd.apache.parquet",
            key="sql_download_parquet",
            on_click="ignore",
            help="Types kept, nested columns too.",
        )
    show_chart(frame)


def use_example(example: str) -> None:
    st.session_state[QUERY_KEY] = example


def show(db: Path, token: Token, studies: pl.DataFrame) -> None:
    """A query box on the results database: read-only, one statement, within the row and time limits."""
    if not db.exists():
        show_how_to_run(db, f"There is no results database at `{db}` yet: there is nothing to query.")
        return
    st.title("SQL")
    example = NO_STUDY_EXAMPLE if studies.is_empty() else load_example(str(db), token, studies["study_id"][0])
    if studies.is_empty():
        st.info(
            f"The results database `{db}` holds no study yet; its tables can be queried all the same. Run a "
            "study (`python -m studies run studies/publication_bias.toml`, or the Playground) to fill them.",
            icon=":material/science:",
        )
    st.markdown(
        "One statement that reads (SELECT, WITH, DESCRIBE, SUMMARIZE, PIVOT, EXPLAIN) on the results "
        f"database `{db}`, opened read-only: nothing is written, and no other file or URL is read. A run's "
        "outcome for a metric is in `final_metrics`; every recorded round is in `metrics`."
    )
    show_schema(db, token, studies)
    if QUERY_KEY not in st.session_state:  # kept across pages, where Streamlit drops an unseen widget's
        st.session_state[QUERY_KEY] = st.session_state.get(KEPT_KEY, example)
    sql = st.text_area("Query", key=QUERY_KEY, height=220, help="DuckDB's SQL dialect.")
    st.session_state[KEPT_KEY] = sql
    left, middle, right, far = st.columns([2, 2, 1, 2], vertical_alignment="bottom")
    max_rows = left.number_input(
        "Row limit",
        min_value=1,
        max_value=MAX_ROWS_ALLOWED,
        value=DEFAULT_MAX_ROWS,
        step=1_000,
        key="sql_max_rows",
        help="At most this many rows come back; the page says when the query returned more.",
    )
    timeout_s = middle.number_input(
        "Time limit (seconds)",
        min_value=1,
        max_value=MAX_TIMEOUT_S,
        value=DEFAULT_TIMEOUT_S,
        step=5,
        key="sql_timeout_s",
        help="The query is stopped after this long, so that it never keeps a study waiting to write.",
    )
    run = right.button("Run", type="primary", key="sql_run", icon=":material/play_arrow:")
    far.button("Back to the example", key="sql_example", on_click=use_example, args=(example,))
    if run:
        st.session_state[OUTCOME_KEY] = run_query(db, sql, int(max_rows), float(timeout_s))
    if OUTCOME_KEY in st.session_state:
        show_result(st.session_state[OUTCOME_KEY])
