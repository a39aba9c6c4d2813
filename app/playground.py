"""The Playground: choose a game, its learners and its reward design, and watch a batch of worlds learn.

Every rerun (any widget moved) plans the chosen settings as a study config would (`studies.config.plan_study`)
and steps that batch of worlds in chunks of rounds, redrawing the collective outcomes after each chunk, so
the effect of a slider shows while the agents learn. Beside it, on the same seeds, runs a baseline (the same
design without the bias the game is about), so what a slider does is read against what would have happened
anyway. "Save as a study" runs the very same plan through the study runner into the results database: the
same config and seed give the same numbers, so the saved study is what the page showed, and every other page
and SQL see it.

Sliders take their ranges from the games' parameter declarations (models/games/*/params.py), narrowed to
what reads on a slider; settings whose combination a game refuses are not offered together.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import altair as alt
import numpy as np
import polars as pl
import streamlit as st
import torch
from sampled import AXIS_WIDTH, FIT_WIDTH, SPACING
from shared import Token, metric_specs
from study_page import y_scale

from models.games import GAMES
from models.games.publication.params import FUNDING_RULES
from models.learners import LEARNERS, check_learner, resolve_learner
from models.metrics import Metric, compute_rounds
from models.params import ConfigError, Param
from models.simulate import build_batch
from studies import store
from studies.config import StudyPlan, plan_study
from studies.runner import THREADED_BATCH_AGENTS, run_study

KEY = "playground_"  # every widget's key starts with it, so no other page's state is touched
RESULT_KEY = KEY + "result"  # the last finished run, redrawn at once when only the view changes
WORLDS = (8, 16, 32, 64)
ROUNDS = (50, 100, 200, 300, 500, 1000)
START_WORLDS, START_ROUNDS = 32, 300
REDRAWS = 12  # chunks of rounds per run: the page redraws after each
MAX_POINTS = 60  # per line: rounds are averaged in windows of 1, 2, 5, 10, ... rounds to stay under it
PANEL_COLUMNS = 2
PANEL_HEIGHT = 220
THIS_COLOUR, BASELINE_COLOUR = "#c2410c", "#1f77b4"
THIS_RUN = "this design"
CURVES = "curves"  # the chart's dataset


# --- What each game's page lets you move -------------------------------------------------------------


@dataclass(frozen=True)
class Slider:
    """A number of the game on a slider: the parameter's own range (Param), cut to `top` where the
    parameter allows far more than reads on a slider. `inverted` shows 1 - value (publication bias)."""

    param: str
    label: str
    top: float
    step: float
    start: float | None = None  # the page's starting value; the parameter's default where None
    inverted: bool = False
    help: str = ""  # the parameter's meaning where empty
    shown: Callable[[Mapping[str, Any]], bool] = lambda values: True

    @property
    def key(self) -> str:
        return KEY + ("publication_bias" if self.inverted else self.param)

    def bounds(self, spec: Param) -> tuple[float, float, float]:
        """The slider's ends and start as values of the parameter: inside its range, the top cut to `top`."""
        step = 1 if spec.kind is int else self.step
        low = spec.low if spec.low is not None else 0.0
        low = low + step if spec.low_open else low
        high = min(self.top, spec.high) if spec.high is not None else self.top
        high = high - step if spec.high_open and high >= spec.high else high
        start = spec.default if self.start is None else self.start
        return low, high, min(max(start, low), high)

    def draw(self, spec: Param, where: Any) -> dict[str, Any]:
        low, high, start = self.bounds(spec)
        if self.inverted:
            low, high, start = 1 - high, 1 - low, 1 - start
        number: Callable[[float], Any] = int if spec.kind is int else float
        value = where.slider(
            self.label,
            number(low),
            number(high),
            number(round(start, 6)),
            step=number(1 if spec.kind is int else self.step),
            key=self.key,
            help=self.help or f"`{self.param}`: {spec.doc}.",
        )
        if spec.kind is int:
            return {self.param: value}
        return {self.param: round(1 - value if self.inverted else value, 6)}  # no 0.30000000000000004


@dataclass(frozen=True)
class Choice:
    """A named choice of the game (the voting rule, the poll); `settings` are game values an option brings
    with it, and an option that is not one of the parameter's choices (funding off) sets only those."""

    param: str
    label: str
    options: tuple[Any, ...] = ()  # the parameter's choices where empty
    start: Any = None
    settings: Mapping[Any, Mapping[str, Any]] = field(default_factory=dict)
    help: str = ""
    shown: Callable[[Mapping[str, Any]], bool] = lambda values: True

    @property
    def key(self) -> str:
        return KEY + self.param

    def options_for(self, spec: Param) -> list[Any]:
        return list(self.options or spec.choices or (False, True))

    def values(self, option: Any, spec: Param) -> dict[str, Any]:
        """The game values an option sets: itself where it is one of the parameter's, and its settings."""
        own = {self.param: option} if option in (spec.choices or (False, True)) else {}
        return {**own, **self.settings.get(option, {})}

    def draw(self, spec: Param, where: Any) -> dict[str, Any]:
        options = self.options_for(spec)
        start = spec.default if self.start is None else self.start
        help = self.help or f"`{self.param}`: {spec.doc}."
        if spec.kind is bool:
            value = where.toggle(self.label, value=bool(start), key=self.key, help=help)
        else:
            value = where.selectbox(self.label, options, index=options.index(start), key=self.key, help=help)
        return self.values(value, spec)


Control = Slider | Choice


@dataclass(frozen=True)
class Design:
    """A game's playground: its controls in groups, the values it fixes, its baseline and its outcomes."""

    game: str
    groups: tuple[tuple[str, tuple[Control, ...]], ...]
    fixed: Mapping[str, Any]  # game values the page sets without a control
    agents: tuple[int, ...]  # the choices of the game's scale parameter (agents per world)
    start_agents: int
    baseline: Mapping[str, Any]  # game values of the comparison run
    baseline_label: str
    headline: str
    outcomes: Callable[[Mapping[str, Any]], list[str]]  # the principal metrics for these game values
    learners: Mapping[str, tuple[str, ...]]  # per role, the learner families offered (where they fit)
    learner_settings: Mapping[tuple[str, str], Mapping[str, Any]] = field(default_factory=dict)


def _effort_model(values: Mapping[str, Any]) -> bool:
    return values.get("study_model") == "effort"


# Funding on: each study costs a fund, one grant of 10 a round goes to the lab the rule picks, a lab starts
# with 10 (Smaldino, Turner & Contreras Kallens 2019, as studies/funding_rules.toml).
FUNDING = {"study_cost": 1.0, "initial_funds": 10.0, "grant_budget": 10.0, "grants_per_period": 1}
NO_FUNDING = "no funding"

PUBLICATION = Design(
    game="publication",
    groups=(
        (
            "Journals",
            (
                Slider(
                    "publish_null_prob",
                    "Publication bias",
                    1.0,
                    0.05,
                    start=0.1,
                    inverted=True,
                    help="publication bias = 1 − `publish_null_prob`, the probability that a journal "
                    "publishes a null result (1: nulls never published, 0: published like positives).",
                ),
                Slider("replication_reward", "Replication reward", 2.0, 0.05),
                Slider("failed_replication_penalty", "Penalty when a replication refutes you", 10.0, 0.5),
                Slider("null_reward", "Reward for a published null result", 2.0, 0.05),
            ),
        ),
        (
            "How science is done",
            (
                Slider("base_rate", "Base rate of true hypotheses", 0.5, 0.01),
                Slider("qrp_bias", "Questionable research practices (u)", 1.0, 0.05),
                Choice("study_model", "Methods",
                       help="`study_model`: rigor levels (costing productivity), or effort as in Smaldino "
                       "& McElreath 2016 (alpha = W / (1 + (1 − W) e))."),
                Slider("rigor_cost", "Productivity lost at full rigor", 0.9, 0.05,
                       shown=lambda v: not _effort_model(v)),
                # max_effort stays at its default (100), so these ranges satisfy the effort model's checks.
                Slider("effort", "Effort (e)", 100.0, 1.0, shown=_effort_model),
                Slider("effort_productivity", "Productivity lost to effort (eta)", 0.5, 0.05,
                       shown=_effort_model),
            ),
        ),
        (
            "Citations and funding",
            (
                # at most 10, below the smallest literature (researchers per world, 20 at least)
                Slider("citations_per_paper", "Citations per paper", 10, 1),
                Slider("citation_bias", "Citation bias (preferential attachment)", 10.0, 0.5,
                       shown=lambda v: v.get("citations_per_paper", 0) > 0),
                Slider("citation_reward", "Reward per citation", 1.0, 0.05,
                       shown=lambda v: v.get("citations_per_paper", 0) > 0),
                Choice("funding_rule", "Funding rule", options=(NO_FUNDING, *FUNDING_RULES), start=NO_FUNDING,
                       settings={rule: FUNDING for rule in FUNDING_RULES},
                       help="`funding_rule`: how a funder picks the lab that gets each round's grant (with "
                       "funding, a study costs 1 fund, labs start with 10 and one grant of 10 is given a "
                       "round). No funding: labs never run out."),
            ),
        ),
    ),
    fixed={},
    agents=(20, 50, 100, 200),
    start_agents=50,
    baseline={"publish_null_prob": 1.0},
    baseline_label="no publication bias",
    headline="false_discovery_rate",
    outcomes=lambda v: [
        "false_discovery_rate",
        "mean_effort" if _effort_model(v) else "mean_rigor",
        "novel_share",
        "true_discoveries",
    ],
    learners={"researcher": ("q_learning", "imitation", "mean_field_q", "policy_gradient", "evolution")},
)  # fmt: skip

ELECTION = Design(
    game="election",
    groups=(
        (
            "The rule",
            (
                Choice("rule", "Voting rule"),
                Choice("poll", "Polls"),
                Choice("credit", "What a voter is paid for"),
            ),
        ),
        (
            "Media and money",
            (
                Slider("media_attention_bias", "Media bias (attention to extreme platforms)", 3.0, 0.1,
                       start=1.0),
                Slider("donor_bias", "Donor bias (money for the donor's platform)", 3.0, 0.1),
            ),
        ),
        (
            "Voters and parties",
            (
                Slider("voting_cost", "Voting cost", 0.5, 0.01, start=0.05),
                Choice("voter_distribution", "Electorate", options=("normal", "bimodal", "lognormal"),
                       start="bimodal"),
                Slider("n_candidates", "Candidates", 5, 1, start=3),
                Choice("strategic_voting", "Strategic voting"),
            ),
        ),
    ),
    # Voting pays a little in itself, less so far from every platform (as studies/election_rules.toml).
    fixed={"expressive_benefit": 0.3, "alienation": 0.2},
    agents=(51, 101, 201, 501),
    start_agents=101,
    baseline={"media_attention_bias": 0.0, "donor_bias": 0.0},
    baseline_label="no media or donor bias",
    headline="median_voter_distance",
    outcomes=lambda v: ["median_voter_distance", "voter_welfare", "turnout", "platform_polarization"],
    learners={
        "voter": ("q_learning", "strategic_voter", "imitation", "policy_gradient"),
        "candidate": ("q_learning", "hunter", "aggregator", "predator", "sticker", "imitation"),
    },
    learner_settings={
        ("voter", "q_learning"): {"exploration": "epsilon_greedy", "epsilon": 0.05},
        ("candidate", "q_learning"): {"exploration": "epsilon_greedy", "epsilon": 0.1},
    },
)  # fmt: skip

DESIGNS = {design.game: design for design in (PUBLICATION, ELECTION) if design.game in GAMES}


# --- The run -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What one run of the page is: the study config it saves as, and its plans (design and baseline)."""

    design: Design
    config: dict[str, Any]
    plan: StudyPlan
    baseline: StudyPlan | None  # None where the design is its own baseline

    @property
    def rounds(self) -> int:
        return self.plan.rounds

    @property
    def worlds(self) -> int:
        return len(self.plan.runs)

    @property
    def key(self) -> str:
        """Everything the numbers depend on (the study's name and description do not)."""
        study = {k: v for k, v in self.config["study"].items() if k not in ("name", "description")}
        return json.dumps([study, self.config["game"], self.config["learners"], self.baseline is not None])


def study_config(
    game: str,
    values: dict[str, Any],
    learners: dict[str, dict[str, Any]],
    rounds: int,
    worlds: int,
    seed: int,
) -> dict[str, Any]:
    """The study config of the page's run: every world a replication of one design point, so that the study
    seed gives the worlds' seeds exactly as the runner does."""
    return {
        "study": {
            "name": f"playground_{game}",
            "game": game,
            "rounds": rounds,
            "replications": worlds,
            "seed": seed,
        },
        "game": values,
        "learners": learners,
    }


def window_for(rounds: int) -> int:
    """The smallest window on a 1-2-5 scale that keeps a line under MAX_POINTS points."""
    return next(w * 10**k for k in range(8) for w in (1, 2, 5) if rounds / (w * 10**k) <= MAX_POINTS)


def chunk_for(rounds: int, window: int) -> int:
    """Rounds stepped between redraws: about REDRAWS chunks, each whole windows."""
    return max(window, math.ceil(rounds / REDRAWS / window) * window)


def step_live(setup: Setup, on_chunk: Callable[[np.ndarray, int], None], chunk: int) -> np.ndarray:
    """Step the design's worlds and the baseline's (one batch: the baseline's worlds after the design's, on
    the same seeds) in chunks of rounds; after each, `on_chunk(metrics so far, rounds done)`. Returns every
    round's metrics, (rounds, worlds, metrics).

    Eager and single-threaded as the runner runs a batch this small (compiling would take longer than the
    run); the numbers are the same either way."""
    runs = setup.plan.runs + (setup.baseline.runs if setup.baseline else [])
    spec = setup.plan.game
    agents = len(runs) * sum(n for n, _ in spec.role_shapes(runs[0].game).values())
    threads = torch.get_num_threads()
    torch.set_num_threads(1 if agents < THREADED_BATCH_AGENTS else threads)
    try:
        batch = build_batch(
            spec.name, [run.game for run in runs], runs[0].learners, [run.seed for run in runs]
        )
        parts: list[np.ndarray] = []
        for start in range(0, setup.rounds, chunk):
            tallies = [batch.round().tallies for _ in range(start, min(start + chunk, setup.rounds))]
            parts.append(compute_rounds(spec.metrics, tallies).cpu().numpy())
            series = np.concatenate(parts)
            on_chunk(series, len(series))
    finally:
        torch.set_num_threads(threads)
    return np.concatenate(parts)


def curves(
    series: np.ndarray, worlds: int, labels: list[str], metrics: dict[str, int], window: int
) -> pl.DataFrame:
    """Long form (metric, round, run, mean, q10, q90): each world's mean over windows of rounds, then the
    mean and 10-90% range across each run's worlds (the design's worlds first, then the baseline's).
    Vectorised over windows and metrics: it runs after every chunk, while the worlds wait."""
    rounds = series.shape[0]
    count = math.ceil(rounds / window)
    chosen = series[:, :, list(metrics.values())]
    padded = np.full((count * window, *chosen.shape[1:]), np.nan)
    padded[:rounds] = chosen
    starts = np.arange(count) * window
    centres = (starts + np.minimum(starts + window, rounds) - 1) / 2
    names = np.repeat(list(metrics), count)  # metric by metric, window by window
    frames = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN window is NaN, and dropped
        windowed = np.nanmean(padded.reshape(count, window, *chosen.shape[1:]), axis=1)
        for position, label in enumerate(labels):
            part = windowed[:, position * worlds : (position + 1) * worlds]  # (windows, worlds, metrics)
            low, high = np.nanquantile(part, [0.1, 0.9], axis=1)
            frames.append(
                pl.DataFrame(
                    {
                        "metric": names,
                        "round": np.tile(centres, len(metrics)),
                        "run": label,
                        "mean": np.nanmean(part, axis=1).T.ravel(),
                        "q10": low.T.ravel(),
                        "q90": high.T.ravel(),
                    }
                )
            )
    return pl.concat(frames).drop_nans("mean")


def final_outcomes(
    series: np.ndarray, worlds: int, labels: list[str], metrics: dict[str, int]
) -> pl.DataFrame:
    """Per metric and run: each world's mean over the last tenth of rounds (as the store's final_metrics),
    then the mean over the worlds where it is defined (as the Study page's outcome)."""
    rounds = series.shape[0]
    last = series[rounds - max(rounds // 10, 1) :]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        per_world = np.nanmean(last, axis=0)  # (worlds, metrics)
        columns: dict[str, Any] = {"metric": list(metrics)}
        for position, label in enumerate(labels):
            part = per_world[position * worlds : (position + 1) * worlds]
            columns[label] = [float(np.nanmean(part[:, index])) for index in metrics.values()]
    frame = pl.DataFrame(columns).fill_nan(None)
    if len(labels) == 2:
        frame = frame.with_columns((pl.col(labels[0]) - pl.col(labels[1])).alias("difference"))
    return frame


# --- Charts ------------------------------------------------------------------------------------------


def outcomes_chart(
    metrics: list[str], specs: dict[str, Metric], labels: list[str], rounds: int
) -> dict[str, Any]:
    """Small multiples, one panel per metric: the mean across worlds over rounds with its 10-90% band, the
    design against the baseline; the Vega-Lite spec of data named CURVES (the `curves` frame).

    Built once a run, its data added at each redraw: validating an Altair chart costs more than a chunk
    of rounds. Panels have fixed widths (a concat cannot size to its container) that fit FIT_WIDTH with
    their axes; the x axis spans the whole run from the start, so the lines grow into it."""
    columns = min(len(metrics), PANEL_COLUMNS)
    width = int((FIT_WIDTH - columns * AXIS_WIDTH - (columns - 1) * SPACING) / columns)
    colour = alt.Color(
        "run:N",
        title=None,
        scale=alt.Scale(domain=labels, range=[THIS_COLOUR, BASELINE_COLOUR][: len(labels)]),
        legend=alt.Legend(
            orient="bottom", symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=3, labelLimit=400
        ),
    )
    x = alt.X("round:Q", title="round", scale=alt.Scale(domain=[0, rounds - 1], nice=False))
    panels = []
    for name in metrics:
        bounded = name in specs and specs[name].bounded
        y = alt.Y("mean:Q", title="mean across worlds", scale=y_scale(bounded))
        base = alt.Chart().transform_filter(alt.datum.metric == name).encode(x=x, color=colour)
        band = base.mark_area(opacity=0.15).encode(
            y=alt.Y("q10:Q", title="mean across worlds", scale=y_scale(bounded)), y2="q90:Q"
        )
        line = base.mark_line(strokeWidth=2).encode(
            y=y,
            tooltip=[
                alt.Tooltip("run:N"),
                alt.Tooltip("round:Q", format=".1f"),
                alt.Tooltip("mean:Q", format=".4f", title=f"{name} (mean)"),
                alt.Tooltip("q10:Q", format=".4f", title="10% quantile"),
                alt.Tooltip("q90:Q", format=".4f", title="90% quantile"),
            ],
        )
        panels.append(alt.layer(band, line).properties(width=width, height=PANEL_HEIGHT, title=name))
    chart = alt.concat(*panels, data=alt.NamedData(CURVES), columns=columns, spacing=SPACING)
    return chart.resolve_scale(y="independent").to_dict()


# --- The page ------------------------------------------------------------------------------------------


def draw_controls(design: Design) -> dict[str, Any]:
    """The reward design's controls in columns, one per group; returns the game values they set."""
    params = GAMES[design.game].params.params
    values: dict[str, Any] = dict(design.fixed)
    for column, (heading, controls) in zip(st.columns(len(design.groups)), design.groups, strict=True):
        column.markdown(f"**{heading}**")
        for control in controls:
            if control.shown(values):
                values.update(control.draw(params[control.param], column))
    return values


def draw_learners(design: Design, values: dict[str, Any], rounds: int) -> dict[str, dict[str, Any]]:
    """A learner family per role, among those offered that fit the role with these game values."""
    spec = GAMES[design.game]
    resolved = spec.params.resolve(values)
    shapes, traits, fields = (
        spec.role_shapes(resolved),
        spec.role_traits(resolved),
        spec.role_fields(resolved),
    )
    chosen = {}
    for role, kinds in design.learners.items():
        configs = {}
        for kind in kinds:
            if kind not in LEARNERS:
                continue
            config = {"kind": kind, **design.learner_settings.get((role, kind), {})}
            try:
                check_learner(
                    resolve_learner(config, f"learners.{role}"),
                    role,
                    *shapes[role],
                    traits[role],
                    rounds,
                    spec.payoffs([resolved], role),
                    fields[role],
                )
            except ConfigError:
                continue  # this family cannot play the role here (its traits, its observation)
            configs[kind] = config
        kind = st.sidebar.selectbox(
            f"{role.capitalize()}s learn by",
            list(configs),
            key=f"{KEY}{design.game}_{role}_learner",
            format_func=lambda kind: f"{kind}: {LEARNERS[kind].doc}",
            help="The learner families (models/learners/) that can play this role with these settings, with "
            "their default parameters (the shipped studies' exploration for the election's q_learning).",
        )
        chosen[role] = configs[kind]
    return chosen


def plan_setup(
    design: Design,
    values: dict[str, Any],
    learners: dict[str, dict[str, Any]],
    rounds: int,
    worlds: int,
    seed: int,
    compare: bool,
) -> Setup:
    """The run's study plan and, where it differs from the design, the baseline's (same seeds)."""
    config = study_config(design.game, values, learners, rounds, worlds, seed)
    plan = plan_study(config)
    baseline = None
    if compare and any(plan.runs[0].game[key] != value for key, value in design.baseline.items()):
        baseline = plan_study({**config, "game": {**values, **design.baseline}})
    return Setup(design, config, plan, baseline)


def show(db: Path, token: Token, studies: pl.DataFrame) -> None:
    st.title("Playground")
    st.caption(
        "Choose a game, how its agents learn and the reward design, and watch a batch of worlds learn it. "
        "Every change reruns the batch from the same seeds: same settings, same curves. Beside it runs a "
        "baseline without the bias, on the same seeds, so the lines show what the design changes."
    )
    game = st.sidebar.selectbox(
        "Game", list(DESIGNS), key=KEY + "game", format_func=lambda name: f"{name}: {GAMES[name].doc}"
    )
    design = DESIGNS[game]
    worlds, agents, rounds, seed, compare = draw_sizes(design)
    values = {**draw_controls(design), GAMES[game].scale: agents}
    learners = draw_learners(design, values, rounds)
    try:
        setup = plan_setup(design, values, learners, rounds, worlds, seed, compare)
    except ConfigError as error:  # the controls' ranges should make this impossible
        st.error(f"These settings cannot run: {error}")
        return
    show_run(setup, compare)
    show_save(db, setup)


def draw_sizes(design: Design) -> tuple[int, int, int, int, bool]:
    """The batch's size, seed and baseline, in the sidebar: worlds, agents per world, rounds, seed."""
    sidebar, spec = st.sidebar, GAMES[design.game]
    scale = spec.params.params[spec.scale]
    worlds = sidebar.select_slider(
        "Worlds",
        WORLDS,
        value=START_WORLDS,
        key=KEY + "worlds",
        help="Independent worlds learning side by side, each with its own seed.",
    )
    agents = sidebar.select_slider(
        f"{spec.scale.removeprefix('n_').capitalize()} per world",
        design.agents,
        value=design.start_agents,
        key=KEY + spec.scale,
        help=f"`{spec.scale}`: {scale.doc}.",
    )
    rounds = sidebar.select_slider("Rounds", ROUNDS, value=START_ROUNDS, key=KEY + "rounds")
    seed = sidebar.number_input(
        "Seed", 0, 2**31 - 1, 0, key=KEY + "seed", help="The study seed every world's seed derives from."
    )
    settings = ", ".join(f"`{key}` = {value}" for key, value in design.baseline.items())
    compare = sidebar.toggle(
        f"Compare with {design.baseline_label}",
        value=True,
        key=KEY + "baseline",
        help=f"Runs the same worlds, on the same seeds, with {settings}.",
    )
    return worlds, agents, rounds, int(seed), compare


def show_run(setup: Setup, compare: bool) -> None:
    """Run the batch (or redraw the last run, where only the view changed) and show its outcomes."""
    design, spec = setup.design, setup.plan.game
    specs = metric_specs(spec.name)
    offered = [m.name for m in spec.metrics]
    principal = [name for name in design.outcomes(setup.plan.runs[0].game) if name in offered]
    metrics = st.multiselect(
        "Outcomes",
        offered,
        default=principal,
        key=f"{KEY}{spec.name}_outcomes_{'-'.join(principal)}",  # new principal outcomes, new defaults
        help="The game's metrics, a panel each.",
    )
    metrics = metrics or principal
    indices = {name: offered.index(name) for name in metrics}
    labels = [THIS_RUN] + ([f"baseline: {design.baseline_label}"] if setup.baseline else [])
    rounds, window = setup.rounds, window_for(setup.rounds)

    progress = st.progress(0.0, text="Starting…")
    headline_slot = st.empty()
    chart_slot = st.empty()
    chart = outcomes_chart(metrics, specs, labels, rounds)

    def draw(series: np.ndarray, done: int) -> None:
        frame = curves(series, setup.worlds, labels, indices, window)
        chart_slot.vega_lite_chart(spec={**chart, "datasets": {CURVES: frame}}, width="content")
        progress.progress(done / rounds, text=f"Round {done} of {rounds}")

    cached = st.session_state.get(RESULT_KEY)
    if cached is not None and cached["key"] == setup.key:
        series, seconds = cached["series"], cached["seconds"]
        draw(series, rounds)
    else:
        begun = time.perf_counter()
        series = step_live(setup, draw, chunk_for(rounds, window))
        seconds = time.perf_counter() - begun
        st.session_state[RESULT_KEY] = {"key": setup.key, "series": series, "seconds": seconds}
    ran = f"{setup.worlds} worlds" + (" and their baseline" if setup.baseline else "")
    progress.progress(1.0, text=f"{rounds} rounds of {ran} in {seconds:.1f} s")
    outcome = final_outcomes(
        series, setup.worlds, labels, indices | {design.headline: offered.index(design.headline)}
    )
    show_headline(headline_slot, outcome, design, labels)
    st.caption(
        f"Lines: the mean across the {setup.worlds} worlds of each run, each world averaged over windows of "
        f"{window} round{'s' * (window > 1)}; bands: the 10–90% range across worlds. "
        + baseline_note(setup, compare)
    )
    st.markdown("\n".join(f"- **{name}**: {specs[name].doc}." for name in metrics if name in specs))
    shown = outcome.filter(pl.col("metric").is_in(metrics))
    undefined = shown.filter(pl.col(THIS_RUN).is_null())["metric"].to_list()
    if undefined:
        st.caption(f"Undefined in these settings (no round defines them): {', '.join(undefined)}.")
    st.subheader("At the end")
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(
        "Each world's mean over the last tenth of rounds, then the mean over the worlds: a study's "
        "outcome, as the Study page shows it."
    )


def baseline_note(setup: Setup, compare: bool) -> str:
    design = setup.design
    if setup.baseline:
        settings = ", ".join(f"`{key}` = {value}" for key, value in design.baseline.items())
        return f"The baseline is the same batch on the same seeds with {settings}."
    return f"This design has {design.baseline_label}: it is its own baseline." if compare else ""


def show_headline(slot: Any, outcome: pl.DataFrame, design: Design, labels: list[str]) -> None:
    row = outcome.filter(pl.col("metric") == design.headline).row(0, named=True)
    value = row[THIS_RUN]
    delta = None
    if len(labels) == 2 and value is not None and row[labels[1]] is not None:
        delta = f"{value - row[labels[1]]:+.3f} against {design.baseline_label}"
    slot.metric(
        f"{design.headline} at the end (mean over worlds)",
        "undefined" if value is None else f"{value:.3f}",
        delta,
        delta_color="off",
        help=metric_specs(design.game)[design.headline].doc,
    )


def show_save(db: Path, setup: Setup) -> None:
    """Save the run into the results database as a study: the same plan through the study runner."""
    st.subheader("Keep it")
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    name = left.text_input(
        "Study name",
        value=setup.plan.name,
        key=f"{KEY}{setup.design.game}_study_name",
        help="1 to 64 letters, digits, '_' or '-'; the study id adds a hash of the "
        "settings, so other settings under the same name make another study.",
    )
    if not right.button("Save as a study", key=KEY + "save", type="primary", width="stretch"):
        return
    config = {
        **setup.config,
        "study": {**setup.config["study"], "name": name, "description": describe(setup)},
    }
    try:
        plan = plan_study(config)
        with st.spinner("Saving…"):
            report = run_study(plan, db, progress=False, workers=1)  # in this process, as the page ran
    except (ConfigError, store.StoreError) as error:
        st.error(f"The study was not saved: {error}")
        return
    again = " It was there already: same settings, same seed, same study." if not report.completed else ""
    st.success(
        f"Saved as study **{plan.name}** (`{plan.study_id}`) in `{db}`: {len(plan.runs)} runs of "
        f"{plan.rounds} rounds, the design's worlds (not the baseline's).{again} Open it on the **Study** "
        "page, or query its outcomes:",
        icon=":material/check_circle:",
    )
    st.code(
        f'python -m studies query --db {db} "SELECT metric, avg(value) AS outcome FROM final_metrics '
        f"JOIN runs USING (run_id) WHERE study_id = '{plan.study_id}' GROUP BY metric ORDER BY metric\"",
        language="bash",
        wrap_lines=True,
    )


def describe(setup: Setup) -> str:
    """The saved study's description: where it came from and what was set."""
    values = ", ".join(f"{key} = {value}" for key, value in setup.config["game"].items())
    learners = ", ".join(f"{role}s: {config['kind']}" for role, config in setup.config["learners"].items())
    return f"Saved from the Playground: {values}; {learners}."
