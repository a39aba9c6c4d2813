"""The Study page: one study of the results database, one metric at a time.

A grid study shows its outcome across the sweep and one line per design point over time. A sampled study
(random, Latin hypercube, Sobol, Morris: hundreds of design points) shows one scatter per swept parameter,
the time course as a band across design points and, for Sobol and Morris, the sensitivity indices; those
views live in `sampled.py` next to this file. Games, their metrics and what they mean come from the game
registry (`models.games.GAMES`), so a new game shows without a change here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import sampled
import streamlit as st
from shared import (
    CACHE_TTL_S,
    Token,
    metric_order,
    metric_specs,
    pick_study,
    plural,
)

from models.games import GAMES
from models.metrics import Metric
from studies import store, summaries
from studies.version import code_label

CHART_HEIGHT = 380
MAX_POINTS_PER_LINE = 80  # by default the time course averages windows of rounds to stay under this
# Many values of one numeric parameter get an ordered palette (viridis without its faint yellow end).
ORDERED_COLOURS = alt.Scale(scheme=alt.SchemeParams(name="viridis", extent=[0, 0.85]))


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_study_info(db: str, token: Token, study_id: str) -> dict[str, Any]:
    return summaries.study_info(Path(db), study_id)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_code_versions(db: str, token: Token, study_id: str) -> pl.DataFrame:
    return summaries.code_versions(Path(db), study_id)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_metric_names(db: str, token: Token, study_id: str) -> list[str]:
    return summaries.metric_names(Path(db), study_id)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_outcome(db: str, token: Token, study_id: str, metric: str) -> pl.DataFrame:
    return summaries.outcome_by_design_point(Path(db), study_id, metric)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_time_course(db: str, token: Token, study_id: str, metric: str) -> pl.DataFrame:
    return summaries.time_course(Path(db), study_id, metric)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_sensitivity(db: str, token: Token, study_id: str, metric: str) -> pl.DataFrame:
    return summaries.sensitivity(Path(db), study_id, metric)


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_design_points(db: str, token: Token, study_id: str, swept: tuple[str, ...]) -> pl.DataFrame:
    """The swept values of every design point with a complete run, one row each. The names come from
    study_info, which has checked them against the runs table; quoted all the same."""
    columns = "".join(f", {store.quote_identifier(name)}" for name in swept)
    return store.query(
        Path(db),
        f"SELECT DISTINCT design_point{columns} FROM runs WHERE study_id = ? AND status = 'complete' "
        "ORDER BY design_point",
        [study_id],
    )


# --- Sidebar: what to look at --------------------------------------------------------------------------


def pick_metric(names: list[str], specs: dict[str, Metric], headline: str = "") -> str:
    names = metric_order(names, specs)
    default = names.index(headline) if headline in names else 0  # the game's headline, else its first
    metric = st.sidebar.selectbox(
        "Metric",
        names,
        index=default,
        key="metric",
        help="Each run's outcome is the metric averaged over its last tenth of rounds.",
    )
    if metric in specs:
        st.sidebar.caption(f"**{metric}**: {specs[metric].doc}.")
    return metric


def swept_values(info: dict[str, Any]) -> dict[str, list[Any]]:
    """The swept parameters' values as runs-table columns, read from the study's stored config."""
    sweep = json.loads(info["config"] or "{}").get("sweep", {})
    values = {store.column_name(key): values for key, values in sweep.items()}
    return {name: values[name] for name in info["swept_parameters"] or [] if name in values}


def sampled_ranges(info: dict[str, Any], points: pl.DataFrame | None) -> str:
    """One line per swept parameter: the smallest and largest value of its design points, and the range
    the config asked to sample (the values alone while no run is complete)."""
    swept = list(info["swept_parameters"] or [])
    declared = sampled.declared_ranges(json.loads(info["config"] or "{}"), swept)
    found = sampled.ranges(points, swept) if points is not None else {}
    lines = []
    for name in swept:
        line = f"- `{name}`"
        if name in found:
            low, high = found[name]
            line += f": {sampled.number(low)} to {sampled.number(high)}"
        if name in declared:
            low, high = declared[name]
            line += f" (sampled in [{sampled.number(low)}, {sampled.number(high)}])"
        lines.append(line)
    return "\n".join(lines)


def show_study_facts(
    info: dict[str, Any], row: dict[str, Any], points: pl.DataFrame | None, versions: pl.DataFrame
) -> None:
    """What the study asked, how far it got and with which code, so a chart is never read without its design.

    `points`: the swept values of the design points with a complete run (for a sampled design's ranges).
    `versions`: the code versions behind its stored runs (summaries.code_versions).
    """
    sidebar = st.sidebar
    sidebar.divider()
    if info.get("description"):
        sidebar.markdown(info["description"])
    game = GAMES.get(info["game"])
    sidebar.markdown(f"**Game:** {info['game']}" + (f" — {game.doc}" if game else ""))
    design = info.get("design") or "grid"
    sidebar.markdown(f"**Design:** {sampled.DESIGN_NAMES.get(design, design)}")
    if sampled.is_sampled(design):
        sidebar.markdown(f"**Swept** (smallest to largest value):\n{sampled_ranges(info, points)}")
    elif sweep := swept_values(info):
        lines = "\n".join(f"- `{name}`: {', '.join(map(str, values))}" for name, values in sweep.items())
        sidebar.markdown(f"**Swept:**\n{lines}")
    else:
        sidebar.markdown("**Swept:** nothing (one design point)")
    sidebar.markdown(
        f"**Runs:** {row['runs_complete']} of {row['runs_planned']} complete "
        f"({plural(info['design_points'], 'design point')} × {plural(info['replications'], 'seed')}, "
        f"{plural(info['rounds'], 'round')})"
    )
    if row["runs_complete"] < row["runs_planned"]:
        sidebar.warning(
            "Not all runs are complete: the study is still running or was interrupted (rerunning the same "
            "command finishes it). The charts use the complete runs; press **R** to refresh."
        )
    codes = versions["code"].to_list() or [code_label(info.get("code_commit"), None)]  # none run yet
    sidebar.caption(f"Study id `{info['study_id']}` · code {', '.join(f'`{code}`' for code in codes)}")
    if versions.height > 1:
        runs = ", ".join(f"{runs} from `{code}`" for code, runs in versions.iter_rows())
        sidebar.warning(
            f"The runs of this study come from {versions.height} versions of the code ({runs}): their "
            "numbers may come from different models. Rerun the study into a new database to have them "
            "from one."
        )


# --- Charts --------------------------------------------------------------------------------------------


def y_scale(bounded: bool) -> alt.Scale:
    """Shares keep the full [0, 1] axis so that studies and metrics compare at a glance."""
    return alt.Scale(domain=[0, 1]) if bounded else alt.Scale(zero=False)


def is_numeric(frame: pl.DataFrame, column: str) -> bool:
    return frame.schema[column].is_numeric()


def as_labels(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    """Non-numeric parameter values (booleans, strings, lists) as text, so they plot as categories.

    Python's own text ("True", "[0.1, 0.2]"), built from the few rows of an outcome table in Python; a
    per-row map_elements would give the same and warn of its cost."""
    return frame.with_columns(
        pl.Series(c, [None if v is None else str(v) for v in frame[c].to_list()], dtype=pl.String)
        for c in columns
        if not is_numeric(frame, c)
    )


def palette(values: int, numeric: bool) -> tuple[str, alt.Scale]:
    """Encoding type and colour scale: an ordered palette reads as the value when a numeric parameter
    takes many values; a few values, or categories, are easier told apart in distinct hues."""
    if numeric and values >= 4:
        return "O", ORDERED_COLOURS
    return "N", alt.Scale(scheme="tableau10" if values <= 10 else "tableau20")


def outcome_chart(outcome: pl.DataFrame, swept: list[str], metric: str, bounded: bool) -> alt.LayerChart:
    """Mean per design point with its 95% CI (shaded) and the 10-90% range across seeds (whiskers).

    x is the first swept parameter; any further ones colour the lines. A numeric x gets a line and a band;
    a categorical one gets points on bars, since a line between categories would suggest an order.
    """
    x_name, others = swept[0], swept[1:]
    frame = as_labels(outcome, swept)
    numeric_x = is_numeric(frame, x_name)
    x = alt.X(f"{x_name}:N", title=x_name, axis=alt.Axis(labelAngle=0))
    if numeric_x:  # ticks at every swept value, unrounded; padding keeps the end whiskers inside
        values = frame[x_name].unique().sort().to_list()
        axis = alt.Axis(values=values, format=".6~g", labelAngle=0)
        x = alt.X(f"{x_name}:Q", title=x_name, axis=axis, scale=alt.Scale(zero=False, padding=12))
    colour: dict[str, Any] = {}
    if others:
        if len(others) == 1:
            series = others[0]
        else:
            series = ", ".join(others)
            frame = frame.with_columns(
                pl.concat_str([pl.format(f"{c}={{}}", pl.col(c)) for c in others], separator=", ").alias(
                    series
                )
            )
        kind, scale = palette(frame[series].n_unique(), len(others) == 1 and is_numeric(frame, series))
        colour = {"color": alt.Color(f"{series}:{kind}", title=series, scale=scale)}
        if not numeric_x:
            colour["xOffset"] = alt.XOffset(f"{series}:N")
    y_title = f"{metric} (mean over seeds)"
    tooltip = [
        *[alt.Tooltip(c) for c in swept],
        alt.Tooltip("runs:Q", title="seeds"),
        alt.Tooltip("mean:Q", format=".4f"),
        alt.Tooltip("ci_low:Q", format=".4f", title="95% CI low"),
        alt.Tooltip("ci_high:Q", format=".4f", title="95% CI high"),
        alt.Tooltip("q10:Q", format=".4f", title="10% quantile"),
        alt.Tooltip("q90:Q", format=".4f", title="90% quantile"),
    ]
    base = alt.Chart(frame).encode(x=x, **colour)

    def y(field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=y_title, scale=y_scale(bounded))

    spread = base.mark_errorbar(ticks=alt.MarkConfig(size=10), thickness=1.5, opacity=0.7).encode(
        y=y("q10"), y2="q90:Q"
    )
    if numeric_x:
        interval = base.mark_area(opacity=0.25 if not others else 0.12).encode(y=y("ci_low"), y2="ci_high:Q")
        mean = base.mark_line(point=alt.OverlayMarkDef(size=60, filled=True)).encode(y=y("mean"))
    else:
        interval = base.mark_bar(size=14, opacity=0.3).encode(y=y("ci_low"), y2="ci_high:Q")
        mean = base.mark_point(size=70, filled=True, opacity=1).encode(y=y("mean"))
    hover = base.mark_point(size=200, opacity=0).encode(y=y("mean"), tooltip=tooltip)
    return alt.layer(spread, interval, mean, hover).properties(height=CHART_HEIGHT)


def window_options(rounds: int) -> list[int]:
    """Averaging windows on a 1-2-5 scale, up to half the run (so a line keeps at least two points)."""
    longest = max(rounds // 2, 1)
    return [v * 10**k for k in range(len(str(longest))) for v in (1, 2, 5) if v * 10**k <= longest]


def default_window(rounds: int) -> int:
    """The smallest window that keeps each line under MAX_POINTS_PER_LINE points: readable, still detailed."""
    options = window_options(rounds)
    return next((w for w in options if rounds / w <= MAX_POINTS_PER_LINE), options[-1])


def averaged(course: pl.DataFrame, window: int) -> pl.DataFrame:
    """Mean, q10 and q90 averaged within consecutive windows of `window` rounds, per design point."""
    if window <= 1:
        return course
    return (
        course.with_columns(window_start=(pl.col("step") // window) * window)
        .group_by("design_point", "design", "window_start", maintain_order=True)
        .agg(pl.col("step").mean(), pl.col("mean", "q10", "q90").mean(), pl.col("runs").min())
        .drop("window_start")
    )


def short_design_labels(course: pl.DataFrame, swept: list[str]) -> pl.DataFrame:
    """'a=0.5, b=1' becomes '0.5, 1', so legend labels stay short; the legend's title names a and b."""
    label = pl.col("design")
    for position, name in enumerate(swept):
        if position == 0:
            label = label.str.replace(f"^{re.escape(name)}=", "")
        else:
            label = label.str.replace(f", {name}=", ", ", literal=True)
    return course.with_columns(label)


def time_course_chart(
    course: pl.DataFrame, swept: list[str], metric: str, bounded: bool, band: bool, numeric: bool
) -> alt.LayerChart:
    """One line per design point over rounds; clicking a legend entry highlights that design point.

    `numeric`: one numeric parameter is swept, so the palette may follow its values.
    """
    course = short_design_labels(course, swept)
    order = course.unique("design_point").sort("design_point")["design"].to_list()
    pick = alt.selection_point(fields=["design"], bind="legend")
    legend = alt.Legend(
        title=", ".join(swept) or "design point",
        labelLimit=320,
        titleLimit=320,
        symbolType="stroke",  # solid line symbols, even when the faint band shares the legend
        symbolOpacity=1,
        symbolStrokeWidth=3,
    )
    kind, scale = palette(len(order), numeric)
    colour = alt.Color(f"design:{kind}", sort=order, legend=legend, scale=scale)
    base = alt.Chart(course).encode(x=alt.X("step:Q", title="round"), color=colour)
    title = f"{metric} (mean over seeds)"
    line = base.mark_line(strokeWidth=1.8).encode(
        y=alt.Y("mean:Q", title=title, scale=y_scale(bounded)),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
        tooltip=[
            alt.Tooltip("design:N", title=", ".join(swept) or "design point"),
            alt.Tooltip("step:Q", title="round", format=".0f"),
            alt.Tooltip("mean:Q", format=".4f"),
            alt.Tooltip("q10:Q", format=".4f", title="10% quantile"),
            alt.Tooltip("q90:Q", format=".4f", title="90% quantile"),
            alt.Tooltip("runs:Q", title="seeds"),
        ],
    )
    layers = [line.add_params(pick)]
    if band:
        spread = base.mark_area(opacity=0.12).encode(
            y=alt.Y("q10:Q", title=title, scale=y_scale(bounded)), y2="q90:Q"
        )
        layers.insert(0, spread.transform_filter(pick))
    return alt.layer(*layers).properties(height=CHART_HEIGHT)


# --- Main view -----------------------------------------------------------------------------------------


def show_outcome(outcome: pl.DataFrame, swept: list[str], metric: str, bounded: bool) -> None:
    """The metric's end-of-run value across the sweep, with its uncertainty across seeds."""
    st.subheader("Outcome across the sweep" if swept else "Outcome")
    if outcome.is_empty():
        st.info(
            f"No complete run has a value of `{metric}` in its last tenth of rounds: the metric is undefined "
            "there, or no round there was recorded (`record_every` longer than a tenth of the run)."
        )
        return
    if not swept:
        row = outcome.row(0, named=True)
        st.metric(f"{metric}, mean over {plural(row['runs'], 'seed')}", f"{row['mean']:.4g}")
        interval = (
            f"95% CI {row['ci_low']:.4g} to {row['ci_high']:.4g}"
            if row["ci_low"] is not None
            else "no confidence interval from a single seed"
        )
        st.caption(
            f"{interval}; 10–90% range across seeds "
            f"{row['q10']:.4g} to {row['q90']:.4g}. Nothing was swept, so the study has one design point. "
            f"A run's outcome is `{metric}` averaged over its last tenth of rounds."
        )
        return
    st.altair_chart(outcome_chart(outcome, swept, metric, bounded), width="stretch")
    fewest, most = outcome["runs"].min(), outcome["runs"].max()
    seeds = plural(most, "seed") if fewest == most else f"{fewest}–{most} seeds"
    explanation = (
        f"A run's outcome is `{metric}` averaged over its last tenth of rounds. Per design point: the mean "
        f"over {seeds} (points), its 95% confidence interval (t-interval, shaded) and the 10–90% "
        "quantile range of the run outcomes across seeds (whiskers)."
    )
    if len(swept) > 1:
        explanation += f" Colour: {', '.join(swept[1:])}."
    if fewest < 2:
        explanation += " A design point with a single seed has no confidence interval, so none is drawn."
    st.caption(explanation)


def pick_window(rounds: int, where: Any) -> int:
    """The averaging window, from a slider when the run is long enough to offer a choice."""
    options = window_options(rounds)
    if len(options) == 1:
        return options[0]
    return where.select_slider(
        "Average over windows of this many rounds",
        options=options,
        value=default_window(rounds),
        key="window",
        help="Per-round values are noisy; averaging consecutive rounds shows the trend. 1 = every round.",
    )


def show_time_course(
    course: pl.DataFrame, swept: list[str], metric: str, bounded: bool, rounds: int, numeric: bool
) -> None:
    """How the metric evolves while the researchers learn, one line per design point."""
    st.subheader("Over time")
    if course.is_empty():
        st.info(f"No complete run has recorded `{metric}` yet.")
        return
    left, right = st.columns([3, 2], vertical_alignment="center")
    window = pick_window(rounds, left)
    band = right.toggle("Show the 10–90% range across seeds", value=False, key="band")
    st.altair_chart(
        time_course_chart(averaged(course, window), swept, metric, bounded, band, numeric), width="stretch"
    )
    st.caption(
        f"Mean of `{metric}` across seeds at each round"
        + (f", averaged over windows of {window} rounds" if window > 1 else "")
        + (". Band: 10–90% range across seeds (averaged within windows)." if band else ".")
        + " Click a legend entry to highlight one design point (shift-click for several)."
    )


def show_marginal_effects(outcome: pl.DataFrame, swept: list[str], metric: str, bounded: bool) -> None:
    """A sampled design: per swept parameter, the design points' outcomes against its value, with a trend."""
    st.subheader("Outcome against each swept parameter")
    if outcome.is_empty():
        st.info(
            f"No complete run has a value of `{metric}` in its last tenth of rounds: the metric is undefined "
            "there, or no round there was recorded (`record_every` longer than a tenth of the run)."
        )
        return
    chart = sampled.marginal_chart(outcome, swept, metric, y_scale(bounded))
    st.altair_chart(chart, width="content")
    st.caption(
        f"Each point is one design point: the mean of its run outcomes over its "
        f"{sampled.seeds_phrase(outcome)} (a run's outcome is `{metric}` averaged over its last tenth of "
        f"rounds); {outcome.height} design points, each at its own values of all swept parameters. The line "
        "is a LOESS smooth of the points: the parameter's marginal effect, averaged over the values of the "
        "others. A flat line means little effect; points scattered far from it mean that the other "
        "parameters (or seed noise) matter more."
    )


def show_sampled_time_course(
    course: pl.DataFrame,
    points: pl.DataFrame,
    bounds: dict[str, tuple[float, float]],
    metric: str,
    bounded: bool,
    rounds: int,
) -> None:
    """A sampled design over time: the mean across design points with their 10–90% band, optionally one
    line per range of a chosen parameter (hundreds of design-point lines would not read).

    `points`: the design points' swept values; `bounds`: each parameter's range as sampled.
    """
    swept = [name for name in points.columns if name != "design_point"]
    st.subheader("Over time")
    if course.is_empty():
        st.info(f"No complete run has recorded `{metric}` yet.")
        return
    left, middle, right = st.columns([3, 2, 2], vertical_alignment="center")
    window = pick_window(rounds, left)
    choices = ["", *swept]
    colour_by = middle.selectbox(
        "Split by",
        choices,
        format_func=lambda name: name or "nothing (all design points)",
        key="split",
        help=f"One line per range of a swept parameter ({sampled.BINS} equal-width ranges of its values).",
    )
    band = right.toggle("Show the 10–90% range across design points", value=True, key="spread")
    groups = sampled.binned(points, colour_by, bounds.get(colour_by)) if colour_by else None
    frame = sampled.across_points(course, window, groups)
    split = colour_by or None
    chart = sampled.spread_course_chart(frame, metric, y_scale(bounded), band, split, CHART_HEIGHT)
    st.altair_chart(chart, width="stretch")
    caption = (
        f"Mean over design points of `{metric}` (each design point's mean across its seeds) at each round"
        + (f", averaged over windows of {window} rounds" if window > 1 else "")
        + (". Band: the 10–90% range across design points." if band else ".")
    )
    if colour_by:
        caption += f" One line per range of `{colour_by}`."
    st.caption(caption)


def show_sensitivity(indices: pl.DataFrame, design: str, metric: str, design_points: int) -> None:
    """Sobol or Morris indices of the metric: bars with 95% intervals, parameters by total effect."""
    if design not in sampled.STATISTICS:
        st.caption(
            f"No sensitivity indices: this is a {sampled.SHORT_NAMES.get(design, design)} design. Sobol and "
            "Morris designs give sensitivity indices (how much of the outcome each parameter drives)."
        )
        return
    st.subheader("Sensitivity")
    method = sampled.method_of(indices)
    if method not in sampled.STATISTICS:
        st.info(
            f"No sensitivity indices for `{metric}`: it is undefined at some design point or constant across "
            "the design (or the analysis has not run yet: it runs when the study completes)."
        )
        return
    st.altair_chart(sampled.sensitivity_chart(indices, metric, method), width="content")
    st.caption(sampled.sensitivity_caption(method, metric, design_points))


def reproduce_sql(study_id: str, metric: str, swept: list[str]) -> str:
    """A query anyone can run against the database to get the outcome table (up to the t-interval)."""
    quoted = "".join(f"r.{store.quote_identifier(name)}, " for name in swept)
    study, name = study_id.replace("'", "''"), metric.replace("'", "''")
    return (
        f"-- one row per design point; ci = mean ± t(0.975, runs - 1) · sd / sqrt(runs)\n"
        f"SELECT r.design_point, {quoted}count(*) AS runs,\n"
        f"       avg(f.value) AS mean, stddev_samp(f.value) AS sd,\n"
        f"       quantile_cont(f.value, 0.1) AS q10, quantile_cont(f.value, 0.9) AS q90\n"
        f"FROM final_metrics f JOIN runs r USING (run_id)\n"
        f"WHERE r.study_id = '{study}' AND f.metric = '{name}'\n"
        f"GROUP BY ALL ORDER BY r.design_point;"
    )


def show_outcome_table(
    outcome: pl.DataFrame,
    study_id: str,
    metric: str,
    swept: list[str],
    db: Path,
    indices: pl.DataFrame | None = None,
) -> None:
    """The numbers behind the charts and the SQL that gives them; the sensitivity indices too if any."""
    title = "Outcome table" + (", sensitivity indices" if indices is not None else "")
    with st.expander(f"{title} and the SQL to reproduce them"):
        st.dataframe(outcome, hide_index=True, width="stretch")
        st.code(reproduce_sql(study_id, metric, swept), language="sql")
        if indices is not None:
            st.markdown(f"**Sensitivity indices of `{metric}`**")
            st.dataframe(indices, hide_index=True, width="stretch")
            st.code(sampled.sensitivity_sql(study_id, metric), language="sql")
        st.caption(
            f'Run it with `python -m studies query "…" --db {db}` or any DuckDB client (read-only; a '
            "client that keeps the file open pauses a running study until it closes)."
        )


def show(db: Path, token: Token, studies: pl.DataFrame) -> None:
    """The studies page for a database that holds studies: pick a study and a metric, then show them."""
    row = pick_study(studies)
    study_id = row["study_id"]
    try:
        info = load_study_info(str(db), token, study_id)
    except KeyError:  # the file was replaced between two queries
        st.warning(f"Study `{study_id}` is no longer in `{db}`; press **R** to reload.")
        return
    names = load_metric_names(str(db), token, study_id)
    st.title(info["name"])
    swept = list(info["swept_parameters"] or [])
    design = info.get("design") or "grid"
    points = None  # the sampled designs' values, for their ranges and the time course's ranges
    if sampled.is_sampled(design):
        points = load_design_points(str(db), token, study_id, tuple(swept))
    versions = load_code_versions(str(db), token, study_id)
    if not names:
        show_study_facts(info, row, points, versions)
        st.info("No run of this study is complete yet: it is still running. Press **R** to refresh.")
        return
    specs = metric_specs(info["game"])
    spec = GAMES.get(info["game"])
    metric = pick_metric(names, specs, spec.headline if spec else "")
    show_study_facts(info, row, points, versions)
    bounded = metric in specs and specs[metric].bounded
    if metric in specs:
        st.markdown(f"**{metric}**: {specs[metric].doc}.")
    outcome = load_outcome(str(db), token, study_id, metric)
    course = load_time_course(str(db), token, study_id, metric)
    if points is None:
        show_outcome(outcome, swept, metric, bounded)
        numeric = len(swept) == 1 and outcome.schema.get(swept[0], pl.String).is_numeric()
        show_time_course(course, swept, metric, bounded, info["rounds"], numeric)
        show_outcome_table(outcome, study_id, metric, swept, db)
        return
    indices = load_sensitivity(str(db), token, study_id, metric)
    show_marginal_effects(outcome, swept, metric, bounded)
    show_sensitivity(indices, design, metric, info["design_points"])
    bounds = sampled.declared_ranges(json.loads(info["config"] or "{}"), swept)
    show_sampled_time_course(course, points, bounds, metric, bounded, info["rounds"])
    has_indices = design in sampled.STATISTICS and not indices.is_empty()
    show_outcome_table(outcome, study_id, metric, swept, db, indices if has_indices else None)
