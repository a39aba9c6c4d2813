"""The Agents page: one run of a study, agent by agent. What the agents chose round by round, what their
learners hold, and (election) where the candidates stood over the electorate.

The store keeps a run's metrics, not its agents; the page replays the run in this process from its stored
config and seed (agents_view.py), which gives the same numbers, and says whether the replay's metrics equal
the stored ones. A run too large to replay while someone waits shows the stored metrics that describe the
choices instead.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import agents_view as view
import polars as pl
import streamlit as st
from shared import CACHE_TTL_S, Token, metric_specs, pick_study_info, plural

from models.games import get_game
from models.params import ConfigError
from studies import store, summaries
from studies.version import code_label, code_version

MAX_LISTED_POINTS = 5_000  # a sampled design may have more: the picker lists the first ones


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_points(db: str, token: Token, study_id: str, swept: tuple[str, ...]) -> pl.DataFrame:
    """The study's design points with a complete run: each one's swept values and its number of complete
    runs, one row per point, so that a study of 100,000 runs lists its design points, not its runs (the
    names come from study_info, which has checked them against the runs table; quoted all the same)."""
    columns = "".join(f", {store.quote_identifier(name)}" for name in swept)
    return store.query(
        Path(db),
        f"SELECT design_point{columns}, count(*) AS runs FROM runs "
        "WHERE study_id = ? AND status = 'complete' GROUP BY ALL ORDER BY design_point "
        f"LIMIT {MAX_LISTED_POINTS}",
        [study_id],
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_runs(db: str, token: Token, study_id: str, swept: tuple[str, ...], point: int) -> pl.DataFrame:
    """The complete runs of one design point, with what it takes to replay each and its swept values."""
    columns = "".join(f", {store.quote_identifier(name)}" for name in swept)
    diff = "code_diff" if "code_diff" in summaries.run_columns(Path(db)) else "NULL AS code_diff"
    return store.query(
        Path(db),
        "SELECT run_id, game, design_point, replicate, seed, rounds, record_every, learner, config, "
        f"code_commit, {diff}{columns} FROM runs WHERE study_id = ? AND design_point = ? "
        "AND status = 'complete' ORDER BY replicate",
        [study_id, point],
    )


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def load_run_metrics(db: str, token: Token, run_id: str) -> pl.DataFrame:
    return store.query(
        Path(db), "SELECT step, metric, value FROM metrics WHERE run_id = ? ORDER BY step, metric", [run_id]
    )


@st.cache_data(show_spinner=False, max_entries=8)
def replay_run(game: str, config: str, seed: int, record_every: int) -> view.Replay:
    """Cached by the run's config and seed (not the database): the same run replays to the same numbers."""
    return view.replay_run(game, config, seed, record_every)


@st.cache_data(show_spinner=False)
def current_code() -> str:
    version = code_version()
    return code_label(version["commit"], version["diff"])


# --- Picking a run --------------------------------------------------------------------------------------


def point_label(point: dict[str, Any], swept: list[str]) -> str:
    values = ", ".join(f"{name}={point[name]}" for name in swept)
    return f"design point {point['design_point']}" + (f" ({values})" if values else "")


def forget_if_gone(key: str, options: list[Any]) -> None:
    """Forget a picker's choice that the options no longer hold (another study was picked)."""
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]


def pick_run(
    db: Path, token: Token, study_id: str, swept: list[str], replications: int
) -> dict[str, Any] | None:
    """A design point (its swept values), then one of its seeds; None while no run is complete."""
    points = load_points(str(db), token, study_id, tuple(swept))
    if points.is_empty():
        return None
    rows = {row["design_point"]: row for row in points.iter_rows(named=True)}
    forget_if_gone("agents_point", list(rows))
    point = st.sidebar.selectbox(
        "Design point",
        list(rows),
        format_func=lambda key: point_label(rows[key], swept),
        key="agents_point",
        help="The swept values"
        + (f" (the first {MAX_LISTED_POINTS:,} design points)" if len(rows) == MAX_LISTED_POINTS else ""),
    )
    found = load_runs(str(db), token, study_id, tuple(swept), point)
    runs = {row["replicate"]: row for row in found.iter_rows(named=True)}
    if not runs:  # the file changed between the two queries
        return None
    forget_if_gone("agents_run", list(runs))
    replicate = st.sidebar.selectbox(
        "Seed", list(runs), format_func=lambda key: f"seed {key + 1} of {replications}", key="agents_run"
    )
    return runs[replicate]


def show_run_facts(run: dict[str, Any]) -> None:
    sidebar = st.sidebar
    sidebar.divider()
    sidebar.markdown(f"**Learners:** {run['learner']}")
    sidebar.markdown(
        f"**Run:** {plural(run['rounds'], 'round')}, seed `{run['seed']}`, metrics recorded every "
        f"{plural(run['record_every'], 'round')}"
    )
    sidebar.caption(f"Run id `{run['run_id']}` · code `{code_label(run['code_commit'], run['code_diff'])}`")


# --- Sections -------------------------------------------------------------------------------------------


def show_agreement(agreement: view.Agreement, run: dict[str, Any], extensions: list[str]) -> None:
    """Whether the replay is the stored run: its metrics, value by value, against the store's."""
    if agreement.matches:
        st.success(
            f"The replay matches the stored run: all {agreement.compared:,} stored metric values are equal.",
            icon=":material/check_circle:",
        )
        return
    stored_by = code_label(run["code_commit"], run["code_diff"])
    if agreement.compared == 0:
        detail = "the store holds no metric value of this run to compare with"
    else:
        detail = f"{agreement.differing:,} of {agreement.compared:,} metric values differ"
        if agreement.differing:
            detail += f" (by up to {agreement.largest:.3g}, in {', '.join(agreement.metrics)})"
        if agreement.only_stored or agreement.only_replayed:
            detail += (
                f"; {agreement.only_stored:,} stored values have no replayed one and "
                f"{agreement.only_replayed:,} replayed values no stored one"
            )
    st.warning(
        f"The replay does not match the stored run: {detail}. The run was stored by code `{stored_by}` and "
        f"this explorer runs `{current_code()}`: a change to the model since then gives other numbers. The "
        "charts below show the replay, not necessarily the stored run."
        + (
            " The study also adds parts from "
            + ", ".join(f"`{name}`" for name in extensions)
            + ", which this page does not import: a part they add is missing from the replay."
            if extensions
            else ""
        )
    )


def pick_role(replayed: view.Replay, params: dict[str, Any]) -> str:
    """The role to look at; roles whose actions change nothing in this run (a fixed institution) last."""
    spec = get_game(replayed.game)
    roles = sorted(replayed.roles, key=lambda role: not spec.role_acts(params, role))

    def label(role: str) -> str:
        agents = replayed.roles[role][0]
        name = f"{role} ({plural(agents, 'agent')}, {replayed.kinds[role]})"
        return name if spec.role_acts(params, role) else f"{name}: its actions change nothing"

    return st.selectbox("Role", roles, format_func=label, key="agents_role")


def show_choices(replayed: view.Replay, role: str, params: dict[str, Any]) -> None:
    """The distribution of the role's choices over the rounds, by the grouping chosen."""
    st.subheader("What the agents chose")
    if not get_game(replayed.game).role_acts(params, role):
        st.caption(
            f"The {role}s act, but their actions change nothing in this run: the game's own setting holds "
            "(its switch, such as journals_act, funder_acts or institution_learns, is off)."
        )
    if role in replayed.traits:
        st.altair_chart(view.traits_chart(view.trait_course(replayed, role), role), width="stretch")
        st.caption(
            f"The {role}s play traits, not actions: per round, each trait's mean over the {role}s (line) and "
            "the 10–90% range across them (band)."
        )
        return
    n_actions = replayed.roles[role][1]
    groupings = list(view.action_groupings(replayed.game, params, role, n_actions))
    grouping = st.selectbox(
        "Group the actions by",
        groupings,
        key=f"agents_grouping_{role}",
        help="Each action belongs to one category; the chart stacks the share of agents in each.",
    )
    window = view.window_for(replayed.rounds)
    shares = view.averaged_shares(view.choice_shares(replayed, role, grouping, params), window)
    st.altair_chart(view.choices_chart(shares, role, grouping), width="stretch")
    averaging = f", averaged over windows of {window} rounds" if window > 1 else ""
    st.caption(
        f"Share of the {role}s in each category ({grouping}) per round{averaging}, from the replayed "
        "actions: every round's shares sum to 1."
    )


def pick_round(rounds: int) -> int:
    if rounds < 2:
        return 0
    return st.slider(
        "Round",
        min_value=0,
        max_value=rounds - 1,
        value=rounds - 1,
        key="agents_round",
        help="The round the platforms and the learners' holdings below are shown at (rounds count from 0).",
    )


def show_platforms(replayed: view.Replay, step: int, params: dict[str, Any]) -> None:
    """Where the candidates stood at the round, over the run's electorate; their paths over the rounds."""
    st.subheader("Platforms over the electorate")
    dimensions = replayed.voters.shape[1]
    frame = view.platform_frame(replayed, step)
    chart = view.platform_chart(frame, dimensions, float(params["platform_extent"]))
    st.altair_chart(chart, width="stretch")
    winner = int(replayed.winners[step])
    electorate = "histogram of the voters' ideal points" if dimensions == 1 else "voters' ideal points (grey)"
    st.caption(
        f"Round {step}: the candidates' platforms (coloured; the winner, candidate {winner}, solid) over the "
        f"{electorate}, {plural(len(replayed.voters), 'voter')} of this run."
    )
    course = view.platform_course(replayed)
    st.altair_chart(view.platform_course_chart(course, step), width="stretch")
    st.caption("Each candidate's platform over the rounds; the dashed rule marks the round shown above.")


def show_holdings(replayed: view.Replay, role: str, step: int) -> None:
    """What the role's learner holds after the round (the last snapshot at or before it)."""
    st.subheader("What the learners hold")
    kind = replayed.kinds[role]
    held = [h for h in replayed.held if h.role == role]
    if not held:
        st.caption(f"A {kind} learner holds nothing to show beyond its rule: its agents keep no values.")
        return
    snapshot = view.snapshot_at(replayed, step)
    shown = replayed.snapshot_steps[snapshot]
    kept = len(replayed.snapshot_steps)
    note = f" (kept at {kept} rounds of {replayed.rounds}: the last at or before round {step})"
    st.caption(f"The {kind} learner of the {role}s after round {shown}{note if shown != step else ''}.")
    for holding in held:
        frame = view.holdings_long(replayed, holding, snapshot)
        agents, entries = holding.values.shape[1:]
        st.markdown(f"**{holding.what}** ({entries} {'entry' if entries == 1 else 'entries'} per {role})")
        if agents > 1:
            st.altair_chart(view.holdings_bars(frame, role, holding.what), width="stretch")
        if 1 < agents <= view.MAX_HEATMAP_AGENTS and entries <= view.MAX_WIDE_ENTRIES:
            st.altair_chart(view.holdings_heatmap(frame, role, holding.what), width="stretch")
        with st.expander(f"The numbers: {holding.what}", expanded=agents == 1):
            st.dataframe(view.holdings_table(replayed, holding, snapshot), hide_index=True, width="stretch")


def show_stored_choices(stored: pl.DataFrame, game: str) -> None:
    """For a run not replayed: the stored metrics that describe what its agents chose."""
    st.subheader("What the agents chose (stored metrics)")
    specs = metric_specs(game)
    wanted = view.CHOICE_METRICS.get(game) or tuple(name for name, spec in specs.items() if spec.bounded)
    frame = stored.filter(pl.col("metric").is_in(list(wanted)))
    if frame.is_empty():
        st.info("The store holds no metric of this run that describes its agents' choices.")
        return
    st.altair_chart(view.stored_choices_chart(frame), width="stretch")
    names = frame["metric"].unique(maintain_order=True).to_list()
    st.caption("; ".join(f"**{name}**: {specs[name].doc}" for name in names if name in specs) + ".")


def show(db: Path, token: Token, studies: pl.DataFrame) -> None:
    """Pick a study and one of its runs, replay it, and show its agents."""
    picked = pick_study_info(db, token, studies, key="agents_study")
    if picked is None:
        return
    row, info = picked
    study_id = row["study_id"]
    swept = list(info["swept_parameters"] or [])
    st.title(f"Agents · {info['name']}")
    run = pick_run(db, token, study_id, swept, info["replications"])
    if run is None:
        st.info("No run of this study is complete yet: it is still running. Press **R** to refresh.")
        return
    show_run_facts(run)
    game, config = run["game"], json.loads(run["config"])
    params = config["game"]
    stored = load_run_metrics(str(db), token, run["run_id"])
    refusal = view.replay_refusal(game, params, run["rounds"])
    if refusal is not None:
        st.info(f"This run is not replayed: {refusal}")
        show_stored_choices(stored, game)
        return
    work = view.agents_per_world(game, params) * run["rounds"]
    try:
        with st.spinner(f"Replaying the run ({work:,} agent-rounds)…"):
            replayed = replay_run(game, run["config"], run["seed"], run["record_every"])
    except (ConfigError, KeyError, ValueError) as error:  # a part this process lacks, an older config
        st.warning(f"This run cannot be replayed here ({error}); its stored metrics follow.")
        show_stored_choices(stored, game)
        return
    extensions = list(json.loads(info["config"] or "{}").get("study", {}).get("extensions", []))
    show_agreement(view.agreement(replayed.metrics, stored), run, extensions)
    role = pick_role(replayed, params)
    show_choices(replayed, role, params)
    st.divider()
    step = pick_round(replayed.rounds)
    if replayed.platforms is not None:
        show_platforms(replayed, step, params)
    show_holdings(replayed, role, step)
