"""Views of sampled designs (random, Latin hypercube, Sobol, Morris) and of sensitivity indices.

A sampled study has hundreds of design points, each a few seeds at continuous values of several parameters,
so the grid views (one line or one colour per design point) do not read. Instead: one scatter per swept
parameter with a smoothed trend (its marginal effect), the time course across design points as a mean with
a 10-90% band, and the Sobol or Morris indices as bars with their 95% intervals.

Pure functions of data frames that return charts or frames; the page (study_page.py) lays them out.
Small multiples cannot size to their container (Vega-Lite sizes only single views so), so every panel's
width comes from `panel_width`: the panels, their spacing and axes fit FIT_WIDTH, the main column beside
the sidebar in a window 1,400 px wide.
"""

from __future__ import annotations

import json
import math
from typing import Any

import altair as alt
import polars as pl

from studies import store

FIT_WIDTH = 860  # px: every fixed-width chart, panels, spacing and axes together, fits this
AXIS_WIDTH = 70  # px: a y axis's title and tick labels, once per row of panels
PANEL_LABELS = 36  # px: the tick labels beside each further panel of a row
SPACING = 20  # px: Vega-Lite's default gap between panels
PANEL_HEIGHT = 260
PANEL_COLUMNS = 3
PARAMETER_LABEL_LIMIT = 180  # px: the sensitivity chart's parameter names
BAR_ROW_HEIGHT = 34
POINT_COLOUR = "#8fb3d9"  # light blue: hundreds of points recede behind the trend
TREND_COLOUR = "#c2410c"  # dark orange: the line is what to read
SPREAD_COLOUR = "#1f77b4"
ALL_POINTS = "all design points"
BINS = 3
# Ordered palette for a parameter binned into ranges (viridis without its faint yellow end).
ORDERED_COLOURS = alt.Scale(scheme=alt.SchemeParams(name="viridis", extent=[0, 0.85]))

DESIGN_NAMES = {
    "grid": "grid (every combination of the listed values)",
    "random": "random (points drawn uniformly in each range)",
    "latin_hypercube": "Latin hypercube (one point in each slice of every range)",
    "sobol": "Sobol (Saltelli sampling, for Sobol indices)",
    "morris": "Morris (one-at-a-time trajectories, for elementary effects)",
}
SHORT_NAMES = {
    "grid": "grid",
    "random": "random",
    "latin_hypercube": "Latin hypercube",
    "sobol": "Sobol",
    "morris": "Morris",
}
# Per method: the statistics shown side by side, the one that orders the parameters, and what they mean.
STATISTICS = {"sobol": ("S1", "ST"), "morris": ("mu_star", "sigma")}
ORDER_BY = {"sobol": "ST", "morris": "mu_star"}
TITLES = {
    "S1": "S1: first order (alone)",
    "ST": "ST: total order (with interactions)",
    "mu_star": "mu_star: mean absolute effect",
    "sigma": "sigma: spread of the effect",
}


def panel_width(columns: int, reserved: int = AXIS_WIDTH, spacing: int = SPACING) -> int:
    """The width of each of `columns` panels in a row, so that the row with its axes fits FIT_WIDTH."""
    columns = max(columns, 1)
    return int((FIT_WIDTH - reserved - (columns - 1) * (spacing + PANEL_LABELS)) / columns)


def is_sampled(design: str | None) -> bool:
    return (design or "grid") != "grid"


def number(value: Any) -> str:
    """A parameter value, short: integers as they are, floats to 3 significant digits."""
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}"
    return str(int(value)) if isinstance(value, float) else str(value)


def ranges(points: pl.DataFrame, swept: list[str]) -> dict[str, tuple[Any, Any]]:
    """Each swept parameter's smallest and largest value over the design points."""
    return {
        name: (points[name].min(), points[name].max())
        for name in swept
        if name in points.columns and points[name].drop_nulls().len()
    }


def declared_ranges(config: dict[str, Any], swept: list[str]) -> dict[str, tuple[Any, Any]]:
    """The `{low, high}` ranges the study config asked to sample, by runs-table column."""
    out = {}
    for key, spec in config.get("sweep", {}).items():
        if isinstance(spec, dict) and "low" in spec and "high" in spec:
            out[store.column_name(key)] = (spec["low"], spec["high"])
    return {name: out[name] for name in swept if name in out}


# --- Outcome: one scatter per parameter ----------------------------------------------------------------


def marginal_chart(
    outcome: pl.DataFrame, swept: list[str], metric: str, y_scale: alt.Scale
) -> alt.ConcatChart:
    """Small multiples: per swept parameter, each design point's mean outcome against that parameter's value,
    with a LOESS trend. The y axis is shared, so the panels compare: a flat trend means little marginal
    effect, a steep one a strong effect (averaged over the other parameters' values)."""
    tooltip = [
        alt.Tooltip("design_point:Q", title="design point"),
        *[alt.Tooltip(f"{name}:Q", format=".4~g") for name in swept],
        alt.Tooltip("mean:Q", format=".4f", title=f"{metric} (mean)"),
        alt.Tooltip("runs:Q", title="seeds"),
    ]
    columns = min(len(swept), PANEL_COLUMNS)  # further panels wrap onto new rows
    width = panel_width(columns)
    panels = []
    for position, name in enumerate(swept):
        title = f"{metric} (design point mean)" if position % columns == 0 else None  # once a row
        y = alt.Y("mean:Q", title=title, scale=y_scale)
        x = alt.X(f"{name}:Q", title=name, scale=alt.Scale(zero=False, nice=False, padding=6))
        points = (
            alt.Chart()
            .mark_circle(size=28, opacity=0.45, color=POINT_COLOUR)
            .encode(x=x, y=y, tooltip=tooltip)
        )
        trend = (
            alt.Chart()
            .transform_filter(f"isValid(datum['{name}']) && isValid(datum.mean)")
            .transform_loess(name, "mean", bandwidth=0.4)
            .mark_line(color=TREND_COLOUR, strokeWidth=2.5)
            .encode(x=x, y=y)
        )
        panels.append(alt.layer(points, trend).properties(width=width, height=PANEL_HEIGHT))
    frame = outcome.select("design_point", *swept, "runs", "mean")
    return alt.concat(*panels, data=frame, columns=columns, spacing=SPACING).resolve_scale(y="shared")


# --- Time course across design points ------------------------------------------------------------------


def bin_labels(low: float, high: float, bins: int = BINS) -> list[str]:
    if high <= low:
        return [number(low)]
    edges = [low + (high - low) * i / bins for i in range(bins + 1)]
    return [f"{number(edges[i])} to {number(edges[i + 1])}" for i in range(bins)]


def binned(
    points: pl.DataFrame, name: str, bounds: tuple[float, float] | None = None, bins: int = BINS
) -> pl.DataFrame:
    """design_point -> group (bin index) and label (the bin's range) of parameter `name`, in equal-width
    bins over `bounds` (the range sampled; by default its values' range): a few ranges read as
    low/middle/high, hundreds of values would not."""
    low, high = bounds if bounds else (points[name].min(), points[name].max())
    labels = bin_labels(float(low), float(high), bins)
    if len(labels) == 1:
        index = pl.lit(0, dtype=pl.Int64)
    else:
        scaled = ((pl.col(name).cast(pl.Float64) - low) / (high - low) * bins).floor().cast(pl.Int64)
        index = scaled.clip(0, bins - 1)
    return points.select(
        "design_point",
        index.alias("group"),
    ).with_columns(pl.col("group").map_elements(lambda g: labels[g], return_dtype=pl.String).alias("label"))


def across_points(course: pl.DataFrame, window: int = 1, groups: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per group of design points (all of them by default) and window of rounds: the mean of the design
    points' means, the 10% and 90% quantiles across design points, and how many design points there are.

    Each design point's mean is first averaged within windows of `window` rounds. Windows are aligned
    across design points (a metric undefined at some rounds must not shift one point's window off the
    others'); a window is drawn at the mean of the rounds recorded in it.
    """
    course = course.with_columns(window_start=(pl.col("step") // max(window, 1)) * max(window, 1))
    centres = course.group_by("window_start").agg(pl.col("step").unique().mean().alias("step"))
    per_point = course.group_by("design_point", "window_start").agg(pl.col("mean").mean())
    if groups is None:
        per_point = per_point.with_columns(group=pl.lit(0, dtype=pl.Int64), label=pl.lit(ALL_POINTS))
    else:
        per_point = per_point.join(groups, on="design_point", how="inner")
    return (
        per_point.group_by("group", "label", "window_start")
        .agg(
            pl.col("mean").mean().alias("mean"),
            pl.col("mean").quantile(0.1, interpolation="linear").alias("q10"),
            pl.col("mean").quantile(0.9, interpolation="linear").alias("q90"),
            pl.col("design_point").n_unique().alias("points"),
        )
        .join(centres, on="window_start")
        .sort("group", "window_start")
        .select("group", "label", "step", "mean", "q10", "q90", "points")
    )


def spread_course_chart(
    course: pl.DataFrame, metric: str, y_scale: alt.Scale, band: bool, colour_by: str | None, height: int
) -> alt.LayerChart:
    """The mean across design points over rounds, with their 10-90% band; one line per range of
    `colour_by` when one is chosen."""
    order = course.unique("group").sort("group")["label"].to_list()
    if colour_by:
        legend = alt.Legend(
            title=f"{colour_by} range",
            titleLimit=320,
            symbolType="stroke",  # solid line symbols, even when the faint band shares the legend
            symbolOpacity=1,
            symbolStrokeWidth=3,
        )
        colour = alt.Color("label:O", sort=order, scale=ORDERED_COLOURS, legend=legend)
        encoding: dict[str, Any] = {"color": colour}
    else:
        encoding = {"color": alt.value(SPREAD_COLOUR)}
    base = alt.Chart(course).encode(x=alt.X("step:Q", title="round"), **encoding)
    title = f"{metric} (mean across design points)"
    line = base.mark_line(strokeWidth=2.2).encode(
        y=alt.Y("mean:Q", title=title, scale=y_scale),
        tooltip=[
            alt.Tooltip("label:N", title=f"{colour_by} range" if colour_by else "design points"),
            alt.Tooltip("step:Q", title="round", format=".0f"),
            alt.Tooltip("mean:Q", format=".4f"),
            alt.Tooltip("q10:Q", format=".4f", title="10% quantile across design points"),
            alt.Tooltip("q90:Q", format=".4f", title="90% quantile across design points"),
            alt.Tooltip("points:Q", title="design points"),
        ],
    )
    layers: list[alt.Chart] = [line]
    if band:
        spread = base.mark_area(opacity=0.18 if not colour_by else 0.12).encode(
            y=alt.Y("q10:Q", title=title, scale=y_scale), y2="q90:Q"
        )
        layers.insert(0, spread)
    return alt.layer(*layers).properties(height=height)


# --- Sensitivity indices -------------------------------------------------------------------------------


def method_of(indices: pl.DataFrame) -> str | None:
    methods = indices["method"].unique().to_list() if not indices.is_empty() else []
    return methods[0] if len(methods) == 1 else None


def parameter_order(indices: pl.DataFrame, method: str) -> list[str]:
    """Parameters by decreasing total effect (ST for Sobol, mu_star for Morris)."""
    ranked = indices.filter(pl.col("statistic") == ORDER_BY[method]).sort(
        "value", "parameter", descending=[True, False], nulls_last=True
    )
    others = sorted(set(indices["parameter"]) - set(ranked["parameter"]))
    return [*ranked["parameter"].to_list(), *others]


def share_scale(frame: pl.DataFrame) -> alt.Scale:
    """Sobol indices are shares: always show 0 to 1, widened to tenths to hold every estimate and
    interval (noise can push an estimate below 0 or an interval above 1)."""
    values = [v for c in ("value", "ci_low", "ci_high") for v in frame[c].drop_nulls().to_list()]
    low = min([0.0, *[math.floor(v * 10) / 10 for v in values]])
    high = max([1.0, *[math.ceil(v * 10) / 10 for v in values]])
    return alt.Scale(domain=[low, high], nice=False)


def share_axis(scale: alt.Scale, title: str) -> alt.Axis:
    """Ticks at multiples of 0.2 (the domain may start at -0.1, where default ticks would too)."""
    low, high = scale.domain
    ticks = [k / 5 for k in range(math.ceil(low * 5), math.floor(high * 5) + 1)]
    return alt.Axis(values=ticks, format=".1f", title=title)


def sensitivity_chart(
    indices: pl.DataFrame, metric: str, method: str, labels: dict[str, str] | None = None
) -> alt.FacetChart:
    """Horizontal bars per statistic side by side (S1 and ST; mu_star and sigma), with 95% intervals
    as whiskers and a rule at zero; parameters sorted by total effect.

    `labels`: parameter -> the name shown on the axis (the data keep the stored names); an index does not
    change when a parameter is shown as 1 − itself."""
    frame = indices.select("parameter", "statistic", "value", "ci_low", "ci_high")
    statistics = [s for s in STATISTICS[method] if s in set(frame["statistic"])]
    frame = frame.filter(pl.col("statistic").is_in(statistics)).with_columns(
        pl.col("statistic").replace_strict(TITLES, default=pl.col("statistic")).alias("panel")
    )
    order = parameter_order(indices, method)
    axis = alt.Axis(labelLimit=PARAMETER_LABEL_LIMIT)
    if labels:
        mapping = "".join(f"datum.value === {json.dumps(k)} ? {json.dumps(v)} : " for k, v in labels.items())
        axis = alt.Axis(labelLimit=PARAMETER_LABEL_LIMIT, labelExpr=f"{mapping}datum.label")
    y = alt.Y("parameter:N", sort=order, title=None, axis=axis)
    if method == "sobol":
        x_scale = share_scale(frame)
        x_axis = share_axis(x_scale, "share of the outcome's variance")
    else:
        x_scale, x_axis = alt.Scale(zero=True), alt.Axis(title=f"change in {metric} over the range")
    tooltip = [
        alt.Tooltip("parameter:N"),
        alt.Tooltip("statistic:N"),
        alt.Tooltip("value:Q", format=".4f"),
        alt.Tooltip("ci_low:Q", format=".4f", title="95% CI low"),
        alt.Tooltip("ci_high:Q", format=".4f", title="95% CI high"),
    ]
    bars = (
        alt.Chart()
        .mark_bar(height={"band": 0.6}, opacity=0.85)
        .encode(
            x=alt.X("value:Q", scale=x_scale, axis=x_axis),
            y=y,
            color=alt.Color("panel:N", legend=None, scale=alt.Scale(scheme="tableau10")),
            tooltip=tooltip,
        )
    )
    whiskers = (
        alt.Chart()
        .transform_filter("isValid(datum.ci_low) && isValid(datum.ci_high)")
        .mark_errorbar(ticks=alt.MarkConfig(size=10), thickness=1.5, color="#333333")
        .encode(x=alt.X("ci_low:Q", scale=x_scale, axis=x_axis), x2="ci_high:Q", y=y, tooltip=tooltip)
    )
    zero = alt.Chart().mark_rule(color="#666666", strokeDash=[3, 3]).encode(x=alt.datum(0))
    height = max(BAR_ROW_HEIGHT * frame["parameter"].n_unique(), 80)
    width = panel_width(len(statistics), reserved=PARAMETER_LABEL_LIMIT + 10, spacing=36)
    return (
        alt.layer(bars, whiskers, zero, data=frame)
        .properties(width=width, height=height)
        .facet(
            column=alt.Column("panel:N", title=None, sort=[TITLES[s] for s in statistics]),
            spacing=36,
        )
        .resolve_scale(x="shared")
    )


def sensitivity_caption(method: str, metric: str, design_points: int) -> str:
    """What the indices mean, in plain words, and how to read their intervals."""
    if method == "sobol":
        meaning = (
            "**S1** is the share of the variance of the outcome across the design that a parameter explains "
            "on its own; **ST** adds its interactions with the other parameters (ST well above S1: the "
            "parameter matters through interactions). Parameters are sorted by ST."
        )
    else:
        meaning = (
            f"**mu_star** is the mean absolute change in `{metric}` when a parameter moves alone, per move "
            "across its whole range: its overall influence; **sigma** is how much that change varies across "
            "the design (large: a non-linear effect or interactions). Parameters are sorted by mu_star; "
            "sigma has no interval."
        )
    return (
        f"{meaning} Whiskers: 95% bootstrap intervals; an interval that crosses zero means the data cannot "
        f"tell the effect from zero. Computed from the {design_points} design points' outcomes, each "
        "averaged over its seeds."
    )


def sensitivity_sql(study_id: str, metric: str) -> str:
    study, name = study_id.replace("'", "''"), metric.replace("'", "''")
    return (
        "SELECT method, metric, parameter, statistic, value, ci_low, ci_high\n"
        f"FROM sensitivity WHERE study_id = '{study}' AND metric = '{name}'\n"
        "ORDER BY metric, statistic, value DESC;"
    )


def seeds_phrase(outcome: pl.DataFrame) -> str:
    fewest, most = outcome["runs"].min(), outcome["runs"].max()
    if fewest == most:
        return f"{most} seed{'' if most == 1 else 's'}"
    return f"{fewest}–{most} seeds"
