"""The Study page: one study of the results database, one metric at a time.

A grid study shows its outcome across the sweep, a heat map when two or more parameters are swept, and its
design points over time: one line each while they are few (MAX_LINES), else small multiples (panels by one
parameter, colour by the others) or a chosen subset. A sampled study (random, Latin hypercube, Sobol,
Morris: hundreds of design points) shows one scatter per swept parameter, the time course as a band across
design points and, for Sobol and Morris, the sensitivity indices; those views live in `sampled.py` next
to this file. Games, their metrics and what they mean come from the game registry (`models.games.GAMES`),
so a new game shows without a change here; parameters that the field names otherwise are shown in its
words through DISPLAYS. Intervals of shares (Metric.bounded) are clipped to [0, 1], in charts and tables.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
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
    pick_study_info,
    plural,
)

from models.games import GAMES
from models.metrics import Metric
from studies import store, summaries
from studies.version import code_label

CHART_HEIGHT = 380
PANEL_HEIGHT = 220  # one of the time course's small multiples
MAX_LINES = 8  # lines one chart or panel may hold and still be told apart
SPREAD_POINTS = 5  # design points shown by default when they are chosen from many
HEAT_COLUMNS = 3  # heat-map panels in a row
HEAT_CELL = 64  # px: the widest a heat map's cell gets (narrower when many values must fit)
HEAT_ROW = 30  # px: a heat map's cell height
MAX_POINTS_PER_LINE = 80  # by default the time course averages windows of rounds to stay under this
# Many values of one numeric parameter get an ordered palette (viridis without its faint yellow end).
ORDERED_COLOURS = alt.Scale(scheme=alt.SchemeParams(name="viridis", extent=[0, 0.85]))


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


# --- Parameters in the field's words -------------------------------------------------------------------


@dataclass(frozen=True)
class Display:
    """How the page shows a swept parameter whose config name is not the one the field reads.

    `transform` takes a float, a polars Series or a polars expression alike (`1 - value`); `meaning` says
    what the shown value is, in one line."""

    label: str
    transform: Callable[[Any], Any]
    meaning: str


# Runs-table column -> how it is shown (axis titles, legends, panels, heat maps). Extend it here.
DISPLAYS: dict[str, Display] = {
    "publish_null_prob": Display(
        "publication bias",
        lambda value: 1 - value,
        "publication bias = 1 − publish_null_prob: the share of null results that journals turn away",
    ),
}
FLOAT_DIGITS = 12  # converted values are rounded here, so that 1 − 0.9 shows as 0.1


def displayed(frame: pl.DataFrame, names: list[str]) -> tuple[pl.DataFrame, list[str]]:
    """The frame with each DISPLAYS parameter added under its label (values converted), and the columns to
    plot in place of `names`. The stored columns stay, for tooltips and tables."""
    shown = [name for name in names if name in DISPLAYS and name in frame.columns and is_numeric(frame, name)]
    frame = frame.with_columns(
        DISPLAYS[name]
        .transform(pl.col(name).cast(pl.Float64))
        .round(FLOAT_DIGITS)
        .alias(DISPLAYS[name].label)
        for name in shown
    )
    return frame, [DISPLAYS[name].label if name in shown else name for name in names]


def display_value(name: str, value: Any) -> Any:
    """One value as shown: converted when the parameter is in DISPLAYS and the value is a number."""
    if name in DISPLAYS and isinstance(value, int | float) and not isinstance(value, bool):
        return round(DISPLAYS[name].transform(value), FLOAT_DIGITS)
    return value


def display_note(name: str) -> str:
    return f" (shown as {DISPLAYS[name].label}: {DISPLAYS[name].meaning})" if name in DISPLAYS else ""


def clipped(outcome: pl.DataFrame, bounded: bool) -> pl.DataFrame:
    """A share's t-interval can pass 0 or 1 (few seeds, or values near a bound); the share cannot, so its
    interval is clipped to [0, 1] wherever it is shown (the captions say so)."""
    if not bounded or outcome.is_empty():
        return outcome
    return outcome.with_columns(pl.col("ci_low", "ci_high").clip(0.0, 1.0))


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
        lines.append(line + display_note(name))
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
        lines = "\n".join(
            f"- `{name}`: {', '.join(map(str, values))}{display_note(name)}" for name, values in sweep.items()
        )
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


def design_labels(points: pl.DataFrame, fields: list[str]) -> pl.Series:
    """Each design point's values of `fields`, joined by ', ': whole, short legend labels whose legend title
    names the fields (a key that reads, where 'name=value, name=value' was cut short)."""
    if not fields:
        return pl.Series("design", ["all runs"] * points.height, dtype=pl.String)
    parts = [pl.col(f).cast(pl.String).fill_null("None") for f in fields]
    return points.select(pl.concat_str(parts, separator=", ").alias("design"))["design"]


def whole_legend(title: str, **options: Any) -> alt.Legend:
    """A legend whose labels and title are never cut short (labelLimit 0: no limit)."""
    return alt.Legend(title=title, labelLimit=0, titleLimit=0, **options)


def line_legend(title: str, **options: Any) -> alt.Legend:
    """A whole legend with solid line symbols, even when a faint band shares it."""
    return whole_legend(title, symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3, **options)


def outcome_chart(
    outcome: pl.DataFrame, swept: list[str], metric: str, bounded: bool, doc: str = ""
) -> alt.LayerChart:
    """Mean per design point with its 95% CI (shaded) and the 10-90% range across seeds (whiskers).

    x is the first swept parameter; any further ones colour the lines. A numeric x gets a line and a band;
    a categorical one gets points on bars, since a line between categories would suggest an order.
    Parameters in DISPLAYS are shown by their label and converted values; `doc` (the metric's meaning, from
    its spec) is the chart's subtitle.
    """
    frame, fields = displayed(as_labels(outcome, swept), swept)
    x_name, others = fields[0], fields[1:]
    numeric_x = is_numeric(frame, x_name)
    x = alt.X(f"{x_name}:N", title=x_name, axis=alt.Axis(labelAngle=0))
    if numeric_x:  # ticks at every swept value, unrounded; padding keeps the end whiskers inside
        values = frame[x_name].unique().sort().to_list()
        axis = alt.Axis(values=values, format=".6~g", labelAngle=0)
        x = alt.X(f"{x_name}:Q", title=x_name, axis=axis, scale=alt.Scale(zero=False, padding=12))
    colour: dict[str, Any] = {}
    if others:
        series = others[0] if len(others) == 1 else ", ".join(others)
        if len(others) > 1:
            frame = frame.with_columns(design_labels(frame, others).alias(series))
        kind, scale = palette(frame[series].n_unique(), len(others) == 1 and is_numeric(frame, series))
        colour = {"color": alt.Color(f"{series}:{kind}", scale=scale, legend=whole_legend(series))}
        if not numeric_x:
            colour["xOffset"] = alt.XOffset(f"{series}:N")
    y_title = f"{metric} (mean over seeds)"
    tooltip = [
        *[alt.Tooltip(c) for c in dict.fromkeys([*fields, *swept])],
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
    chart = alt.layer(spread, interval, mean, hover).properties(height=CHART_HEIGHT)
    return chart.properties(title=alt.Title(metric, subtitle=doc, anchor="start")) if doc else chart


def heat_step(columns: int, cells: int) -> int:
    """A heat-map cell's width, so that `columns` panels of `cells` cells fit the page (sampled.FIT_WIDTH)."""
    room = sampled.FIT_WIDTH - 2 * sampled.AXIS_WIDTH - (columns - 1) * sampled.SPACING
    return max(min(HEAT_CELL, room // max(columns * cells, 1)), 12)


def heat_map(outcome: pl.DataFrame, fields: list[str], metric: str, bounded: bool) -> alt.Chart:
    """The metric's mean over seeds for each pair of the first two `fields` (x and y), one cell per design
    point with its value written in; a third field, if any, gives one panel per value.

    `outcome` already carries the shown columns (displayed) and one design point per cell."""
    x_name, y_name, *rest = fields
    panels = rest[0] if rest else None

    def encoding(name: str, on_x: bool) -> dict[str, Any]:
        """Every value a cell: numbers in order, unrounded, larger ones up the y axis as on a plot;
        categories in the sweep's order."""
        numeric = is_numeric(outcome, name)
        axis = alt.Axis(format=".6~g", labelAngle=0) if numeric else alt.Axis(labelAngle=-30 if on_x else 0)
        order: str | list[Any] = "descending" if numeric and not on_x else "ascending"
        if not numeric:
            order = outcome.sort("design_point")[name].unique(maintain_order=True).to_list()
        return {"shorthand": f"{name}:O", "title": name, "axis": axis, "sort": order}

    colours = alt.Scale(scheme="viridis", domain=[0, 1]) if bounded else alt.Scale(scheme="viridis")
    low, high = (0.0, 1.0) if bounded else (outcome["mean"].min(), outcome["mean"].max())
    middle = (low + high) / 2  # viridis is dark below, light above: white text, then black
    base = alt.Chart().encode(x=alt.X(**encoding(x_name, True)), y=alt.Y(**encoding(y_name, False)))
    cells = base.mark_rect().encode(
        color=alt.Color("mean:Q", scale=colours, legend=whole_legend(f"{metric} (mean)", orient="bottom")),
        tooltip=[
            *[alt.Tooltip(c) for c in fields],
            alt.Tooltip("mean:Q", format=".4f"),
            alt.Tooltip("runs:Q", title="seeds"),
        ],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text("mean:Q", format=".2f" if bounded else ".3~g"),
        color=alt.condition(f"datum.mean > {middle!r}", alt.value("black"), alt.value("white")),
    )
    columns = min(outcome[panels].n_unique(), HEAT_COLUMNS) if panels else 1
    size = {"width": alt.Step(heat_step(columns, outcome[x_name].n_unique())), "height": alt.Step(HEAT_ROW)}
    data = outcome.select("design_point", *dict.fromkeys(fields), "runs", "mean")
    chart = alt.layer(cells, text, data=data).properties(**size)
    if panels is None:
        return chart
    facet = alt.Facet(f"{panels}:O", title=panels, header=alt.Header(labelLimit=0, titleLimit=0))
    return chart.facet(facet=facet, columns=columns, spacing=sampled.SPACING)


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


def spread_evenly(items: list[Any], count: int = SPREAD_POINTS) -> list[Any]:
    """`count` of `items` spread evenly from the first to the last (all of them when there are fewer)."""
    if len(items) <= count:
        return list(items)
    return [items[round(i * (len(items) - 1) / (count - 1))] for i in range(count)]


def small_multiples_layout(counts: dict[str, int], panels: str) -> tuple[list[str], list[str]] | None:
    """With one panel per value of `panels`: the parameters that colour a panel's lines and those held at one
    value. Colour by all the others together while at most MAX_LINES lines share a panel, else by the one
    with most values that fits, holding the rest; None when no parameter fits."""
    others = [name for name in counts if name != panels]
    if not others:
        return None
    if math.prod(counts[name] for name in others) <= MAX_LINES:
        return others, []
    fitting = [name for name in others if counts[name] <= MAX_LINES]
    if not fitting:
        return None
    colour = max(fitting, key=lambda name: counts[name])
    return [colour], [name for name in others if name != colour]


def time_course_chart(
    course: pl.DataFrame,
    title: str,
    metric: str,
    bounded: bool,
    band: bool,
    numeric: bool,
    panels: str | None = None,
) -> alt.LayerChart | alt.FacetChart:
    """One line per design point over rounds (its label in `design`, ordered as the rows come); clicking a
    legend entry highlights it. `panels`: a column of `course` to draw one panel per value (small
    multiples, sized to fit the page, the legend under them).

    `numeric`: the colour follows one numeric parameter, so the palette may follow its values.
    """
    order = list(dict.fromkeys(course["design"].to_list()))
    pick = alt.selection_point(fields=["design"], bind="legend")
    legend = line_legend(title or "design point", **({"orient": "bottom", "columns": 4} if panels else {}))
    kind, scale = palette(len(order), numeric)
    colour = alt.Color(f"design:{kind}", sort=order, legend=legend, scale=scale)
    base = (alt.Chart() if panels else alt.Chart(course)).encode(
        x=alt.X("step:Q", title="round"), color=colour
    )
    y_title = f"{metric} (mean over seeds)"
    line = base.mark_line(strokeWidth=1.8).encode(
        y=alt.Y("mean:Q", title=y_title, scale=y_scale(bounded)),
        opacity=alt.condition(pick, alt.value(1.0), alt.value(0.12)),
        tooltip=[
            *([alt.Tooltip(f"{panels}:N")] if panels else []),
            alt.Tooltip("design:N", title=title or "design point"),
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
            y=alt.Y("q10:Q", title=y_title, scale=y_scale(bounded)), y2="q90:Q"
        )
        layers.insert(0, spread.transform_filter(pick))
    if panels is None:
        return alt.layer(*layers).properties(height=CHART_HEIGHT)
    columns = min(course[panels].n_unique(), sampled.PANEL_COLUMNS)
    facet = alt.Facet(f"{panels}:O", title=panels, header=alt.Header(labelLimit=0, titleLimit=0))
    return (
        alt.layer(*layers, data=course)
        .properties(width=sampled.panel_width(columns), height=PANEL_HEIGHT)
        .facet(facet=facet, columns=columns, spacing=sampled.SPACING)
    )


# --- Main view -----------------------------------------------------------------------------------------

CLIPPED = "Intervals of a share are clipped to [0, 1], the range it can take."
NO_OUTCOME = (
    "No complete run has a value of `{metric}` in its last tenth of rounds: the metric is undefined there, "
    "or no round there was recorded (`record_every` longer than a tenth of the run)."
)


def display_caption(swept: list[str]) -> str:
    """What the shown parameters are, for the charts that show them in the field's words."""
    return "".join(f" {DISPLAYS[name].meaning}." for name in swept if name in DISPLAYS)


def show_outcome(outcome: pl.DataFrame, swept: list[str], metric: str, bounded: bool, doc: str = "") -> None:
    """The metric's end-of-run value across the sweep, with its uncertainty across seeds.

    `outcome`: already clipped where the metric is a share; `doc`: the metric's meaning, from its spec."""
    st.subheader("Outcome across the sweep" if swept else "Outcome")
    if outcome.is_empty():
        st.info(NO_OUTCOME.format(metric=metric))
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
            + (f" {CLIPPED}" if bounded else "")
        )
        return
    st.altair_chart(outcome_chart(outcome, swept, metric, bounded, doc), width="stretch")
    fewest, most = outcome["runs"].min(), outcome["runs"].max()
    seeds = plural(most, "seed") if fewest == most else f"{fewest}–{most} seeds"
    explanation = (
        f"A run's outcome is `{metric}` averaged over its last tenth of rounds. Per design point: the mean "
        f"over {seeds} (points), its 95% confidence interval (t-interval, shaded) and the 10–90% "
        "quantile range of the run outcomes across seeds (whiskers)."
    )
    if bounded:
        explanation += f" {CLIPPED}"
    if len(swept) > 1:
        explanation += f" Colour: {', '.join(displayed(outcome, swept)[1][1:])}."
    if fewest < 2:
        explanation += " A design point with a single seed has no confidence interval, so none is drawn."
    st.caption(explanation + display_caption(swept))


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


def hold_fixed(
    frame: pl.DataFrame, names: list[str], places: list[Any], key: str
) -> tuple[pl.DataFrame, str]:
    """Keeps the rows at one value of each of `names`, each chosen in the next of `places` (columns, in
    turn); and says which, for a caption."""
    held = []
    for position, name in enumerate(names):
        values = frame[name].unique().sort().to_list()
        where = places[position % len(places)]
        value = where.selectbox(f"{name} at", values, key=f"{key}_{name}", help="Shown at this value only.")
        frame = frame.filter(pl.col(name) == value)
        held.append(f"{name} = {value}")
    return frame, ", ".join(held)


def show_heat_map(outcome: pl.DataFrame, swept: list[str], metric: str, bounded: bool) -> None:
    """Two (or more) swept parameters: the metric's mean at each pair of values, written in each cell."""
    if len(swept) < 2 or outcome.is_empty():
        return
    frame, fields = displayed(as_labels(outcome, swept), swept)
    st.subheader(f"{metric} by {fields[0]} and {fields[1]}")
    held = ""
    if len(fields) > 3:  # a fourth parameter and beyond: at one value each, as chosen
        frame, held = hold_fixed(frame, fields[3:], st.columns(min(len(fields) - 3, 4)), "heat")
    st.altair_chart(heat_map(frame, fields[:3], metric, bounded), width="content")
    caption = (
        f"Each cell: the mean over seeds of `{metric}` at one design point (a run's outcome averaged over "
        "its last tenth of rounds), written in the cell."
    )
    if len(fields) > 2:
        caption += f" One panel per value of {fields[2]}."
    if held:
        caption += f" At {held}."
    st.caption(caption + display_caption(swept))


def show_time_course(
    course: pl.DataFrame, points: pl.DataFrame, swept: list[str], metric: str, bounded: bool, rounds: int
) -> None:
    """How the metric evolves while the learners learn: one line per design point while they are few, else
    small multiples (a panel per value of one parameter, at most MAX_LINES lines in each) or a chosen
    subset of design points, since dozens of lines in one chart cannot be told apart.

    `points`: the swept values of the design points with a complete run.
    """
    st.subheader("Over time")
    if course.is_empty():
        st.info(f"No complete run has recorded `{metric}` yet.")
        return
    left, right = st.columns([3, 2], vertical_alignment="center")
    window = pick_window(rounds, left)
    band = right.toggle("Show the 10–90% range across seeds", value=False, key="band")
    frame = averaged(course, window).drop("design")
    shown, fields = displayed(as_labels(points, swept), swept)
    counts = {name: shown[name].n_unique() for name in fields}
    panels, colour_by, held, subset = None, fields, "", ""
    if shown.height > MAX_LINES:
        layouts = {name: small_multiples_layout(counts, name) for name in fields}
        choices = [name for name in sorted(fields, key=lambda n: -counts[n]) if layouts[name]]
        if choices:
            controls = st.columns(2)
            panels = controls[0].selectbox(
                "Panels by",
                choices,
                key="panels",
                help=f"One panel per value; at most {MAX_LINES} lines in a panel, coloured by the others.",
            )
            colour_by, fixed = layouts[panels] or (fields, [])  # a choice always has a layout
            shown, held = hold_fixed(shown, fixed, [controls[1]], "hold")
        else:
            labels = dict(zip(shown["design_point"], design_labels(shown, fields), strict=True))
            chosen = st.multiselect(
                "Design points",
                list(labels),
                default=spread_evenly(list(labels)),
                format_func=lambda point: labels[point],
                max_selections=MAX_LINES,
                key="shown_points",
                help=f"Up to {MAX_LINES}; by default a few spread evenly across the sweep.",
            )
            shown = shown.filter(pl.col("design_point").is_in(chosen))
            subset = f"{len(chosen)} of {len(labels)} design points, as chosen above"
    shown = shown.sort([*(([panels] if panels else []) + colour_by), "design_point"])
    labelled = shown.select("design_point", *([panels] if panels else [])).with_columns(
        design_labels(shown, colour_by)
    )
    frame = labelled.join(frame, on="design_point", how="inner")  # the label order: the legend's
    numeric = len(colour_by) == 1 and is_numeric(shown, colour_by[0])
    chart = time_course_chart(frame, ", ".join(colour_by), metric, bounded, band, numeric, panels)
    st.altair_chart(chart, width="content" if panels else "stretch")
    caption = (
        f"Mean of `{metric}` across seeds at each round"
        + (f", averaged over windows of {window} rounds" if window > 1 else "")
        + (". Band: 10–90% range across seeds (averaged within windows)." if band else ".")
    )
    if panels:
        each = "value" if len(colour_by) == 1 else "combination of values"
        caption += f" One panel per value of {panels}, one line per {each} of {', '.join(colour_by)}."
    if held:
        caption += f" At {held}."
    if subset:
        caption += f" {subset}."
    caption += " Click a legend entry to highlight one design point (shift-click for several)."
    st.caption(caption + display_caption(swept))


def show_marginal_effects(outcome: pl.DataFrame, swept: list[str], metric: str, bounded: bool) -> None:
    """A sampled design: per swept parameter, the design points' outcomes against its value, with a trend."""
    st.subheader("Outcome against each swept parameter")
    if outcome.is_empty():
        st.info(NO_OUTCOME.format(metric=metric))
        return
    frame, fields = displayed(outcome, swept)
    chart = sampled.marginal_chart(frame, fields, metric, y_scale(bounded))
    st.altair_chart(chart, width="content")
    st.caption(
        f"Each point is one design point: the mean of its run outcomes over its "
        f"{sampled.seeds_phrase(outcome)} (a run's outcome is `{metric}` averaged over its last tenth of "
        f"rounds); {outcome.height} design points, each at its own values of all swept parameters. The line "
        "is a LOESS smooth of the points: the parameter's marginal effect, averaged over the values of the "
        "others. A flat line means little effect; points scattered far from it mean that the other "
        "parameters (or seed noise) matter more." + display_caption(swept)
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
    shown, fields = displayed(points, swept)
    label = dict(zip(swept, fields, strict=True))
    colour_by = middle.selectbox(
        "Split by",
        choices,
        format_func=lambda name: label.get(name) or "nothing (all design points)",
        key="split",
        help=f"One line per range of a swept parameter ({sampled.BINS} equal-width ranges of its values).",
    )
    band = right.toggle("Show the 10–90% range across design points", value=True, key="spread")
    groups = None
    if colour_by:  # ranges of the value shown (a DISPLAYS transform may reverse the range sampled)
        sampled_range = bounds.get(colour_by)
        if sampled_range is not None:
            ends = [display_value(colour_by, end) for end in sampled_range]
            sampled_range = (min(ends), max(ends))
        groups = sampled.binned(shown, label[colour_by], sampled_range)
    frame = sampled.across_points(course, window, groups)
    split = label.get(colour_by) or None
    chart = sampled.spread_course_chart(frame, metric, y_scale(bounded), band, split, CHART_HEIGHT)
    st.altair_chart(chart, width="stretch")
    caption = (
        f"Mean over design points of `{metric}` (each design point's mean across its seeds) at each round"
        + (f", averaged over windows of {window} rounds" if window > 1 else "")
        + (". Band: the 10–90% range across design points." if band else ".")
    )
    if colour_by:
        caption += f" One line per range of {label[colour_by]}."
    st.caption(caption + display_caption(swept))


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
    labels = {name: f"{shown.label} ({name})" for name, shown in DISPLAYS.items()}  # same index either way
    st.altair_chart(sampled.sensitivity_chart(indices, metric, method, labels), width="content")
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
    bounded: bool = False,
) -> None:
    """The numbers behind the charts and the SQL that gives them; the sensitivity indices too if any.

    `bounded`: the metric is a share, whose intervals in the table are clipped to [0, 1]."""
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
            + (
                f" {CLIPPED} The interval from the SQL (mean ± t · sd / sqrt(runs)) is the unclipped one."
                if bounded
                else ""
            )
        )


def show(db: Path, token: Token, studies: pl.DataFrame) -> None:
    """The studies page for a database that holds studies: pick a study and a metric, then show them."""
    picked = pick_study_info(db, token, studies)
    if picked is None:
        return
    row, info = picked
    study_id = row["study_id"]
    names = load_metric_names(str(db), token, study_id)
    st.title(info["name"])
    swept = list(info["swept_parameters"] or [])
    design = info.get("design") or "grid"
    points = load_design_points(str(db), token, study_id, tuple(swept))  # with a complete run
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
    doc = specs[metric].doc if metric in specs else ""
    if doc:
        st.markdown(f"**{metric}**: {doc}.")
    outcome = clipped(load_outcome(str(db), token, study_id, metric), bounded)
    course = load_time_course(str(db), token, study_id, metric)
    if not sampled.is_sampled(design):
        show_outcome(outcome, swept, metric, bounded, doc)
        show_heat_map(outcome, swept, metric, bounded)
        show_time_course(course, points, swept, metric, bounded, info["rounds"])
        show_outcome_table(outcome, study_id, metric, swept, db, bounded=bounded)
        return
    indices = load_sensitivity(str(db), token, study_id, metric)
    show_marginal_effects(outcome, swept, metric, bounded)
    show_sensitivity(indices, design, metric, info["design_points"])
    bounds = sampled.declared_ranges(json.loads(info["config"] or "{}"), swept)
    show_sampled_time_course(course, points, bounds, metric, bounded, info["rounds"])
    has_indices = design in sampled.STATISTICS and not indices.is_empty()
    show_outcome_table(outcome, study_id, metric, swept, db, indices if has_indices else None, bounded)
