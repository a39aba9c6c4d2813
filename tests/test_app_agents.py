"""The Agents page: a run replayed from its stored config and seed, its agents' choices, its learners'
holdings and the election's platforms, driven headless with AppTest against tiny studies run in-process."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from helpers import learner
from streamlit.testing.v1 import AppTest
from test_app import chart_data, charts, open_page, page_text, start, study_id, table

from models.games import get_game
from models.simulate import build_batch, simulate
from studies import store
from studies.config import plan_study
from studies.runner import run_study

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "app"))  # as `streamlit run` does
import agents_view as view

PUBLICATION = {
    "study": {"name": "agents_publication", "rounds": 30, "replications": 1, "seed": 1},
    "game": {"n_researchers": 20},
    "sweep": {"publish_null_prob": [0.0, 1.0]},
}
ELECTION = {  # a 1-D and a 2-D electorate; metrics every other round, so the replay is compared there only
    "study": {"name": "agents_election", "game": "election", "rounds": 20, "replications": 1, "seed": 3,
              "record_every": 2},
    "game": {"n_voters": 15, "platform_grid": 5},
    "sweep": {"dimensions": [1, 2]},
}  # fmt: skip


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An election study, then a publication study (created last, so the page opens on it)."""
    db = tmp_path_factory.mktemp("agents") / "results.duckdb"
    for config in (ELECTION, PUBLICATION):
        run_study(plan_study(config), db, progress=False)
    return db


def runs_of(db: Path, name: str) -> list[dict[str, Any]]:
    return store.query(
        db,
        "SELECT run_id, game, design_point, replicate, seed, config, record_every FROM runs "
        "WHERE study_id = ? ORDER BY design_point",
        [study_id(db, name)],
    ).to_dicts()


def stored_metrics(db: Path, run_id: str) -> pl.DataFrame:
    return store.query(db, "SELECT step, metric, value FROM metrics WHERE run_id = ?", [run_id])


def replayed(run: dict[str, Any]) -> view.Replay:
    return view.replay_run(run["game"], run["config"], run["seed"], run["record_every"])


def chart_with(at: AppTest, column: str) -> int:
    """The index of the (only) chart whose data has this column."""
    (index,) = [
        k
        for k, chart in enumerate(at.get("vega_lite_chart"))
        if len(chart.proto.datasets) == 1 and column in chart_data(at, k).columns
    ]
    return index


def agents_page(monkeypatch: pytest.MonkeyPatch, db: Path, study: str | None = None) -> AppTest:
    at = open_page(start(monkeypatch, db), "Agents")
    if study is not None:
        at.selectbox(key="agents_study").set_value(study_id(db, study)).run()
        assert not at.exception, at.exception
    return at


# --- The replay -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["agents_publication", "agents_election"])
def test_the_replay_gives_the_stored_metrics_and_distributions(results: Path, name: str) -> None:
    for run in runs_of(results, name):
        replay = replayed(run)
        stored = stored_metrics(results, run["run_id"])
        agreement = view.agreement(replay.metrics, stored)
        assert agreement.matches, agreement
        assert agreement.compared == stored.height > 0
        for role, shares in replay.shares.items():  # every round a distribution over the role's actions
            assert shares.shape == (replay.rounds, replay.roles[role][1])
            np.testing.assert_allclose(shares.sum(1), 1.0, atol=1e-12)
            assert (shares >= 0).all()


def test_a_changed_stored_value_is_told_apart(results: Path) -> None:
    (run, _) = runs_of(results, "agents_publication")
    stored = stored_metrics(results, run["run_id"])
    changed = stored.with_columns(
        pl.when((pl.col("step") == 3) & (pl.col("metric") == "mean_rigor"))
        .then(pl.col("value") + 0.01)
        .otherwise(pl.col("value"))
        .alias("value")
    )
    agreement = view.agreement(replayed(run).metrics, changed)
    assert not agreement.matches
    assert (agreement.differing, agreement.metrics) == (1, ("mean_rigor",))
    assert agreement.largest == pytest.approx(0.01)


# (game, game parameters, role, learner config): every family that holds something, in a game it fits
FAMILIES = [
    ("publication", {"n_researchers": 12}, "researcher", learner("q_learning")),
    ("publication", {"n_researchers": 12}, "researcher", learner("policy_gradient", hidden=4)),
    ("publication", {"n_researchers": 12}, "researcher", learner("actor_critic", hidden=4)),
    ("publication", {"n_researchers": 12}, "researcher", learner("imitation")),
    ("publication", {"n_researchers": 12}, "researcher", learner("mean_field_q")),
    ("publication", {"n_researchers": 12}, "researcher", learner("fixed")),
    ("publication", {"n_researchers": 12, "study_model": "effort"}, "researcher",
     learner("evolution", sample_size=3)),
    ("matrix", {"n_agents": 6}, "row", learner("fictitious_play", smooth=0.1)),
    ("matrix", {"n_agents": 6}, "row", learner("level_k", depth=2)),
    ("matrix", {"n_agents": 6}, "row", learner("lola")),
    ("election", {"n_voters": 9, "n_candidates": 2}, "candidate", learner("fixed_actions", actions=[3, 17])),
]  # fmt: skip


@pytest.mark.parametrize(("game", "params", "role", "config"), FAMILIES, ids=[f[3]["kind"] for f in FAMILIES])
def test_every_learner_family_shows_what_it_holds_without_changing_the_run(
    game: str, params: dict[str, Any], role: str, config: dict[str, Any]
) -> None:
    """Holdings per agent, finite, their entries the role's actions or named; reading them every round (as
    the replay does) leaves the run's numbers as they are."""
    spec = get_game(game)
    world = spec.params.resolve(params, "game")
    learners = {name: learner("q_learning") for name in spec.role_names if name not in spec.optional_roles}
    learners[role] = config
    rounds = 8
    replay = view.replay(game, world, learners, 5, rounds)
    untouched = simulate(game, [world], learners, [5], rounds)[:, 0, :].numpy()
    expected = untouched.reshape(-1)
    got = pl.DataFrame({"step": np.repeat(np.arange(rounds), len(spec.metrics)),
                        "metric": [m.name for m in spec.metrics] * rounds, "value": expected})  # fmt: skip
    assert view.agreement(replay.metrics, got.filter(pl.col("value").is_not_nan())).matches
    held = [h for h in replay.held if h.role == role]
    assert held, f"{config['kind']} shows nothing"
    agents, actions = replay.roles[role]
    for holding in held:
        assert holding.values.shape[:2] == (len(replay.snapshot_steps), agents)
        assert np.isfinite(holding.values).all()
        assert len(view.entry_names(replay, holding)) == holding.values.shape[2]
        if not holding.entries:
            assert holding.values.shape[2] == actions
        if "probability" in holding.what:
            np.testing.assert_allclose(holding.values.sum(-1), 1.0, rtol=1e-5)


def test_a_learner_without_state_holds_nothing() -> None:
    """Laver's sticker keeps its ideal point: nothing to show, and the page says so rather than failing."""
    spec = get_game("election")
    world = spec.params.resolve({"n_voters": 9, "platform_space": "continuous"}, "game")
    learners = {"voter": learner("q_learning"), "candidate": learner("sticker")}
    batch = build_batch("election", [world], learners, [1])
    assert batch.learners["candidate"].holdings() == []
    assert batch.learners["voter"].holdings()[0].values.shape == (1, 9, 2)


def test_large_runs_are_not_replayed() -> None:
    world = get_game("publication").params.resolve({"n_researchers": 1000}, "game")
    assert view.replay_refusal("publication", world, 10) is None
    assert "agent-rounds" in view.replay_refusal("publication", world, 1000)
    small = get_game("publication").params.resolve({"n_researchers": 2}, "game")
    assert "rounds" in view.replay_refusal("publication", small, view.MAX_REPLAY_ROUNDS + 1)


# --- The page ---------------------------------------------------------------------------------------------


def test_a_publication_run_on_the_page(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = agents_page(monkeypatch, results)
    assert at.selectbox(key="agents_study").value == study_id(results, "agents_publication")
    run = runs_of(results, "agents_publication")[0]
    assert at.selectbox(key="agents_point").value == run["design_point"]
    assert at.selectbox(key="agents_run").value == run["replicate"]
    assert [s.value for s in at.success] and "replay matches the stored run" in at.success[0].value
    assert not at.warning
    assert at.selectbox(key="agents_role").value == "researcher"

    # novel vs replication, the first grouping: per round a distribution, its novel share the stored one
    grouping = at.selectbox(key="agents_grouping_researcher")
    assert grouping.value == "novel vs replication"
    shares = chart_data(at, chart_with(at, "share"))
    assert set(shares["choice"]) == {"novel", "replication"}
    totals = shares.group_by("step").agg(pl.col("share").sum())
    assert totals.height == 30 and totals["share"].to_numpy() == pytest.approx(1.0)
    stored = stored_metrics(results, run["run_id"])
    novel = shares.filter(pl.col("choice") == "novel").sort("step")["share"]
    stored_novel = stored.filter(pl.col("metric") == "novel_share").sort("step")["value"]
    assert novel.to_numpy() == pytest.approx(stored_novel.to_numpy())

    # the rigor levels: their mean is the stored mean rigor
    grouping.set_value("rigor").run()
    assert not at.exception, at.exception
    rigor = chart_data(at, chart_with(at, "share"))
    mean = rigor.with_columns(level=pl.col("choice").str.replace("rigor ", "").cast(pl.Float64))
    mean = mean.group_by("step").agg((pl.col("level") * pl.col("share")).sum()).sort("step")["level"]
    stored_rigor = stored.filter(pl.col("metric") == "mean_rigor").sort("step")["value"]
    assert mean.to_numpy() == pytest.approx(stored_rigor.to_numpy(), abs=1e-6)

    # what the q-learners hold: one row per researcher, a column per action (named), finite values
    (holdings,) = [table(at, k) for k in range(len(at.dataframe))]
    actions = view.action_labels("publication", json.loads(run["config"])["game"], "researcher", 6)
    assert holdings.columns == ["agent", *actions]
    assert holdings.height == 20
    assert np.isfinite(holdings.select(actions).to_numpy()).all()
    assert "action value" in page_text(at)
    heat = chart_data(at, chart_with(at, "agent"))
    assert heat.height == 20 * 6


def test_the_holdings_follow_the_round(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = agents_page(monkeypatch, results)
    last = table(at, 0)
    at.slider(key="agents_round").set_value(0).run()
    assert not at.exception, at.exception
    first = table(at, 0)
    assert first.shape == last.shape
    assert not first.equals(last)  # after one round the values have barely moved from where they started
    replay = replayed(runs_of(results, "agents_publication")[0])
    (values,) = [h.values[0] for h in replay.held if h.role == "researcher"]
    assert first.drop("agent").to_numpy() == pytest.approx(values)


def test_an_optional_role_and_its_action_names(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = agents_page(monkeypatch, results)
    roles = at.selectbox(key="agents_role")
    assert roles.options[0].startswith("researcher")
    assert any("funder" in option and "change nothing" in option for option in roles.options)
    roles.set_value("funder").run()
    assert not at.exception, at.exception
    shares = chart_data(at, chart_with(at, "share"))
    assert set(shares["choice"]) <= set(get_game("publication").institutions[0].choices)
    assert "change nothing in this run" in page_text(at)
    (holdings,) = [table(at, k) for k in range(len(at.dataframe))]
    assert holdings.height == 1  # one funder per world


def test_an_election_run_draws_the_platforms_over_its_voters(
    monkeypatch: pytest.MonkeyPatch, results: Path
) -> None:
    at = agents_page(monkeypatch, results, "agents_election")
    assert not at.exception, at.exception
    assert "replay matches the stored run" in at.success[0].value
    one_d, _ = runs_of(results, "agents_election")
    assert at.selectbox(key="agents_point").value == one_d["design_point"]
    assert at.selectbox(key="agents_run").value == one_d["replicate"]
    replay = replayed(one_d)
    resolved = json.loads(one_d["config"])
    batch = build_batch("election", [resolved["game"]], resolved["learners"], [one_d["seed"]])
    voters = batch.engine.voters[0, :, 0].double().numpy()  # the run's electorate, drawn from its seed

    def drawn() -> tuple[pl.DataFrame, pl.DataFrame]:
        frame = chart_data(at, chart_with(at, "kind"))
        return frame.filter(pl.col("kind") == "voter"), frame.filter(pl.col("kind") == "candidate")

    shown_voters, candidates = drawn()
    assert shown_voters["x"].to_numpy() == pytest.approx(voters)
    assert candidates["x"].to_numpy() == pytest.approx(replay.platforms[19, :, 0])
    assert candidates["won"].sum() == 1
    # the platforms drawn are the stored run's: their polarization is the stored metric's (round 18)
    at.slider(key="agents_round").set_value(18).run()
    _, candidates = drawn()
    spread = np.abs(candidates["x"].to_numpy() - candidates["x"].mean()).mean()
    stored = stored_metrics(results, one_d["run_id"]).filter(
        (pl.col("metric") == "platform_polarization") & (pl.col("step") == 18)
    )
    assert spread == pytest.approx(stored["value"].item())
    # another round, other platforms
    moved = next(s for s in range(20) if not np.allclose(replay.platforms[s], replay.platforms[18]))
    at.slider(key="agents_round").set_value(moved).run()
    assert not at.exception, at.exception
    _, after = drawn()
    assert after["x"].to_numpy() == pytest.approx(replay.platforms[moved, :, 0])
    assert not np.allclose(after["x"].to_numpy(), candidates["x"].to_numpy())
    layers = charts(at)[chart_with(at, "kind")]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["bar", "rule"]  # 1-D: a histogram and rules

    at.selectbox(key="agents_role").set_value("candidate").run()
    assert not at.exception, at.exception
    shares = chart_data(at, chart_with(at, "share"))
    assert shares.group_by("step").agg(pl.col("share").sum())["share"].to_numpy() == pytest.approx(1.0)
    assert shares["choice"].str.starts_with("platform ").all()


def test_a_two_dimensional_electorate_is_a_scatter(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    at = agents_page(monkeypatch, results, "agents_election")
    _, two_d = runs_of(results, "agents_election")
    at.selectbox(key="agents_point").set_value(two_d["design_point"]).run()
    at.selectbox(key="agents_run").set_value(two_d["replicate"]).run()
    assert not at.exception, at.exception
    assert "replay matches the stored run" in at.success[0].value
    frame = chart_data(at, chart_with(at, "kind"))
    replay = replayed(two_d)
    candidates = frame.filter(pl.col("kind") == "candidate").select("x", "y").to_numpy()
    assert candidates == pytest.approx(replay.platforms[19])
    voters = frame.filter(pl.col("kind") == "voter").select("x", "y").to_numpy()
    assert voters == pytest.approx(replay.voters)
    assert (voters[:, 1] != 0).any()
    layers = charts(at)[chart_with(at, "kind")]["layer"]
    assert [layer["mark"]["type"] for layer in layers] == ["circle", "point"]


def test_a_run_too_large_shows_its_stored_metrics(monkeypatch: pytest.MonkeyPatch, results: Path) -> None:
    monkeypatch.setattr(view, "MAX_REPLAY_AGENT_ROUNDS", 100)
    at = agents_page(monkeypatch, results)
    assert not at.exception, at.exception
    assert "This run is not replayed" in page_text(at)
    frame = chart_data(at, 0)
    assert set(frame["metric"]) == {"novel_share", "mean_rigor", "mean_power", "mean_qrp"}
    assert len(at.get("vega_lite_chart")) == 1
    assert not at.success
