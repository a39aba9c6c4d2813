"""Summaries of a study that the explorer, the report figures and the CLI all show, written once in SQL.

A run's outcome for a metric is its mean over the last tenth of its rounds (the `final_metrics` view);
a design point's outcome is the mean over its replications with a 95% t-interval and the 10-90% quantiles,
so every summary carries its spread across seeds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import polars as pl

from studies import store
from studies.version import code_label

# Two-sided 95% critical values of Student's t for 1..30 degrees of freedom.
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)  # fmt: skip


def t_critical(dof: int) -> float:
    """Student's t quantile 0.975; beyond 30 degrees of freedom a Cornish-Fisher expansion (error < 1e-3)."""
    if dof < 1:
        return math.nan
    if dof <= len(_T975):
        return _T975[dof - 1]
    z = 1.959964
    return z + (z**3 + z) / (4 * dof) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * dof**2)


def study_info(path: Path, study_id: str) -> dict[str, Any]:
    """The study's row, after refusing swept parameters that are not columns of its runs: they become SQL
    identifiers, and a shared file could hold anything there."""
    frame = store.query(path, "SELECT * FROM studies WHERE study_id = ?", [study_id])
    if frame.is_empty():
        raise KeyError(f"no study {study_id!r} in {path}")
    info = frame.row(0, named=True)
    columns = run_columns(path)
    strange = [name for name in info["swept_parameters"] or [] if name not in columns]
    if strange:
        raise store.StoreError(
            f"study {study_id!r} in {path} names swept parameters that are not columns of its runs "
            f"({', '.join(repr(name[:80]) for name in strange)}): the file was not written by this tool or "
            "was changed since; nothing in it was run."
        )
    return info


def run_columns(path: Path) -> set[str]:
    """The columns of the runs table."""
    columns = store.query(
        path,
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'runs' AND table_catalog = current_database()",
    )
    return set(columns["column_name"])


def code_versions(path: Path, study_id: str) -> pl.DataFrame:
    """The code versions behind a study's stored runs: `code` (commit, and + the fingerprint of uncommitted
    changes), `runs`; most runs first. More than one means its numbers may come from different models."""
    diff = "code_diff" if "code_diff" in run_columns(path) else "NULL"  # stores before code_diff
    found = store.query(
        path,
        f"SELECT code_commit, {diff} AS code_diff, count(*) AS runs FROM runs WHERE study_id = ? "
        "GROUP BY ALL",
        [study_id],
    )
    codes = [
        code_label(commit, diff)
        for commit, diff in zip(found["code_commit"], found["code_diff"], strict=True)
    ]
    return (
        pl.DataFrame({"code": codes, "runs": found["runs"]}, schema={"code": pl.String, "runs": pl.Int64})
        .group_by("code")
        .agg(pl.col("runs").sum())
        .sort(["runs", "code"], descending=[True, False])
    )


def metric_names(path: Path, study_id: str) -> list[str]:
    frame = store.query(
        path,
        "SELECT DISTINCT metric FROM metrics JOIN runs USING (run_id) WHERE study_id = ? ORDER BY metric",
        [study_id],
    )
    return frame["metric"].to_list()


def outcome_by_design_point(path: Path, study_id: str, metric: str) -> pl.DataFrame:
    """One row per design point: swept parameter values, runs, mean, sd, ci_low, ci_high, q10, q90."""
    swept = ["r." + store.quote_identifier(name) for name in study_info(path, study_id)["swept_parameters"]]
    select = ", ".join(["r.design_point", *swept])
    frame = store.query(
        path,
        f"""
        SELECT {select}, count(*) AS runs, avg(f.value) AS mean, coalesce(stddev_samp(f.value), 0) AS sd,
               quantile_cont(f.value, 0.1) AS q10, quantile_cont(f.value, 0.9) AS q90
        FROM final_metrics f JOIN runs r USING (run_id)
        WHERE r.study_id = ? AND f.metric = ?
        GROUP BY ALL ORDER BY r.design_point
        """,
        [study_id, metric],
    )
    half_width = pl.Series(  # one seed gives no interval: null, not a zero-width one
        [
            t_critical(n - 1) * sd / math.sqrt(n) if n > 1 else None
            for n, sd in zip(frame["runs"], frame["sd"], strict=True)
        ],
        dtype=pl.Float64,
    )
    return frame.with_columns(ci_low=frame["mean"] - half_width, ci_high=frame["mean"] + half_width)


def time_course(path: Path, study_id: str, metric: str) -> pl.DataFrame:
    """Per design point and step: mean, q10 and q90 across replications, with a readable label."""
    swept = study_info(path, study_id)["swept_parameters"]
    label = (
        " || ', ' || ".join(
            f"{store.quote_literal(name + '=')} || CAST(r.{store.quote_identifier(name)} AS VARCHAR)"
            for name in swept
        )
        if swept
        else "'all runs'"
    )
    return store.query(
        path,
        f"""
        SELECT r.design_point, {label} AS design, m.step, avg(m.value) AS mean,
               quantile_cont(m.value, 0.1) AS q10, quantile_cont(m.value, 0.9) AS q90, count(*) AS runs
        FROM metrics m JOIN runs r USING (run_id)
        WHERE r.study_id = ? AND m.metric = ?
        GROUP BY ALL ORDER BY r.design_point, m.step
        """,
        [study_id, metric],
    )


def sensitivity(path: Path, study_id: str, metric: str | None = None) -> pl.DataFrame:
    """The study's stored sensitivity indices (empty unless it used a Sobol or Morris design)."""
    sql = "SELECT * FROM sensitivity WHERE study_id = ?" + (" AND metric = ?" if metric else "")
    frame = store.query(
        path, sql + " ORDER BY metric, statistic, value DESC", [study_id, metric] if metric else [study_id]
    )
    return frame.drop("computed_at", "design_points")
