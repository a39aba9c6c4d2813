"""The Compare page: two studies, or two design points of one study or of two, on the same axes.

Each side is a study and one of its design points, or all of them pooled. For a metric both sides record,
the page shows each side's final outcome (the mean over its runs of each run's outcome, the metric averaged
over its last tenth of rounds, as `summaries.outcome_by_design_point` defines it) with its 95% t-interval,
the difference B − A with Welch's 95% interval (the sides may have different seeds and spreads), and both
time courses on one chart. The per-run outcomes are read once and summarised here, so the numbers are
those of the Study page for a single design point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import altair as alt
import polars as pl
import streamlit as st
from shared import CACHE_TTL_S, Token, metric_order, metric_specs, pick_study, plural

from models.games import GAMES
from models.metrics import Metric
from studies import store, summaries

ALL = -1  # the design point option that pools every design point of the study
CHART_HEIGHT = 380
MAX_POINTS_PER_LINE = 200  # longer runs are averaged over windows of rounds to stay under this
COLOURS = ["#4c78a8", "#f58518"]  # side A, side B (tableau10's first two)


# --- Reading -------------------------------------------------------------------------------------------


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_design_points(db: str, token: Token, study_id: str) -> tuple[list[str], pl.DataFrame]:
    """The swept parameters and each design point's values (points with a complete run). The names are
    checked against the runs table by study_info before they become identifiers."""
    swept = list(summaries.study_info(Path(db), study_id)["swept_parameters"] or [])
    columns = "".join(f", {store.quote_identifier(name)}" for name in swept)
    points = store.query(
        Path(db),
        f"SELECT DISTINCT design_point{columns} FROM runs WHERE study_id = ? AND status = 'complete' "
        "ORDER BY design_point",
        [study_id],
    )
    return swept, points


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_side_metrics(db: str, token: Token, study_id: str, point: int) -> list[str]:
    """The metrics recorded by the side's runs (a design point's learners may record fewer)."""
    frame = store.query(
        Path(db),
        "SELECT DISTINCT m.metric FROM metrics m JOIN runs r USING (run_id) "
        "WHERE r.study_id = ? AND (? < 0 OR r.design_point = ?) ORDER BY 1",
        [study_id, point, point],
    )
    return frame["metric"].to_list()


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_run_outcomes(db: str, token: Token, study_id: str, point: int, metric: str) -> pl.DataFrame:
    """One row per run of the side: `run_id` and `value`, its outcome (final_metrics)."""
    return store.query(
        Path(db),
        "SELECT f.run_id, f.value FROM final_metrics f JOIN runs r USING (run_id) "
        "WHERE r.study_id = ? AND f.metric = ? AND (? < 0 OR r.design_point = ?) ORDER BY f.run_id",
        [study_id, metric, point, point],
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_course(db: str, token: Token, study_id: str, point: int, metric: str) -> pl.DataFrame:
    """Per recorded round of the side: `step`, and the `mean`, `sd` and number of `runs` across its runs."""
    return store.query(
        Path(db),
        "SELECT m.step, avg(m.value) AS mean, coalesce(stddev_samp(m.value), 0) AS sd, count(*) AS runs "
        "FROM metrics m JOIN runs r USING (run_id) "
        "WHERE r.study_id = ? AND m.metric = ? AND (? < 0 OR r.design_point = ?) GROUP BY m.step ORDER BY 1",
        [study_id, metric, point, point],
    )


# --- Statistics ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A mean with its 95% interval; no interval (None) from fewer than two runs."""

    runs: int
    mean: float
    sd: float
    low: float | None
    high: float | None


def clip(value: float | None, bounds: tuple[float, float] | None) -> float | None:
    if value is None or bounds is None:
        return value
    return min(max(value, bounds[0]), bounds[1])


def estimate(values: list[float], bounds: tuple[float, float] | None = None) -> Estimate:
    """Mean over runs with the t-interval mean ± t(0.975, n − 1)·sd/√n, as outcome_by_design_point gives it;
    `bounds` clip the interval (a share's stays in [0, 1])."""
    n = len(values)
    mean = sum(values) / n if n else math.nan
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    if n < 2:
        return Estimate(n, mean, sd, None, None)
    half = summaries.t_critical(n - 1) * sd / math.sqrt(n)
    return Estimate(n, mean, sd, clip(mean - half, bounds), clip(mean + half, bounds))


@dataclass(frozen=True)
class Difference:
    """B − A with Welch's 95% interval; no interval unless both sides have two runs or more."""

    value: float
    low: float | None
    high: float | None
    dof: float | None


def welch(a: Estimate, b: Estimate, bounds: tuple[float, float] | None = None) -> Difference:
    """The difference of means with Welch's interval: standard error √(s²_A/n_A + s²_B/n_B) and the
    Welch–Satterthwaite degrees of freedom, rounded down (a conservative t). Two sides may differ in seeds
    and spread, so the pooled-variance interval would not do."""
    value = b.mean - a.mean
    if a.runs < 2 or b.runs < 2:
        return Difference(value, None, None, None)
    va, vb = a.sd**2 / a.runs, b.sd**2 / b.runs
    se = math.sqrt(va + vb)
    if se == 0:  # both sides constant: the difference is known exactly
        return Difference(value, clip(value, bounds), clip(value, bounds), None)
    dof = (va + vb) ** 2 / (va**2 / (a.runs - 1) + vb**2 / (b.runs - 1))
    half = summaries.t_critical(math.floor(dof)) * se
    return Difference(value, clip(value - half, bounds), clip(value + half, bounds), dof)


def number(value: float | None) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.4g}"


def interval_text(low: float | None, high: float | None) -> str:
    return "no 95% interval from a single run" if low is None else f"95% CI {number(low)} to {number(high)}"


# --- Choosing the sides --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a study and a design point of it (ALL: every design point pooled)."""

    name: str  # "A" or "B"
    study: dict[str, Any]  # its row of the study list
    point: int
    point_label: str

    @property
    def label(self) -> str:
        return f"{self.name} · {self.study['name']} · {self.point_label}"


def value_text(value: Any) -> str:
    return str(round(value, 6)) if isinstance(value, float) else str(value)  # 1.0, as the Study page


def point_labels(swept: list[str], points: pl.DataFrame) -> dict[int, str]:
    """Each design point as its swept values ('publish_null_prob=0.5, ...'); ALL first."""
    labels = {ALL: "its one design point" if points.height == 1 else "all design points, pooled"}
    for row in points.iter_rows(named=True):
        values = ", ".join(f"{name}={value_text(row[name])}" for name in swept)
        labels.setdefault(row["design_point"], values or f"design point {row['design_point']}")
    return labels


def defaults(db: Path, token: Token, studies: pl.DataFrame) -> tuple[tuple[int, int], tuple[int, int]]:
    """(study index, point position) of A and B at first sight: the latest study's first and last design
    points, else the two latest studies pooled, else the one study against itself."""
    _, points = load_design_points(str(db), token, studies["study_id"][0])
    if points.height > 1:
        return (0, 1), (0, points.height)
    if studies.height > 1:
        return (1, 0), (0, 0)
    return (0, 0), (0, 0)


def pick_side(
    db: Path, token: Token, studies: pl.DataFrame, name: str, default: tuple[int, int], where: Any
) -> Side:
    """A study and one of its design points (or all), in the given column."""
    where.markdown(f"**Side {name}**")
    key = f"compare_{name.lower()}"
    study = pick_study(studies, key=f"{key}_study", label="Study", where=where, index=default[0])
    swept, points = load_design_points(str(db), token, study["study_id"])
    labels = point_labels(swept, points)
    options = list(labels) if points.height > 1 else [ALL]
    is_default = study["study_id"] == studies["study_id"][default[0]]
    point = where.selectbox(
        "Design point",
        options,
        index=min(default[1], len(options) - 1) if is_default else 0,
        format_func=labels.__getitem__,
        key=f"{key}_point",
        help="One design point's runs (its seeds), or every run of the study pooled, each weighing alike.",
    )
    return Side(name, study, point, labels[point])


def pick_metric(names: list[str], specs: dict[str, Metric], headline: str) -> str:
    names = metric_order(names, specs)
    return st.selectbox(
        "Metric",
        names,
        index=names.index(headline) if headline in names else 0,
        key="compare_metric",
        help="Only the metrics both sides record. A run's outcome is the metric averaged over its last "
        "tenth of rounds.",
    )


# --- Charts --------------------------------------------------------------------------------------------


def y_scale(bounded: bool) -> alt.Scale:
    """Shares keep the full [0, 1] axis, as on the Study page."""
    return alt.Scale(domain=[0, 1]) if bounded else alt.Scale(zero=False)


def side_colours(sides: list[Side]) -> alt.Scale:
    return alt.Scale(domain=[side.label for side in sides], range=COLOURS)


def outcome_chart(sides: list[Side], estimates: list[Estimate], metric: str, bounded: bool) -> alt.LayerChart:
    """Each side's mean (point) and 95% interval (bar) on one axis."""
    frame = pl.DataFrame(
        {
            "side": [side.label for side in sides],
            "runs": [e.runs for e in estimates],
            "mean": [e.mean for e in estimates],
            "ci_low": [e.low for e in estimates],
            "ci_high": [e.high for e in estimates],
        },
        schema={
            "side": pl.String,
            "runs": pl.Int64,
            "mean": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    )
    colour = alt.Color("side:N", scale=side_colours(sides), legend=None)
    base = alt.Chart(frame).encode(
        y=alt.Y("side:N", title=None, sort=None, axis=alt.Axis(labelLimit=480)), color=colour
    )
    x_title = f"{metric}, final outcome (mean over runs)"
    interval = base.mark_rule(strokeWidth=3, opacity=0.6).encode(
        x=alt.X("ci_low:Q", title=x_title, scale=y_scale(bounded)), x2="ci_high:Q"
    )
    tooltip = [
        alt.Tooltip("side:N"),
        alt.Tooltip("runs:Q"),
        alt.Tooltip("mean:Q", format=".4f"),
        alt.Tooltip("ci_low:Q", format=".4f", title="95% CI low"),
        alt.Tooltip("ci_high:Q", format=".4f", title="95% CI high"),
    ]
    mean = base.mark_point(size=120, filled=True, opacity=1).encode(
        x=alt.X("mean:Q", title=x_title, scale=y_scale(bounded)), tooltip=tooltip
    )
    return alt.layer(interval, mean).properties(height=140)


def course_frame(sides: list[Side], courses: list[pl.DataFrame], bounded: bool) -> tuple[pl.DataFrame, int]:
    """Both sides' mean per round with its 95% t-interval across runs, averaged within windows of rounds
    when a run is long (so each line keeps at most MAX_POINTS_PER_LINE points); and the window."""
    steps = max((course.height for course in courses), default=0)
    window = max(1, math.ceil(steps / MAX_POINTS_PER_LINE))
    frames = []
    for side, course in zip(sides, courses, strict=True):
        half = pl.Series(
            [
                summaries.t_critical(n - 1) * sd / math.sqrt(n) if n > 1 else None
                for n, sd in zip(course["runs"], course["sd"], strict=True)
            ],
            dtype=pl.Float64,
        )
        low, high = course["mean"] - half, course["mean"] + half
        if bounded:
            low, high = low.clip(0, 1), high.clip(0, 1)
        frame = course.select("step", "mean", "runs").with_columns(
            ci_low=low, ci_high=high, side=pl.lit(side.label)
        )
        if window > 1:
            frame = (
                frame.with_columns(window=pl.col("step") // window)
                .group_by("side", "window", maintain_order=True)
                .agg(pl.col("step", "mean", "ci_low", "ci_high").mean(), pl.col("runs").min())
                .drop("window")
            )
        frames.append(frame.select("side", "step", "mean", "ci_low", "ci_high", "runs"))
    return pl.concat(frames), window


def course_chart(frame: pl.DataFrame, sides: list[Side], metric: str, bounded: bool) -> alt.LayerChart:
    """Both sides' time courses on one axis: a line each, with its 95% band."""
    colour = alt.Color(
        "side:N",
        scale=side_colours(sides),
        legend=alt.Legend(title=None, orient="top", labelLimit=600, symbolType="stroke"),
    )
    base = alt.Chart(frame).encode(x=alt.X("step:Q", title="round"), color=colour)
    title = f"{metric} (mean over runs)"
    band = base.mark_area(opacity=0.2).encode(
        y=alt.Y("ci_low:Q", title=title, scale=y_scale(bounded)), y2="ci_high:Q"
    )
    line = base.mark_line(strokeWidth=2).encode(
        y=alt.Y("mean:Q", title=title, scale=y_scale(bounded)),
        tooltip=[
            alt.Tooltip("side:N"),
            alt.Tooltip("step:Q", title="round", format=".0f"),
            alt.Tooltip("mean:Q", format=".4f"),
            alt.Tooltip("ci_low:Q", format=".4f", title="95% CI low"),
            alt.Tooltip("ci_high:Q", format=".4f", title="95% CI high"),
            alt.Tooltip("runs:Q"),
        ],
    )
    return alt.layer(band, line).properties(height=CHART_HEIGHT)


# --- Page ----------------------------------------------------------------------------------------------


def shared_runs_note(a: pl.DataFrame, b: pl.DataFrame) -> str:
    """Welch's interval assumes two independent samples: say so when the sides share runs."""
    common = set(a["run_id"]) & set(b["run_id"])
    if not common:
        return ""
    if len(common) == a.height == b.height:
        return (
            " Both sides are the same runs: the difference is 0 by construction, and the interval, which "
            "assumes two independent samples, does not apply."
        )
    return (
        f" The sides share {plural(len(common), 'run')} (a design point against its study pooled): the "
        "interval assumes independent samples and is only a rough guide."
    )


def show_outcomes(
    sides: list[Side], outcomes: list[pl.DataFrame], metric: str, bounded: bool
) -> tuple[list[Estimate], Difference] | None:
    """Each side's final outcome with its interval, and the difference B − A with Welch's interval."""
    st.subheader("Final outcome")
    missing = [side.label for side, runs in zip(sides, outcomes, strict=True) if runs.is_empty()]
    if missing:
        st.info(
            f"No run of {' and '.join(missing)} has a value of `{metric}` in its last tenth of rounds: the "
            "metric is undefined there, or no round there was recorded."
        )
        return None
    bounds = (0.0, 1.0) if bounded else None
    estimates = [estimate(runs["value"].to_list(), bounds) for runs in outcomes]
    difference = welch(*estimates, bounds=(-1.0, 1.0) if bounded else None)
    columns = st.columns(3)
    for column, side, found in zip(columns[:2], sides, estimates, strict=True):
        column.metric(side.label, number(found.mean), border=True)
        column.caption(f"{interval_text(found.low, found.high)} · {plural(found.runs, 'run')}")
    columns[2].metric("B − A", number(difference.value), border=True)
    columns[2].caption(
        interval_text(difference.low, difference.high).replace("95% CI", "Welch 95% CI")
        + (f" · {difference.dof:.1f} degrees of freedom" if difference.dof is not None else "")
    )
    st.altair_chart(outcome_chart(sides, estimates, metric, bounded), width="stretch")
    caption = (
        f"A side's outcome is the mean over its runs of each run's outcome, `{metric}` averaged over the "
        "run's last tenth of rounds, with its 95% t-interval (mean ± t(0.975, n − 1)·sd/√n); pooled design "
        "points weigh each run alike, so their spread includes the sweep's. B − A is the difference of the "
        "means with Welch's 95% interval: standard error √(sd²_A/n_A + sd²_B/n_B), t with the "
        "Welch–Satterthwaite degrees of freedom rounded down."
    )
    if bounded:
        caption += f" `{metric}` is a share: intervals are clipped to [0, 1] (the difference's to [−1, 1])."
    st.caption(caption + shared_runs_note(*outcomes))
    return estimates, difference


def outcome_table(sides: list[Side], estimates: list[Estimate], difference: Difference) -> pl.DataFrame:
    """The numbers behind the tiles: one row per side, and the difference."""
    return pl.DataFrame(
        {
            "side": [side.name for side in sides] + ["B − A"],
            "study": [side.study["name"] for side in sides] + [None],
            "design_point": [side.point_label for side in sides] + [None],
            "runs": [e.runs for e in estimates] + [None],
            "estimate": [e.mean for e in estimates] + [difference.value],
            "sd": [e.sd for e in estimates] + [None],
            "ci_low": [e.low for e in estimates] + [difference.low],
            "ci_high": [e.high for e in estimates] + [difference.high],
        },
        schema={
            "side": pl.String,
            "study": pl.String,
            "design_point": pl.String,
            "runs": pl.Int64,
            "estimate": pl.Float64,
            "sd": pl.Float64,
            "ci_low": pl.Float64,
            "ci_high": pl.Float64,
        },
    )


def show_time_courses(sides: list[Side], courses: list[pl.DataFrame], metric: str, bounded: bool) -> None:
    st.subheader("Over time")
    if all(course.is_empty() for course in courses):
        st.info(f"No run of either side has recorded `{metric}`.")
        return
    frame, window = course_frame(sides, courses, bounded)
    st.altair_chart(course_chart(frame, sides, metric, bounded), width="stretch")
    st.caption(
        f"Mean of `{metric}` across each side's runs at each recorded round"
        + (f", averaged over windows of {window} rounds" if window > 1 else "")
        + ", with its 95% t-interval across runs (band; none where a side has a single run)."
        + (" Clipped to [0, 1]." if bounded else "")
    )


def show(db: Path, token: Token, studies: pl.DataFrame) -> None:
    """Pick two sides and a metric both record; show their outcomes, the difference and the time courses."""
    st.title("Compare")
    st.markdown(
        "Two studies, or two design points of one study or of two, on the same axes: each side's final "
        "outcome, the difference B − A with its interval, and both time courses."
    )
    try:
        default_a, default_b = defaults(db, token, studies)
        left, right = st.columns(2, border=True)
        sides = [
            pick_side(db, token, studies, "A", default_a, left),
            pick_side(db, token, studies, "B", default_b, right),
        ]
    except KeyError:  # the file was replaced between two queries
        st.warning(f"A study is no longer in `{db}`; press **R** to reload.")
        return
    found = [load_side_metrics(str(db), token, side.study["study_id"], side.point) for side in sides]
    games = [side.study["game"] for side in sides]
    specs = {**metric_specs(games[1]), **metric_specs(games[0])}
    common = [name for name in found[0] if name in set(found[1])]
    if not common:
        st.info(
            f"No metric is recorded on both sides: A (the {games[0]} game) records "
            f"{plural(len(found[0]), 'metric')}, B (the {games[1]} game) {plural(len(found[1]), 'metric')}, "
            "none of them on both. Pick sides of the same game (a side with no complete run records none)."
        )
        return
    game = GAMES.get(games[0])
    metric = pick_metric(common, specs, game.headline if game else "")
    only = sorted(set(found[0]) ^ set(found[1]))
    if only:
        st.caption(f"Recorded on one side only, so not offered: {', '.join(f'`{name}`' for name in only)}.")
    bounded = metric in specs and specs[metric].bounded
    if metric in specs:
        st.markdown(f"**{metric}**: {specs[metric].doc}.")
    outcomes = [
        load_run_outcomes(str(db), token, side.study["study_id"], side.point, metric) for side in sides
    ]
    shown = show_outcomes(sides, outcomes, metric, bounded)
    courses = [load_course(str(db), token, side.study["study_id"], side.point, metric) for side in sides]
    show_time_courses(sides, courses, metric, bounded)
    if shown is not None:
        with st.expander("The numbers"):
            st.dataframe(outcome_table(sides, *shown), hide_index=True, width="stretch")
