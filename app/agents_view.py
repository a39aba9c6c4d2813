"""The Agents page's data and charts, apart from the page: one run replayed in-process from its stored config
and seed, what its agents chose round by round, what its learners hold, and the election's platforms over
the electorate.

The store keeps a run's metrics, not its agents' choices. The same config and seed give the same numbers
(counter-based draws: a run's numbers depend neither on its batch nor on its worker), so the run is rebuilt
as the worker builds it (`build_batch` with one world) and stepped here, recording every round's actions.
The replay's metrics, computed as the worker computes them, are checked against the stored ones. No
streamlit here, so the tests check the numbers the page draws.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import altair as alt
import numpy as np
import polars as pl
import torch

from models.games import GAMES, get_game
from models.learners.base import Learner
from models.metrics import compute_rounds
from models.simulate import build_batch

# A replay runs in the explorer's process while someone waits, so only runs up to this many agent-rounds and
# rounds are replayed; larger ones show their stored metrics. One world's round costs a few milliseconds
# whatever its agents (measured 6 ms for the publication game with 100 researchers on a busy core, 2 ms for
# the election game with 101 voters), so the rounds are capped too: 3,000 rounds is 5-20 s.
MAX_REPLAY_AGENT_ROUNDS = 500_000
MAX_REPLAY_ROUNDS = 3_000
MAX_SNAPSHOTS = 60  # rounds at which the learners' holdings are kept (evenly spaced, the last always)
MAX_SNAPSHOT_VALUES = 4_000_000  # numbers kept over all snapshots: fewer snapshots for large tables
MAX_CHART_ROUNDS = 300  # a time course averages windows of rounds to draw at most this many per category
MAX_HEATMAP_AGENTS = 200
MAX_WIDE_ENTRIES = 40  # a holdings table with more entries (2-D platform grids) is one row per entry
TOLERANCE = 1e-9  # relative: the replay "matches" a stored value within float64 rounding of the same sums
CHART_HEIGHT = 320
# The stored metrics that describe what the agents chose, per game, for runs too large to replay.
CHOICE_METRICS = {
    "publication": ("novel_share", "mean_rigor", "mean_effort", "mean_power", "mean_qrp"),
    "election": ("turnout", "sincere_vote_share", "platform_polarization", "platform_eccentricity"),
}


# --- What a run is --------------------------------------------------------------------------------------


def agents_per_world(game: str, params: Mapping[str, Any]) -> int:
    return sum(agents for agents, _ in get_game(game).role_shapes(params).values())


def replay_refusal(game: str, params: Mapping[str, Any], rounds: int) -> str | None:
    """Why a run is not replayed here (None: it is): an unknown game, or too much work to wait for."""
    if game not in GAMES:
        return (
            f"the game {game!r} is not registered in this process (a study's extension adds it): "
            "only its stored metrics are shown."
        )
    if rounds > MAX_REPLAY_ROUNDS:
        return (
            f"the run has {rounds:,} rounds, more than the {MAX_REPLAY_ROUNDS:,} this page replays while you "
            "wait: only its stored metrics are shown. A shorter run can be replayed."
        )
    work = agents_per_world(game, params) * rounds
    if work > MAX_REPLAY_AGENT_ROUNDS:
        return (
            f"the run has {work:,} agent-rounds ({agents_per_world(game, params):,} agents x {rounds:,} "
            f"rounds), more than the {MAX_REPLAY_AGENT_ROUNDS:,} this page replays while you wait: only its "
            "stored metrics are shown. A smaller study (fewer agents or rounds) can be replayed."
        )
    return None


# --- Naming actions ----------------------------------------------------------------------------------------


def platform_values(params: Mapping[str, Any]) -> list[float]:
    """The grid's positions on one dimension, as the election rules place them."""
    grid, extent = params["platform_grid"], params["platform_extent"]
    return [(digit / (grid - 1) * 2 - 1) * extent for digit in range(grid)]


def action_labels(game: str, params: Mapping[str, Any], role: str, n_actions: int) -> list[str]:
    """Each action's name in the field's words, from the game's own action space; `action k` where the game
    names none."""
    spec = get_game(game)
    labels: list[str] = []
    institution = next((i for i in spec.institutions if i.role == role), None)
    if institution is not None:
        labels = [str(choice) for choice in institution.choices]
    elif game == "publication" and role == "researcher":
        from models.games.publication import action_names

        labels = action_names(params)
    elif game == "publication" and role == "journal":
        levels = params["journal_levels"]
        labels = [
            f"publish negatives {negative / (levels - 1):.2g}, novelty preference {keep / (levels - 1):.2g}"
            for negative in range(levels)
            for keep in range(levels)
        ]
    elif game == "election" and role == "voter":
        labels = ["abstain"] + (
            [f"support candidate {c}" for c in range(params["n_candidates"])]
            if params["strategic_voting"]
            else ["vote"]
        )
    elif game == "election" and role == "candidate":
        values = platform_values(params)
        grid = params["platform_grid"]
        if params["dimensions"] == 1:
            labels = [f"platform {value:+.2f}" for value in values]
        else:
            labels = [
                f"platform ({values[a % grid]:+.2f}, {values[a // grid % grid]:+.2f})"
                for a in range(n_actions)
            ]
    elif game == "matrix" and role in ("row", "column"):
        from models.games.matrix import action_names

        labels = list(action_names(dict(params))[0 if role == "row" else 1])
    return labels if len(labels) == n_actions else [f"action {a}" for a in range(n_actions)]


def action_groupings(game: str, params: Mapping[str, Any], role: str, n_actions: int) -> dict[str, list[str]]:
    """Ways to read a role's choices, each a category per action (in action order): the publication game's
    novel vs replication and rigor levels, a 2-D platform's coordinates, and every action by its name."""
    groupings: dict[str, list[str]] = {}
    labels = action_labels(game, params, role, n_actions)
    if game == "publication" and role == "researcher":
        from models.games.publication.actions import decode
        from models.games.publication.methods import grids

        replication, level, power, qrp = (part.tolist() for part in decode(torch.arange(n_actions), params))
        methods, powers, qrps = grids(params)
        method = "effort" if params["study_model"] == "effort" else "rigor"
        groupings["novel vs replication"] = ["replication" if r else "novel" for r in replication]
        groupings[method] = [f"{method} {methods[k]:.3g}" for k in level]
        if params["power_levels"] > 1:
            groupings["power"] = [f"power {powers[k]:.2f}" for k in power]
        if params["qrp_levels"] > 1:
            groupings["u (questionable research practices)"] = [f"u {qrps[k]:.2f}" for k in qrp]
    elif game == "election" and role == "voter":
        groupings["abstain vs vote"] = ["abstain"] + ["vote"] * (n_actions - 1)
    elif game == "election" and role == "candidate" and params["dimensions"] == 2:
        values, grid = platform_values(params), params["platform_grid"]
        groupings["first coordinate"] = [f"{values[a % grid]:+.2f}" for a in range(n_actions)]
        groupings["second coordinate"] = [f"{values[a // grid % grid]:+.2f}" for a in range(n_actions)]
    groupings["every action"] = labels
    return groupings


# --- The replay -----------------------------------------------------------------------------------------


@dataclass
class Held:
    """One thing a role's learner holds (models.learners.base.Holding), at the snapshot rounds:
    values (snapshots, agents, entries)."""

    role: str
    what: str
    entries: list[str]
    values: np.ndarray


@dataclass
class Replay:
    """What the page shows of one replayed run; numpy and polars only, so that streamlit can cache it."""

    game: str
    rounds: int
    roles: dict[str, tuple[int, int]]  # (agents, actions) per role
    kinds: dict[str, str]  # each role's learner family
    shares: dict[str, np.ndarray]  # discrete roles: (rounds, actions) share of agents choosing each action
    traits: dict[str, tuple[list[str], np.ndarray]]  # trait roles: names, (rounds, traits, [mean, q10, q90])
    snapshot_steps: list[int]  # the rounds after which the holdings were kept
    held: list[Held]
    metrics: pl.DataFrame  # step, metric, value: the recorded rounds' metrics, as the worker computes them
    platforms: np.ndarray | None = None  # election: (rounds, candidates, dimensions)
    winners: np.ndarray | None = None  # election: (rounds,)
    voters: np.ndarray | None = None  # election: (voters, dimensions), the run's electorate
    labels: dict[str, list[str]] = field(default_factory=dict)  # each role's action names


def snapshot_rounds(rounds: int, values_per_snapshot: int) -> list[int]:
    """Evenly spaced rounds at which to keep the learners' holdings, the first and last included; fewer
    where a snapshot is large."""
    count = max(2, min(MAX_SNAPSHOTS, rounds, MAX_SNAPSHOT_VALUES // max(values_per_snapshot, 1)))
    return sorted({round(k * (rounds - 1) / (count - 1)) for k in range(count)}) if rounds > 1 else [0]


def holdings_of(learners: Mapping[str, Learner]) -> list[tuple[str, str, tuple[str, ...], np.ndarray]]:
    """Every role's holdings in the batch's one world: (role, what, entries, (agents, entries))."""
    return [
        (role, held.what, held.entries, held.values[0].detach().float().cpu().numpy().copy())
        for role, learner in learners.items()
        for held in learner.holdings()
    ]


def replay(
    game: str,
    params: dict[str, Any],
    learners: dict[str, dict[str, Any]],
    seed: int,
    rounds: int,
    record_every: int = 1,
    on_round: Callable[[int], None] | None = None,
) -> Replay:
    """Rebuild a run's batch from its resolved config and seed, as the worker does with one world, and step
    it, recording each round's actions, the holdings at snapshot rounds and the recorded rounds' metrics."""
    spec = get_game(game)
    with torch.inference_mode():
        batch = build_batch(game, [params], learners, [seed])
        engine = batch.engine
        batch.pending_actions()  # round 0's actions, read before it is played
        first = holdings_of(batch.learners)
        size = sum(values.size for *_, values in first) or 1
        snapshots = set(snapshot_rounds(rounds, size))
        shares: dict[str, list[np.ndarray]] = {}
        traits: dict[str, list[np.ndarray]] = {}
        kept: list[list[tuple[str, str, tuple[str, ...], np.ndarray]]] = []
        recorded, platforms, winners = [], [], []
        for t in range(rounds):
            for role, actions in batch.next_actions.items():  # read now: a learner may reuse the tensor
                played = actions[0]
                if played.is_floating_point():
                    quantiles = torch.quantile(
                        played.double(), torch.tensor([0.1, 0.9], dtype=torch.double), 0
                    )
                    summary = torch.stack([played.double().mean(0), quantiles[0], quantiles[1]], -1)
                    traits.setdefault(role, []).append(summary.numpy())
                else:
                    counts = torch.bincount(played.long(), minlength=batch.roles[role][1])
                    shares.setdefault(role, []).append((counts.double() / played.numel()).numpy())
            result = batch.round()
            if t % record_every == 0:
                recorded.append(result.tallies)
            if game == "election":
                platforms.append(result.tallies.platforms[0].double().numpy().copy())
                winners.append(int(result.tallies.winner[0]))
            if t in snapshots:
                kept.append(holdings_of(batch.learners))
            if on_round is not None:
                on_round(t)
        series = compute_rounds(spec.metrics, recorded)[:, 0, :].numpy()  # (recorded, metrics)
    steps = np.arange(series.shape[0]) * record_every
    metric_rows = pl.DataFrame(
        {
            "step": np.repeat(steps, series.shape[1]).astype(np.int64),
            "metric": [m.name for m in spec.metrics] * series.shape[0],
            "value": series.reshape(-1),
        }
    ).filter(pl.col("value").is_not_nan())
    held = [
        Held(role, what, list(entries), np.stack([snapshot[k][3] for snapshot in kept]))
        for k, (role, what, entries, _) in enumerate(kept[0])
    ]
    roles = dict(batch.roles)
    labels = {role: action_labels(game, params, role, n_actions) for role, (_, n_actions) in roles.items()}
    trait_names = {role: [t.name for t in spec.role_traits(params)[role]] for role in traits}
    return Replay(
        game=game,
        rounds=rounds,
        roles=roles,
        kinds={role: learner.kind for role, learner in batch.learners.items()},
        shares={role: np.stack(rows) for role, rows in shares.items()},
        traits={role: (trait_names[role], np.stack(rows)) for role, rows in traits.items()},
        snapshot_steps=sorted(snapshots),
        held=held,
        metrics=metric_rows,
        platforms=np.stack(platforms) if platforms else None,
        winners=np.array(winners) if winners else None,
        voters=engine.voters[0].double().numpy().copy() if game == "election" else None,
        labels=labels,
    )


def replay_run(game: str, config: str, seed: int, record_every: int) -> Replay:
    """A run replayed from its `runs` row: game, config JSON (its resolved game and learner parameters and
    its rounds), seed and record_every."""
    resolved = json.loads(config)
    return replay(game, resolved["game"], resolved["learners"], seed, resolved["rounds"], record_every)


# --- Replay against the store ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """How the replay's metrics compare with the stored ones of the same run."""

    compared: int  # (step, metric) values present in both
    differing: int  # of them, further apart than TOLERANCE
    largest: float  # the largest absolute difference
    only_stored: int  # values the store has and the replay not (or the other way round, below)
    only_replayed: int
    metrics: tuple[str, ...]  # the metrics that differ somewhere

    @property
    def matches(self) -> bool:
        return self.compared > 0 and not (self.differing or self.only_stored or self.only_replayed)


def agreement(replayed: pl.DataFrame, stored: pl.DataFrame) -> Agreement:
    """Compare the replay's (step, metric, value) rows with the stored ones, within relative TOLERANCE."""
    keys = ["step", "metric"]
    left = replayed.select(pl.col("step").cast(pl.Int64), pl.col("metric").cast(pl.String), "value")
    right = stored.select(pl.col("step").cast(pl.Int64), pl.col("metric").cast(pl.String), "value")
    both = left.join(right, on=keys, suffix="_stored")
    gap = (both["value"] - both["value_stored"]).abs()
    bad = both.filter(gap > TOLERANCE * (1 + both["value_stored"].abs()))
    return Agreement(
        compared=both.height,
        differing=bad.height,
        largest=float(gap.max()) if both.height else 0.0,
        only_stored=right.join(left, on=keys, how="anti").height,
        only_replayed=left.join(right, on=keys, how="anti").height,
        metrics=tuple(sorted(set(bad["metric"]))),
    )


# --- Frames the charts draw -----------------------------------------------------------------------------


def window_for(rounds: int) -> int:
    return max(1, math.ceil(rounds / MAX_CHART_ROUNDS))


def choice_shares(replayed: Replay, role: str, grouping: str, params: Mapping[str, Any]) -> pl.DataFrame:
    """Per round, the share of the role's agents choosing each category of a grouping: step, choice,
    share, order (the category's place in action order). Shares sum to 1 in every round."""
    n_actions = replayed.roles[role][1]
    categories = action_groupings(replayed.game, params, role, n_actions)[grouping]
    order = list(dict.fromkeys(categories))
    member = np.zeros((n_actions, len(order)))
    member[np.arange(n_actions), [order.index(c) for c in categories]] = 1.0
    grouped = replayed.shares[role] @ member  # (rounds, categories)
    rounds = grouped.shape[0]
    return pl.DataFrame(
        {
            "step": np.repeat(np.arange(rounds), len(order)),
            "choice": order * rounds,
            "share": grouped.reshape(-1),
            "order": list(range(len(order))) * rounds,
        }
    )


def averaged_shares(shares: pl.DataFrame, window: int) -> pl.DataFrame:
    """Shares averaged over consecutive windows of rounds (still a distribution in every window)."""
    if window <= 1:
        return shares
    return (
        shares.with_columns(window=pl.col("step") // window)
        .group_by("window", "choice", "order", maintain_order=True)
        .agg(pl.col("step").mean(), pl.col("share").mean())
        .drop("window")
        .select("step", "choice", "share", "order")
    )


def trait_course(replayed: Replay, role: str) -> pl.DataFrame:
    """Per round and trait: the mean across agents and the 10% and 90% quantiles."""
    names, summary = replayed.traits[role]
    rounds = summary.shape[0]
    return pl.DataFrame(
        {
            "step": np.repeat(np.arange(rounds), len(names)),
            "trait": names * rounds,
            "mean": summary[..., 0].reshape(-1),
            "q10": summary[..., 1].reshape(-1),
            "q90": summary[..., 2].reshape(-1),
        }
    )


def snapshot_at(replayed: Replay, step: int) -> int:
    """The index of the last snapshot taken at or before `step` (the first one if none is)."""
    return max([k for k, s in enumerate(replayed.snapshot_steps) if s <= step] or [0])


def entry_names(replayed: Replay, held: Held) -> list[str]:
    return held.entries or replayed.labels[held.role]


def holdings_long(replayed: Replay, held: Held, snapshot: int) -> pl.DataFrame:
    """One snapshot of a holding in long form: agent, entry, order (the entry's place), value."""
    values = held.values[snapshot]  # (agents, entries)
    agents, entries = values.shape
    names = entry_names(replayed, held)
    return pl.DataFrame(
        {
            "agent": np.repeat(np.arange(agents), entries),
            "entry": names * agents,
            "order": list(range(entries)) * agents,
            "value": values.reshape(-1).astype(np.float64),
        }
    )


def holdings_table(replayed: Replay, held: Held, snapshot: int) -> pl.DataFrame:
    """The holding as a table: one row per agent with a column per entry, or, where there are too many
    entries to read across (a 2-D platform grid), one row per entry with its mean, lowest and highest over
    the agents."""
    values = held.values[snapshot].astype(np.float64)
    names = entry_names(replayed, held)
    if len(names) <= MAX_WIDE_ENTRIES:
        columns = {"agent": [f"{held.role}_{a}" for a in range(values.shape[0])]}
        columns.update({name: values[:, k] for k, name in enumerate(names)})
        return pl.DataFrame(columns)
    return pl.DataFrame(
        {"entry": names, "mean": values.mean(0), "lowest": values.min(0), "highest": values.max(0)}
    )


def platform_frame(replayed: Replay, step: int) -> pl.DataFrame:
    """The electorate and the candidates' platforms at a round, one frame for one chart: kind ('voter' or
    'candidate'), who, x, y (0 in 1-D), won (the round's winner)."""
    voters, platforms = replayed.voters, replayed.platforms[step]
    dimensions = voters.shape[1]
    n_candidates = platforms.shape[0]

    def coordinate(points: np.ndarray, d: int) -> np.ndarray:
        return points[:, d] if d < dimensions else np.zeros(len(points))

    return pl.DataFrame(
        {
            "kind": ["voter"] * len(voters) + ["candidate"] * n_candidates,
            "who": [f"voter {v}" for v in range(len(voters))]
            + [f"candidate {c}" for c in range(n_candidates)],
            "x": np.concatenate([coordinate(voters, 0), coordinate(platforms, 0)]),
            "y": np.concatenate([coordinate(voters, 1), coordinate(platforms, 1)]),
            "won": [False] * len(voters) + [c == replayed.winners[step] for c in range(n_candidates)],
        }
    )


def platform_course(replayed: Replay) -> pl.DataFrame:
    """Each candidate's platform over the rounds: step, candidate, coordinate, position."""
    rounds, n_candidates, dimensions = replayed.platforms.shape
    names = ["position"] if dimensions == 1 else ["first coordinate", "second coordinate"]
    return pl.DataFrame(
        {
            "step": np.repeat(np.arange(rounds), n_candidates * dimensions),
            "candidate": np.tile(
                np.repeat([f"candidate {c}" for c in range(n_candidates)], dimensions), rounds
            ),
            "coordinate": names * (rounds * n_candidates),
            "position": replayed.platforms.reshape(-1),
        }
    )


# --- Charts ---------------------------------------------------------------------------------------------


def categories_scale(count: int) -> alt.Scale:
    return alt.Scale(scheme="tableau10" if count <= 10 else "tableau20" if count <= 20 else "viridis")


def choices_chart(shares: pl.DataFrame, role: str, grouping: str) -> alt.Chart:
    """Stacked shares of the role's agents per category over rounds: the distribution of their choices."""
    order = shares.unique("order").sort("order")["choice"].to_list()
    colour = alt.Color(
        "choice:N",
        sort=order,
        title=grouping,
        scale=categories_scale(len(order)),
        legend=alt.Legend(labelLimit=320, titleLimit=320),
    )
    return (
        alt.Chart(shares)
        .mark_area(interpolate="step-after")
        .encode(
            x=alt.X("step:Q", title="round"),
            y=alt.Y("share:Q", title=f"share of {role}s", stack="zero", scale=alt.Scale(domain=[0, 1])),
            color=colour,
            order=alt.Order("order:Q"),
            tooltip=[
                alt.Tooltip("step:Q", title="round", format=".0f"),
                alt.Tooltip("choice:N", title=grouping),
                alt.Tooltip("share:Q", format=".3f"),
            ],
        )
        .properties(height=CHART_HEIGHT)
    )


def traits_chart(course: pl.DataFrame, role: str) -> alt.LayerChart:
    """Each trait's mean over the role's agents per round, with the 10-90% range across them."""
    base = alt.Chart(course).encode(
        x=alt.X("step:Q", title="round"), color=alt.Color("trait:N", title="trait")
    )
    band = base.mark_area(opacity=0.2).encode(y=alt.Y("q10:Q", title=f"{role}s' trait"), y2="q90:Q")
    line = base.mark_line().encode(
        y="mean:Q",
        tooltip=[
            alt.Tooltip("step:Q", title="round"),
            alt.Tooltip("trait:N"),
            alt.Tooltip("mean:Q", format=".4g"),
            alt.Tooltip("q10:Q", format=".4g", title="10% quantile"),
            alt.Tooltip("q90:Q", format=".4g", title="90% quantile"),
        ],
    )
    return alt.layer(band, line).properties(height=CHART_HEIGHT)


def holdings_heatmap(frame: pl.DataFrame, role: str, what: str) -> alt.Chart:
    """Agents (rows) by entries (columns), coloured by the value held."""
    order = frame.unique("order").sort("order")["entry"].to_list()
    return (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("entry:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40, labelLimit=200)),
            y=alt.Y("agent:O", title=role),
            color=alt.Color(
                "value:Q", title=what, scale=alt.Scale(scheme="viridis"), legend=alt.Legend(titleLimit=320)
            ),
            tooltip=[
                alt.Tooltip("agent:O", title=role),
                alt.Tooltip("entry:N", title="entry"),
                alt.Tooltip("value:Q", title=what, format=".4g"),
            ],
        )
        .properties(height=min(CHART_HEIGHT * 2, max(120, 12 * frame["agent"].n_unique())))
    )


def holdings_bars(frame: pl.DataFrame, role: str, what: str) -> alt.LayerChart:
    """Per entry, the mean over the role's agents (bar) and their 10-90% range (whisker)."""
    summary = (
        frame.group_by("entry", "order")
        .agg(
            mean=pl.col("value").mean(),
            q10=pl.col("value").quantile(0.1, interpolation="linear"),
            q90=pl.col("value").quantile(0.9, interpolation="linear"),
        )
        .sort("order")
    )
    order = summary["entry"].to_list()
    x = alt.X("entry:N", sort=order, title=None, axis=alt.Axis(labelAngle=-40, labelLimit=200))
    base = alt.Chart(summary).encode(x=x)
    bars = base.mark_bar(opacity=0.8).encode(
        y=alt.Y("mean:Q", title=f"{what} (mean over {role}s)"),
        tooltip=[
            alt.Tooltip("entry:N"),
            alt.Tooltip("mean:Q", format=".4g"),
            alt.Tooltip("q10:Q", format=".4g", title="10% quantile"),
            alt.Tooltip("q90:Q", format=".4g", title="90% quantile"),
        ],
    )
    whiskers = base.mark_errorbar(ticks=True).encode(y=alt.Y("q10:Q", title=""), y2="q90:Q")
    return alt.layer(bars, whiskers).properties(height=CHART_HEIGHT)


def platform_chart(frame: pl.DataFrame, dimensions: int, extent: float) -> alt.LayerChart:
    """The candidates' platforms over the electorate: in 1-D over the histogram of the voters' ideal points,
    in 2-D as points among the voters'. One dataset; each layer filters its kind."""
    candidates = alt.datum.kind == "candidate"
    low, high = min(-extent, frame["x"].min()), max(extent, frame["x"].max())
    x = alt.X(
        "x:Q",
        title="policy position" if dimensions == 1 else "first policy dimension",
        scale=alt.Scale(domain=[low, high]),
    )
    colour = alt.Color("who:N", title="candidate", scale=alt.Scale(scheme="tableau10"))
    tooltip = [alt.Tooltip("who:N", title="who"), alt.Tooltip("x:Q", format=".3f"), alt.Tooltip("won:N")]
    base = alt.Chart(frame)
    if dimensions == 1:
        bins = alt.Bin(maxbins=40, extent=[low, high])
        voters = (
            base.transform_filter(alt.datum.kind == "voter")
            .mark_bar(color="#b9c3cf")
            .encode(x=alt.X("x:Q", bin=bins, title="policy position"), y=alt.Y("count():Q", title="voters"))
        )
        platforms = (
            base.transform_filter(candidates)
            .mark_rule(strokeWidth=3)
            .encode(
                x=x,
                color=colour,
                strokeDash=alt.condition(alt.datum.won, alt.value([1, 0]), alt.value([6, 4])),
                tooltip=tooltip,
            )
        )
        return alt.layer(voters, platforms).properties(height=CHART_HEIGHT)
    y = alt.Y("y:Q", title="second policy dimension", scale=alt.Scale(domain=[-extent, extent]))
    voters = (
        base.transform_filter(alt.datum.kind == "voter")
        .mark_circle(size=18, color="#8a96a3", opacity=0.5)
        .encode(x=x, y=y, tooltip=[alt.Tooltip("who:N"), alt.Tooltip("x:Q"), alt.Tooltip("y:Q")])
    )
    platforms = (
        base.transform_filter(candidates)
        .mark_point(size=220, filled=True, stroke="black", strokeWidth=1)
        .encode(
            x=x,
            y=y,
            color=colour,
            shape=alt.Shape("won:N", title="won this round"),
            tooltip=[*tooltip, alt.Tooltip("y:Q", format=".3f")],
        )
    )
    return alt.layer(voters, platforms).properties(height=CHART_HEIGHT + 120)


def platform_course_chart(course: pl.DataFrame, step: int) -> alt.LayerChart:
    """Each candidate's platform over the rounds, a rule at the round shown above."""
    lines = (
        alt.Chart(course)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("step:Q", title="round"),
            y=alt.Y("position:Q", title="platform"),
            color=alt.Color("candidate:N", title="candidate", scale=alt.Scale(scheme="tableau10")),
            strokeDash=alt.StrokeDash("coordinate:N", title="coordinate"),
            tooltip=["step:Q", "candidate:N", "coordinate:N", alt.Tooltip("position:Q", format=".3f")],
        )
    )
    rule = alt.Chart(course).mark_rule(color="black", strokeDash=[4, 4]).encode(x=alt.datum(step))
    return alt.layer(lines, rule).properties(height=CHART_HEIGHT - 80)


def stored_choices_chart(frame: pl.DataFrame) -> alt.Chart:
    """The stored metrics that describe the agents' choices, one line each, for runs not replayed."""
    return (
        alt.Chart(frame)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="round"),
            y=alt.Y("value:Q", title="value"),
            color=alt.Color("metric:N", title="metric"),
            tooltip=["step:Q", "metric:N", alt.Tooltip("value:Q", format=".4g")],
        )
        .properties(height=CHART_HEIGHT)
    )
