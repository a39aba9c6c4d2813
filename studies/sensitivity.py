"""Global sensitivity indices of a Sobol or Morris study, computed with SALib and stored like results.

The model output at a design point is the run outcome (`final_metrics`) averaged over its replications,
so seed noise is damped before it is attributed to parameters. Sobol gives first-order (S1) and total
(ST) indices: the share of outcome variance due to a parameter alone, and with all its interactions.
Morris gives mu_star (mean absolute elementary effect: overall influence) and sigma (its spread:
non-linearity or interactions). Each comes with SALib's bootstrap 95% interval where it has one.
Parameters are named by their `runs` column (`researcher_temperature` for a learner's).
"""

from __future__ import annotations

import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl

from studies import store
from studies.config import StudyPlan
from studies.designs import problem
from studies.store import column_name

METHODS = ("sobol", "morris")
SCHEMA = {
    "study_id": pl.String,
    "method": pl.String,
    "metric": pl.String,
    "parameter": pl.String,
    "statistic": pl.String,
    "value": pl.Float64,
    "ci_low": pl.Float64,
    "ci_high": pl.Float64,
    "design_points": pl.Int32,
    "computed_at": pl.Datetime(time_zone="UTC"),
}


def point_outputs(plan: StudyPlan, db: Path) -> pl.DataFrame:
    """Per design point and metric: the outcome averaged over replications."""
    return store.query(
        db,
        """
        SELECT r.design_point, f.metric, avg(f.value) AS value
        FROM final_metrics f JOIN runs r USING (run_id)
        WHERE r.study_id = ? GROUP BY ALL ORDER BY r.design_point
        """,
        [plan.study_id],
    )


def analyze(plan: StudyPlan, db: Path) -> pl.DataFrame:
    """Indices for every metric defined at every design point and not constant; empty for other designs."""
    method = plan.design["kind"]
    if method not in METHODS:
        return pl.DataFrame(schema=SCHEMA)
    from SALib.analyze import morris, sobol

    spec = problem(plan.axes)
    values = plan.point_values()
    inputs = np.array([[values[p][a.key] for a in plan.axes] for p in range(plan.design_points)], dtype=float)
    outputs = point_outputs(plan, db)
    now, rows = datetime.now(UTC), []

    def add(metric: str, parameter: str, statistic: str, value: float, half_width: float | None) -> None:
        low = None if half_width is None else value - half_width
        high = None if half_width is None else value + half_width
        rows.append((plan.study_id, method, metric, parameter, statistic, value, low, high, len(inputs), now))

    for metric in (m.name for m in plan.game.metrics):
        y = outputs.filter(pl.col("metric") == metric)["value"].to_numpy()
        if len(y) != len(inputs) or not np.isfinite(y).all() or np.ptp(y) == 0:
            continue  # undefined at some design point, or constant: nothing to attribute
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if method == "sobol":
                result = sobol.analyze(spec, y, calc_second_order=False, seed=plan.design["seed"])
                for i, axis in enumerate(plan.axes):
                    add(metric, column_name(axis.key), "S1", result["S1"][i], result["S1_conf"][i])
                    add(metric, column_name(axis.key), "ST", result["ST"][i], result["ST_conf"][i])
            else:
                result = morris.analyze(
                    spec, inputs, y, num_levels=plan.design["levels"], seed=plan.design["seed"]
                )
                for i, axis in enumerate(plan.axes):
                    add(
                        metric,
                        column_name(axis.key),
                        "mu_star",
                        result["mu_star"][i],
                        result["mu_star_conf"][i],
                    )
                    add(metric, column_name(axis.key), "sigma", result["sigma"][i], None)
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")
