"""The figures in REPORT.md, drawn from the results store with the same summaries the explorer shows.

`python -m studies figures` (or `make report`) redraws them from the latest `publication_bias` study.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import polars as pl

from models.params import ConfigError
from studies import store, summaries

OUTCOMES = (
    ("false_discovery_rate", "False discovery rate"),
    ("replication_rate", "Replication rate"),
    ("mean_rigor", "Mean rigor"),
    ("true_discoveries", "True discoveries per round"),
)


def latest_study(db: Path, name: str) -> str:
    frame = store.query(
        db, "SELECT study_id FROM studies WHERE name = ? ORDER BY created_at DESC LIMIT 1", [name]
    )
    if frame.is_empty():
        raise store.StoreError(
            f"no {name!r} study in {db}: run `python -m studies run studies/{name}.toml` first."
        )
    return frame["study_id"][0]


def publication_bias_figures(db: Path, out: Path) -> list[Path]:
    study_id = latest_study(db, "publication_bias")
    x_name = summaries.study_info(db, study_id)["swept_parameters"][0]

    fig, axes = plt.subplots(1, len(OUTCOMES), figsize=(15, 3.6), constrained_layout=True)
    for ax, (metric, title) in zip(axes, OUTCOMES, strict=True):
        frame = summaries.outcome_by_design_point(db, study_id, metric)
        x = frame[x_name].to_numpy()
        ax.fill_between(x, frame["q10"], frame["q90"], alpha=0.15, color="C0", label="10–90% of runs")
        ax.fill_between(x, frame["ci_low"], frame["ci_high"], alpha=0.35, color="C0", label="95% CI of mean")
        ax.plot(x, frame["mean"], "o-", color="C0", label="mean over seeds")
        ax.set_title(title)
        ax.set_xlabel("publish_null_prob (1 − publication bias)")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="best", fontsize=8)
    outcome_path = out / "publication_bias_outcomes.png"
    fig.savefig(outcome_path, dpi=110)
    plt.close(fig)

    course = summaries.time_course(db, study_id, "mean_rigor")
    fig, ax = plt.subplots(figsize=(7, 3.6), constrained_layout=True)
    for index, (design, group) in enumerate(course.group_by("design", maintain_order=True)):
        color = plt.cm.viridis(index / max(1, course["design"].n_unique() - 1))
        ax.plot(group["step"], group["mean"], color=color, label=design[0], linewidth=1)
    ax.set_xlabel("round")
    ax.set_ylabel("mean rigor (mean over seeds)")
    ax.set_title("Researchers learn their rigor level")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    course_path = out / "publication_bias_rigor_over_time.png"
    fig.savefig(course_path, dpi=110)
    plt.close(fig)
    return [outcome_path, course_path]


SENSITIVITY_METRICS = ("false_discovery_rate", "mean_rigor", "replication_rate", "true_discoveries")


def publication_sensitivity_figures(db: Path, out: Path) -> list[Path]:
    """First-order and total Sobol indices with their 95% intervals, one panel per outcome."""
    study_id = latest_study(db, "publication_sensitivity")
    indices = summaries.sensitivity(db, study_id)
    fig, axes = plt.subplots(
        1, len(SENSITIVITY_METRICS), figsize=(15, 3.4), constrained_layout=True, sharey=True
    )
    for ax, metric in zip(axes, SENSITIVITY_METRICS, strict=True):
        rows = indices.filter(indices["metric"] == metric)
        parameters = sorted(set(rows["parameter"]))
        for offset, (statistic, color, label) in enumerate(
            (("S1", "C0", "first order (S1)"), ("ST", "C1", "total (ST)"))
        ):
            part = {
                r["parameter"]: r for r in rows.filter(rows["statistic"] == statistic).iter_rows(named=True)
            }
            y = [i + (offset - 0.5) * 0.35 for i in range(len(parameters))]
            value = [part[p]["value"] for p in parameters]
            error = [[part[p]["value"] - part[p]["ci_low"] for p in parameters],
                     [part[p]["ci_high"] - part[p]["value"] for p in parameters]]  # fmt: skip
            ax.barh(y, value, height=0.35, xerr=error, color=color, alpha=0.8, capsize=3, label=label)
        ax.set_yticks(range(len(parameters)), parameters)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(metric)
        ax.set_xlabel("Sobol index (95% CI)")
        ax.grid(alpha=0.3, axis="x")
    axes[-1].legend(fontsize=8, loc="upper right")
    path = out / "publication_sensitivity_indices.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


ELECTION_OUTCOMES = (
    ("platform_polarization", "Platform polarization"),
    ("turnout", "Turnout"),
    ("voter_welfare", "Voter welfare"),
)


def election_rules_figures(db: Path, out: Path) -> list[Path]:
    """Each outcome against media attention bias, a line per rule, a row per electorate polarization."""
    study_id = latest_study(db, "election_rules")
    frames = {
        metric: summaries.outcome_by_design_point(db, study_id, metric) for metric, _ in ELECTION_OUTCOMES
    }
    levels = sorted(frames["turnout"]["polarization"].unique())
    rules = list(dict.fromkeys(frames["turnout"]["rule"]))
    fig, axes = plt.subplots(len(levels), len(ELECTION_OUTCOMES), figsize=(14, 3.3 * len(levels)),
                             constrained_layout=True, sharex=True)  # fmt: skip
    for row, level in enumerate(levels):
        for column, (metric, title) in enumerate(ELECTION_OUTCOMES):
            ax = axes[row][column]
            for index, rule in enumerate(rules):
                part = frames[metric].filter((pl.col("rule") == rule) & (pl.col("polarization") == level))
                x = part["media_attention_bias"].to_numpy() + (index - len(rules) / 2) * 0.006
                error = [part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]]
                ax.errorbar(x, part["mean"], yerr=error, marker="o", markersize=4, capsize=2, label=rule)
            ax.set_title(f"{title} (electorate polarization {level:g})", fontsize=10)
            ax.grid(alpha=0.3)
            if row == len(levels) - 1:
                ax.set_xlabel("media_attention_bias")
    axes[0][0].legend(fontsize=8, ncols=2)
    path = out / "election_rules_outcomes.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


SELECTION_METRICS = (
    ("mean_effort", "Mean effort e"),
    ("false_discovery_rate", "False discovery rate"),
    ("belief_accuracy", "Literature believes correctly"),
    ("false_canonized_share", "False hypotheses held as facts"),
)


def natural_selection_figures(db: Path, out: Path) -> list[Path]:
    """Smaldino & McElreath (2016) reproduced, and learners in their world: each outcome's time course per
    design point (mean over seeds, 10-90% of runs shaded). Learners do not read the evolving labs' initial
    replication rate, so their two design points are the same runs: one is drawn."""
    study_id = latest_study(db, "natural_selection_of_bad_science")
    fig, axes = plt.subplots(1, len(SELECTION_METRICS), figsize=(17, 4.3), constrained_layout=True)
    for ax, (metric, title) in zip(axes, SELECTION_METRICS, strict=True):
        course = summaries.time_course(db, study_id, metric)
        drawn = 0
        for design, group in course.group_by("design", maintain_order=True):
            label = str(design[0])
            if "q_learning" in label and "replication_rate=0.5" in label:
                continue
            if "q_learning" in label:
                label = "learning researchers (q_learning: choose novel/replicate and effort)"
            else:
                label = "evolving labs, replication rate r = " + label.rsplit("replication_rate=", 1)[-1]
            color = f"C{drawn}"
            ax.fill_between(group["step"], group["q10"], group["q90"], alpha=0.15, color=color)
            ax.plot(group["step"], group["mean"], color=color, label=label, linewidth=1.2)
            drawn += 1
        ax.set_title(title)
        ax.set_xlabel("round")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=9)
    path = out / "natural_selection_of_bad_science.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


CREDITS = (("outcome", "outcome (the winner's utility)"), ("difference", "difference (Wolpert & Tumer)"),
           ("pivotal", "pivotal (calculus of voting)"))  # fmt: skip


def duverger_figures(db: Path, out: Path) -> list[Path]:
    """The effective number of parties each rule leaves: learning voters under each credit scheme (bars,
    95% intervals over seeds) and best-responding voters (black marks), with and without a poll."""
    study_id = latest_study(db, "duverger")
    frame = summaries.outcome_by_design_point(db, study_id, "effective_number_of_parties")
    rules = list(dict.fromkeys(frame["rule"]))
    polls = (("exact", "with a poll of the last election"), ("none", "without a poll"))
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), constrained_layout=True, sharey=True)
    width = 0.27
    for ax, (poll, title) in zip(axes, polls, strict=True):
        here = frame.filter(pl.col("poll") == poll)
        for index, (credit, label) in enumerate(CREDITS):
            part = here.filter((pl.col("voter_kind") == "q_learning") & (pl.col("credit") == credit))
            part = part.sort(pl.col("rule").replace_strict(rules, list(range(len(rules)))))
            x = [rules.index(rule) + (index - 1) * width for rule in part["rule"]]
            error = [part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]]
            ax.bar(x, part["mean"], width, yerr=error, capsize=2, label=f"learning voters, {label} credit")
        best = here.filter((pl.col("voter_kind") == "strategic_voter") & (pl.col("credit") == "outcome"))
        ax.scatter(
            [rules.index(rule) for rule in best["rule"]],
            best["mean"],
            marker="_",
            s=900,
            color="black",
            zorder=3,
            label="voters who best-respond to the poll (Cox 1997)",
        )
        ax.axhline(2, color="grey", linestyle=":", linewidth=1)
        ax.set_xticks(range(len(rules)), [rule.replace("_", " ") for rule in rules])
        ax.set_title(f"Four parties, 101 voters, {title}", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel("Effective number of parties (Laakso & Taagepera)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=9)
    path = out / "duverger.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


JOURNAL_POLICIES = (
    (0.0, 0.0, "negatives unpublished, no review"),
    (0.5, 0.0, "half of negatives published"),
    (0.0, 0.5, "review catches half of false positives"),
    (0.5, 0.5, "both"),
)
FUNDING_OUTCOMES = (
    ("false_discovery_rate", "False discovery rate"),
    ("false_discoveries_per_fund", "False discoveries per unit of funding"),
    ("true_discoveries_per_fund", "True discoveries per unit of funding"),
)


def funding_rules_figures(db: Path, out: Path) -> list[Path]:
    """Each funding rule under each journal policy, for evolving labs (top) and learning labs (bottom):
    the false discovery rate and the true and false discoveries per unit of funding over the last tenth of
    the run (bars: mean over seeds, 95% intervals)."""
    study_id = latest_study(db, "funding_rules")
    kinds = (("evolution", "evolving labs"), ("q_learning", "learning labs (q_learning)"))
    fig, axes = plt.subplots(
        len(kinds), len(FUNDING_OUTCOMES), figsize=(16, 7.5), constrained_layout=True, sharex=True
    )
    width = 0.2
    for column, (metric, title) in enumerate(FUNDING_OUTCOMES):
        frame = summaries.outcome_by_design_point(db, study_id, metric)
        rules = list(dict.fromkeys(frame["funding_rule"]))
        for row, (kind, who) in enumerate(kinds):
            ax = axes[row][column]
            for index, (negatives, review, label) in enumerate(JOURNAL_POLICIES):
                part = frame.filter(
                    (pl.col("researcher_kind") == kind)
                    & (pl.col("publish_null_prob") == negatives)
                    & (pl.col("review_detection") == review)
                ).sort(pl.col("funding_rule").replace_strict(rules, list(range(len(rules)))))
                x = [rules.index(rule) + (index - 1.5) * width for rule in part["funding_rule"]]
                # Intervals clipped to what the metric can be: a rate in [0, 1], a count per fund >= 0.
                top = 1.0 if metric == "false_discovery_rate" else float("inf")
                low = (part["mean"] - part["ci_low"].clip(0.0, top)).fill_null(0)
                high = (part["ci_high"].clip(0.0, top) - part["mean"]).fill_null(0)
                ax.bar(x, part["mean"], width, yerr=[low, high], capsize=2, label=label)
            ax.set_title(f"{title}: {who}", fontsize=10)
            ax.set_xticks(range(len(rules)), [rule.replace("_", " ") for rule in rules])
            ax.grid(alpha=0.3, axis="y")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, [f"journals: {label}" for label in labels], loc="outside lower center", ncol=4)
    path = out / "funding_rules.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]


# The studies with REPORT.md figures, each with the function that draws them.
FIGURES = {
    "publication_bias": publication_bias_figures,
    "publication_sensitivity": publication_sensitivity_figures,
    "election_rules": election_rules_figures,
    "natural_selection_of_bad_science": natural_selection_figures,
    "duverger": duverger_figures,
    "funding_rules": funding_rules_figures,
}


def make_report_figures(db: Path, out: Path, studies: list[str] | None = None) -> list[Path]:
    """The figures of the named studies (every study's when none is named)."""
    unknown = sorted(set(studies or ()) - set(FIGURES))
    if unknown:
        raise ConfigError(
            f"no REPORT.md figures for study {', '.join(unknown)}: allowed are {', '.join(FIGURES)}."
        )
    out.mkdir(parents=True, exist_ok=True)
    return [path for name in studies or FIGURES for path in FIGURES[name](db, out)]
