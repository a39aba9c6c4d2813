"""The benchmarks view: how fast the batched engine plays a game against the same game stepped one agent at
a time (its PettingZoo env driven by a Python loop) and, where the bench has one, a Mesa model of it.

The rows come from `python -m studies bench` (benchmarks/suite.py). One bench run at a time: its cases ran
on one machine with one code version, so their ratios hold whatever that machine's speed was. The explorer
(streamlit_app.py) lists this view as its Benchmarks page when the database holds benchmark rows. Games come
in the registry's order (`models.games.GAMES`), which also names what a game's sizes and variants count.

The speed-up table is the result of the SQL shown under it, so what the reader sees is what the query
gives; it computes what `benchmarks.suite.ratios` does (the tests check both), without the explorer
importing the suite and its dependencies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from models.games import GAMES
from studies import store

CACHE_TTL_S = 30
CHART_HEIGHT = 340
WAYS = {"engine": "batched engine", "pettingzoo_loop": "PettingZoo loop", "mesa": "Mesa model"}
OVERHEAD = "study_overhead"
# Sizes of world get an ordered palette (viridis without its faint yellow end).
ORDERED_COLOURS = alt.Scale(scheme=alt.SchemeParams(name="viridis", extent=[0, 0.85]))
LOG = alt.Scale(type="log")
SI = alt.Axis(format="~s")  # 1k, 10M: powers of ten read at a glance
ROW_HEIGHT = 34
SPEEDUP_COLUMNS = {
    "scenario": "A named setting of the game from the literature (benchmarks/suite.py); empty: its defaults.",
    "engine_worlds": "Worlds the engine ran side by side at its fastest.",
    "a": "(a) The batched engine's decisions per second, at its fastest worlds count.",
    "b": "(b) The PettingZoo loop's decisions per second (one world, one agent at a time).",
    "c": "(c) The Mesa model's decisions per second (one world; games with a Mesa model only).",
    "a_over_b": "How many times faster the engine is than the PettingZoo loop.",
    "a_over_c": "How many times faster the engine is than the Mesa model.",
}

Token = tuple[int, ...]


# --- Cached queries, keyed by the database and its freshness (as the studies view's) ------------------


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_bench_runs(db: str, token: Token) -> pl.DataFrame:
    """One row per bench run, newest first; empty when there is none, or no benchmarks table (older files)."""
    found = store.query(Path(db), "SELECT 1 FROM information_schema.tables WHERE table_name = 'benchmarks'")
    if found.is_empty():
        return pl.DataFrame()
    return store.query(
        Path(db),
        """
        SELECT bench_id, strftime(max(measured_at), '%Y-%m-%d %H:%M') AS measured,
               any_value(machine) AS machine, any_value(code_commit) AS code_commit,
               bool_or(code_dirty) AS code_dirty, count(*) AS cases
        FROM benchmarks GROUP BY bench_id ORDER BY max(measured_at) DESC NULLS LAST, bench_id DESC
        """,
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_bench_rows(db: str, token: Token, bench_id: str) -> pl.DataFrame:
    """Every measured case of one bench run."""
    return store.query(
        Path(db),
        "SELECT * EXCLUDE (package_versions, machine) FROM benchmarks WHERE bench_id = ? "
        "ORDER BY game, rule NULLS FIRST, method, agents, worlds",
        [bench_id],
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_speedups(db: str, token: Token, bench_id: str, game: str, scenarios: bool) -> pl.DataFrame:
    return store.query(Path(db), speedup_sql(bench_id, game, scenarios))


def speedup_sql(bench_id: str, game: str, scenarios: bool = False) -> str:
    """Per rule and size (and scenario, where the bench measured one: empty is the game's defaults): the
    engine's best rate over its worlds counts (a), the PettingZoo loop's (b), Mesa's (c) and the speed-ups;
    what `benchmarks.suite.ratios` computes, as a query anyone can rerun. Without scenarios the query names
    no scenario column, so that it runs on files written before the bench had them."""
    bench, name = bench_id.replace("'", "''"), game.replace("'", "''")
    keys = "game, rule, scenario, agents" if scenarios else "game, rule, agents"
    order = keys.replace("rule", "rule NULLS FIRST").replace("scenario", "scenario NULLS FIRST")
    return (
        "-- decisions per second: a = engine at its fastest worlds count, b = PettingZoo loop, c = Mesa\n"
        f"SELECT {keys},\n"
        "       arg_max(worlds, decisions_per_second) FILTER (method = 'engine') AS engine_worlds,\n"
        "       max(decisions_per_second) FILTER (method = 'engine') AS a,\n"
        "       max(decisions_per_second) FILTER (method = 'pettingzoo_loop') AS b,\n"
        "       max(decisions_per_second) FILTER (method = 'mesa') AS c,\n"
        "       round(a / b, 1) AS a_over_b, round(a / c, 1) AS a_over_c\n"
        f"FROM benchmarks WHERE bench_id = '{bench}' AND game = '{name}'\n"
        f"GROUP BY {keys} HAVING a IS NOT NULL\n"
        f"ORDER BY {order};"
    )


# --- What a game's sizes count, from the registry ------------------------------------------------------


def per_world(game: str) -> str:
    """What the bench's size of a world counts: the doc of the game's scale parameter ('voters per world')."""
    spec = GAMES.get(game)
    if spec and spec.scale in spec.params.params:
        return spec.params.params[spec.scale].doc
    return "agents per world"


def first_role(game: str) -> str:
    """The game's first role (the one its scale parameter counts): 'voter'."""
    spec = GAMES.get(game)
    return spec.role_names[0] if spec and spec.role_names else "agent"


# --- Frames and charts ---------------------------------------------------------------------------------


def with_way(frame: pl.DataFrame) -> pl.DataFrame:
    """The method's name as the legend says it."""
    return frame.with_columns(pl.col("method").replace_strict(WAYS, default=pl.col("method")).alias("way"))


def main_rule(rows: pl.DataFrame) -> str | None:
    """The variant (the election's voting rule) measured at the most sizes, None for a game without
    variants: the size curves use it, as the other variants are measured at one size only."""
    engine = rows.filter(pl.col("method") == "engine")
    sizes = engine.group_by("rule").agg(pl.col("agents").n_unique().alias("sizes"))
    return sizes.sort("sizes", "rule", descending=[True, False], nulls_last=True)["rule"].first()


def best_rates(rows: pl.DataFrame) -> pl.DataFrame:
    """Per method and size of world, decisions per second: the engine at its fastest worlds count, the
    per-agent ways (one world each) as measured. `rows`: one game and rule."""
    engine = (
        rows.filter(pl.col("method") == "engine")
        .sort("decisions_per_second", descending=True)
        .unique("agents", keep="first", maintain_order=True)
    )
    per_agent = rows.filter(pl.col("method").is_in(["pettingzoo_loop", "mesa"]))
    return with_way(pl.concat([engine, per_agent])).select(
        "method", "way", "agents", "agents_per_world", "worlds", "decisions_per_second"
    )


def most_rules(frame: pl.DataFrame, column: str) -> Any:
    """The value of `column` measured under the most voting rules (the largest on a tie)."""
    counts = frame.group_by(column).agg(pl.col("rule").n_unique().alias("rules"))
    return counts.sort("rules", column, descending=True)[column].first()


def rule_rates(rows: pl.DataFrame) -> pl.DataFrame:
    """Engine and PettingZoo loop per voting rule, at the size and worlds count measured for the most
    rules, so that no rule gets a batch the others did not; empty unless several rules were measured."""
    engine = rows.filter(pl.col("method") == "engine")
    if engine["rule"].drop_nulls().n_unique() < 2:
        return pl.DataFrame()
    agents = most_rules(engine, "agents")
    worlds = most_rules(engine.filter(pl.col("agents") == agents), "worlds")
    picked = rows.filter(
        (pl.col("agents") == agents)
        & (
            ((pl.col("method") == "engine") & (pl.col("worlds") == worlds))
            | (pl.col("method") == "pettingzoo_loop")
        )
    )
    return with_way(picked).select("rule", "method", "way", "agents", "worlds", "decisions_per_second")


def way_colour(frame: pl.DataFrame) -> alt.Color:
    """One hue per method, the same in every chart and game (the engine blue, the loop orange)."""
    shown = [way for way in WAYS.values() if way in set(frame["way"])]
    scheme = ["#4c78a8", "#f58518", "#e45756"]  # tableau10's first three, in WAYS order
    colours = [scheme[list(WAYS.values()).index(way)] for way in shown]
    return alt.Color("way:N", title="method", scale=alt.Scale(domain=shown, range=colours))


def rate_tooltip() -> list[alt.Tooltip]:
    return [
        alt.Tooltip("way:N", title="method"),
        alt.Tooltip("agents_per_world:Q", title="agents per world", format=","),
        alt.Tooltip("worlds:Q", format=","),
        alt.Tooltip("decisions_per_second:Q", title="decisions per second", format=",.0f"),
    ]


def rates_chart(frame: pl.DataFrame) -> alt.Chart:
    """Log-log: one line per method across sizes of world, so the gap between them is the speed-up."""
    return (
        alt.Chart(frame)
        .mark_line(point=alt.OverlayMarkDef(size=70, filled=True))
        .encode(
            x=alt.X("agents_per_world:Q", title="agents per world", scale=LOG, axis=SI),
            y=alt.Y("decisions_per_second:Q", title="decisions per second", scale=LOG, axis=SI),
            color=way_colour(frame),
            tooltip=rate_tooltip(),
        )
        .properties(height=CHART_HEIGHT)
    )


def batch_chart(engine: pl.DataFrame) -> alt.Chart:
    """Log-log: the engine's rate against the worlds it runs side by side, one line per size of world."""
    return (
        alt.Chart(
            with_way(engine).select("way", "agents", "agents_per_world", "worlds", "decisions_per_second")
        )
        .mark_line(point=alt.OverlayMarkDef(size=70, filled=True))
        .encode(
            x=alt.X("worlds:Q", title="worlds run side by side", scale=LOG, axis=SI),
            y=alt.Y("decisions_per_second:Q", title="decisions per second", scale=LOG, axis=SI),
            color=alt.Color("agents_per_world:O", title="agents per world", scale=ORDERED_COLOURS),
            tooltip=rate_tooltip(),
        )
        .properties(height=CHART_HEIGHT)
    )


def rules_chart(frame: pl.DataFrame, name: str = "rule") -> alt.LayerChart:
    """Per variant (the election's voting rule), the engine's and the loop's rates on one log axis, joined
    by a bar: its length is the speed-up. Variants by the engine's rate, fastest first; `name` is the game's
    variant parameter, for the axis."""
    order = frame.filter(pl.col("method") == "engine").sort("decisions_per_second", descending=True)["rule"]
    y = alt.Y("rule:N", title=name, sort=order.to_list())
    x = alt.X("decisions_per_second:Q", title="decisions per second", scale=LOG, axis=SI)
    base = alt.Chart(frame).encode(y=y)
    gap = base.mark_rule(color="#cccccc", strokeWidth=4).encode(
        x=alt.X("min(decisions_per_second):Q", title="decisions per second", scale=LOG, axis=SI),
        x2="max(decisions_per_second):Q",
    )
    tooltip = [alt.Tooltip("rule:N"), alt.Tooltip("way:N", title="method"), *rate_tooltip()[2:]]
    points = base.mark_point(filled=True, size=90, opacity=1).encode(
        x=x, color=way_colour(frame), tooltip=tooltip
    )
    return alt.layer(gap, points).properties(height=max(ROW_HEIGHT * frame["rule"].n_unique(), 120))


# --- The page ------------------------------------------------------------------------------------------


def run_label(run: dict[str, Any]) -> str:
    """When, on what and with which code: the three things that make two bench runs differ."""
    cpu = json.loads(run["machine"] or "{}").get("cpu") or "unknown machine"
    code = (run["code_commit"] or "?")[:7] + ("+" if run["code_dirty"] else "")
    return f"{run['measured']} · {cpu} · {code}"


def show_run_facts(run: dict[str, Any], rows: pl.DataFrame) -> None:
    """The machine and code a bench run measured, so its speeds are never read without them."""
    machine = json.loads(run["machine"] or "{}")
    sidebar = st.sidebar
    sidebar.divider()
    sidebar.markdown(f"**Measured:** {run['measured']} · {run['cases']} cases, one at a time")
    cpu = machine.get("cpu") or "unknown"
    cores = f", {machine['cores']} cores" if machine.get("cores") else ""
    sidebar.markdown(f"**Machine:** {cpu}{cores} · Python {machine.get('python', '?')}")
    engine = rows.filter(pl.col("method") == "engine")
    if not engine.is_empty():
        threads, device = engine["threads"].max(), engine["device"].first()
        sidebar.markdown(
            f"**Engine:** {threads} threads on {device}, torch {machine.get('torch', '?')}; the per-agent "
            "ways run on one thread"
        )
    dirty = " with uncommitted changes" if run["code_dirty"] else ""
    sidebar.caption(f"Bench run `{run['bench_id']}` · code `{(run['code_commit'] or '?')[:10]}`{dirty}")


def show_rates(rates: pl.DataFrame, game: str, rule: str | None) -> None:
    st.subheader("Decisions per second against agents per world")
    st.altair_chart(rates_chart(rates), width="stretch")
    ways = " and the ".join(w for m, w in WAYS.items() if m != "engine" and m in set(rates["method"]))
    others = f"; the {ways} (one world, one agent at a time)" if ways else ""
    under = f" under the {rule} rule" if rule else ""
    st.caption(
        f"The {game} game{under}. A decision is one agent's choice in one round. Each point is one size of "
        "world: the batched engine at its fastest number of worlds run side by side (in the tooltip)"
        f"{others}. Both axes are logarithmic: equal gaps are equal ratios, so the vertical gap between two "
        "lines is the speed-up."
    )


def show_batching(engine: pl.DataFrame) -> None:
    st.subheader("The engine's rate as it runs more worlds at once")
    if engine.is_empty():
        st.info("This bench run has no engine case of this game.")
        return
    st.altair_chart(batch_chart(engine), width="stretch")
    st.caption(
        "One line per size of world: the engine's decisions per second against the number of worlds it steps "
        "together (log-log). A rising line means batching still pays; where it flattens the machine is busy, "
        "and more worlds only take proportionally longer. Large worlds stop early: the suite caps a batch's "
        "agents to bound its memory."
    )


def show_rules(frame: pl.DataFrame, game: str) -> None:
    spec = GAMES.get(game)
    name = spec.variants if spec and spec.variants else "rule"
    st.subheader(f"By {name}")
    st.altair_chart(rules_chart(frame, name), width="stretch")
    engine = frame.filter(pl.col("method") == "engine")
    meaning = f" (`{name}`: {spec.params.params[name].doc})" if spec and name in spec.params.params else ""
    st.caption(
        f"Each {name} at {frame['agents'].max():,} {per_world(game)}{meaning}: the engine running "
        f"{engine['worlds'].max():,} worlds side by side against the PettingZoo loop running one, one "
        f"{first_role(game)} at a time (log axis). The longer the bar, the larger the speed-up; a costly "
        f"{name} slows both."
    )


def show_speedups(speedups: pl.DataFrame, engine: pl.DataFrame, overhead: pl.DataFrame, game: str) -> None:
    """The speed-ups, the engine's memory per agent, and the share of a study that is not simulation."""
    st.subheader("Speed-ups and memory")
    numbers = {c: st.column_config.NumberColumn(c, help=h, format="%.0f") for c, h in SPEEDUP_COLUMNS.items()}
    numbers["scenario"] = st.column_config.TextColumn("scenario", help=SPEEDUP_COLUMNS["scenario"])
    numbers |= {
        c: st.column_config.NumberColumn(c, help=SPEEDUP_COLUMNS[c]) for c in ("a_over_b", "a_over_c")
    }
    st.dataframe(speedups, hide_index=True, width="stretch", column_config=numbers)
    st.caption(
        f"Per size (agents: {per_world(game)}), decisions per second of the batched engine at "
        "its fastest worlds count (a), the PettingZoo loop (b) and the Mesa model (c); a_over_b and a_over_c "
        "say how many times faster the engine is. Empty cells: that way was not measured at that size."
    )
    if not overhead.is_empty():
        row = overhead.row(0, named=True)
        st.markdown(
            f"**Outside the simulation:** computing metrics and writing results take "
            f"**{row['overhead_share']:.1%}** of the default {row['game']} study's time "
            f"({row['worlds']} runs of {row['agents']:,} agents for {row['rounds']} rounds, "
            f"{row['seconds']:.1f} s in all)."
        )
    memory = engine.select(
        "rule",
        "agents_per_world",
        "worlds",
        "rounds",
        "decisions_per_second",
        pl.col("peak_bytes_per_agent", "state_bytes_per_agent").round(1),
    )
    if memory["rule"].null_count() == memory.height:
        memory = memory.drop("rule")
    rate = st.column_config.NumberColumn("decisions_per_second", format="%.0f")
    st.dataframe(memory, hide_index=True, width="stretch", column_config={"decisions_per_second": rate})
    st.caption(
        "The engine's cases and their memory per agent: **peak** is the process's peak memory above its "
        "start, over all worlds' agents (at small sizes the fixed cost of torch dominates it); **state** is "
        "what the engine and the learners keep from round to round."
    )


def show(db: Path, token: Token, runs: pl.DataFrame) -> None:
    """The benchmarks of one bench run and one game, chosen in the sidebar."""
    by_id = {run["bench_id"]: run for run in runs.iter_rows(named=True)}
    bench_id = st.sidebar.selectbox(
        "Bench run",
        list(by_id),
        format_func=lambda key: run_label(by_id[key]),
        key="bench",
        help="Newest first: when it ran, the CPU, the code commit (+: with uncommitted changes).",
    )
    rows = load_bench_rows(str(db), token, bench_id)
    if "scenario" not in rows.columns:  # a file written before the bench measured scenarios
        rows = rows.with_columns(pl.lit(None, pl.String).alias("scenario"))
    measured = rows.filter(pl.col("method") != OVERHEAD)
    present = set(measured["game"])
    games = [g for g in GAMES if g in present] + sorted(present - set(GAMES))  # unregistered ones last
    st.title("Benchmarks")
    if not games:
        show_run_facts(by_id[bench_id], rows)
        st.info("This bench run measured no game yet: it is still running, or was interrupted.")
        return
    game = st.sidebar.selectbox("Game", games, key="bench_game")
    show_run_facts(by_id[bench_id], rows)
    in_game = measured.filter(pl.col("game") == game)
    of_game = in_game.filter(pl.col("scenario").is_null())  # the charts: the game at its defaults
    scenarios = of_game.height < in_game.height  # the speed-up table has them as rows of their own
    rule = main_rule(of_game)
    of_rule = of_game.filter(pl.col("rule").eq_missing(rule))
    mesa = " and a Mesa model of it" if "mesa" in set(of_game["method"]) else ""
    st.markdown(
        f"How fast the batched engine plays the **{game}** game, against the same game stepped one agent at "
        f"a time through its PettingZoo env{mesa}. Every case ran alone in a fresh process on one machine."
    )
    show_rates(best_rates(of_rule), game, rule)
    show_batching(of_rule.filter(pl.col("method") == "engine"))
    rules = rule_rates(of_game)
    if not rules.is_empty():
        show_rules(rules, game)
    speedups = load_speedups(str(db), token, bench_id, game, scenarios)
    overhead = rows.filter(pl.col("method") == OVERHEAD)
    show_speedups(speedups, of_game.filter(pl.col("method") == "engine"), overhead, game)
    with st.expander("The SQL that gives the speed-up table"):
        st.code(speedup_sql(bench_id, game, scenarios), language="sql")
        st.caption(
            f'Run it with `python -m studies query "…" --db {db}` or any DuckDB client; change the bench id '
            "or the game in `WHERE` for another."
        )
