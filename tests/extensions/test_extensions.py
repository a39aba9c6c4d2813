"""Each part a user adds to the lab is a file of its own plus one registration line (README, "Extending the
lab"): a learner family (imitation_learner.py), a reward bias (novelty_bonus.py), an institution
(editor.py) and a metric (replication_share.py), each registered by one call in its test and then played
end to end: resolved and refused by study configs, played by the loop, and doing what it says, checked
against numbers worked out by hand.

Registering changes the module-level registries (models.games.GAMES, models.learners.LEARNERS); the
autouse fixture below puts them back after every test.

Study runs in worker processes see only what every process imports (README); the study test here runs in
process (`workers=1`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
from pettingzoo.test import parallel_api_test

from extensions.editor import EDITOR
from extensions.imitation_learner import CopyTheBest
from extensions.novelty_bonus import NOVELTY_BONUS
from extensions.replication_share import REPLICATION_SHARE, replication_share
from models.envs import publication_v0
from models.games import GAMES, register_bias, register_institution, register_metric
from models.learners import LEARNERS, register_learner, resolve_learner
from models.params import ConfigError
from models.simulate import build_batch, play, play_round, simulate
from studies import store
from studies.config import plan_study
from studies.runner import run_study

Q_LEARNING = resolve_learner({}, "learners.researcher")


@pytest.fixture(autouse=True)
def _registries_restored():
    """Every registration a test makes is undone after it: the registries' entries as they were."""
    games, learners = dict(GAMES), dict(LEARNERS)
    yield
    GAMES.clear()
    GAMES.update(games)
    LEARNERS.clear()
    LEARNERS.update(learners)


def publication_worlds(count: int, **params: Any) -> list[dict[str, Any]]:
    """`count` worlds of the publication game as registered now, resolved (defaults filled in)."""
    return [GAMES["publication"].params.resolve(params)] * count


def column(series: torch.Tensor, name: str) -> torch.Tensor:
    """One metric's (rounds, worlds) series from simulate's output, by name."""
    return series[:, :, [m.name for m in GAMES["publication"].metrics].index(name)]


def assert_same(actual: torch.Tensor, expected: torch.Tensor) -> None:
    """Equal bit for bit, NaN where the other is NaN (a metric undefined in a round)."""
    torch.testing.assert_close(actual, expected, rtol=0, atol=0, equal_nan=True)


# A publication game whose pay is certain: every study gets done (no rigor cost) and comes out positive
# (power and both false positive rates 1), so it is published; a novel study pays 1, a replication 0, and no
# finding is ever refuted. The best action of a round is any novel one, and every agent knows it after one
# round.
NOVELTY_PAYS = {
    "power": 1.0,
    "alpha": 1.0,
    "hacked_alpha": 1.0,
    "rigor_cost": 0.0,
    "novelty_reward": 1.0,
    "replication_reward": 0.0,
    "null_reward": 0.0,
    "failed_replication_penalty": 0.0,
}


# ---------------------------------------------------------------------------------------------------------
# A learner family: copy the best (imitation_learner.py)


def test_a_learner_family_is_one_line_then_study_configs_take_it():
    with pytest.raises(ConfigError, match="copy_the_best"):
        resolve_learner({"kind": "copy_the_best"}, "learners.researcher")

    register_learner(CopyTheBest)

    assert resolve_learner({"kind": "copy_the_best"}, "learners.researcher") == {
        "kind": "copy_the_best",
        "imitation_rate": 0.5,
    }
    with pytest.raises(ConfigError, match=r"learners\.researcher\.imitation_rate = 2"):
        resolve_learner({"kind": "copy_the_best", "imitation_rate": 2}, "learners.researcher")
    plan = plan_study(
        {
            "study": {"name": "imitation", "rounds": 10, "replications": 2},
            "game": {"n_researchers": 10},
            "learners": {"researcher": {"kind": "copy_the_best"}},
            "sweep": {"learners.researcher.imitation_rate": [0.2, 0.8]},
        }
    )
    assert [run.learners["researcher"] for run in plan.runs] == [
        {"kind": "copy_the_best", "imitation_rate": rate} for rate in (0.2, 0.2, 0.8, 0.8)
    ]


def test_copying_the_best_never_copies_and_copies_at_once_at_the_extreme_rates():
    register_learner(CopyTheBest)
    worlds, seeds = publication_worlds(40, n_researchers=20, **NOVELTY_PAYS), list(range(40))

    def novel_share(rate: float) -> torch.Tensor:
        learner = resolve_learner({"kind": "copy_the_best", "imitation_rate": rate}, "learners.researcher")
        series = simulate("publication", worlds, {"researcher": learner}, seeds, rounds=8)
        # The pay is certain: 1 for a novel study, 0 for a replication, so the mean payoff is the share.
        assert torch.equal(column(series, "mean_payoff"), column(series, "novel_share"))
        return column(series, "novel_share")

    never, always = novel_share(0.0), novel_share(1.0)
    # The first actions are uniform over 3 novel and 3 replication actions (the same at either rate).
    assert torch.equal(never[0], always[0])
    assert abs(never[0].mean().item() - 0.5) < 4 * math.sqrt(0.25 / never[0].numel())
    assert (never[0] > 0).all()  # every world has a novel study to copy
    # Rate 0: everyone keeps their first action for good; rate 1: everyone plays the best action, a novel
    # study, from the second round on.
    assert torch.equal(never, never[:1].expand_as(never))
    assert (always[1:] == 1).all()


def test_copying_the_best_drives_the_replications_out_geometrically():
    """At imitation rate r, a researcher who replicates keeps doing so with probability 1 - r a round (the
    best-paid agent always runs a novel study), so of the R0 first replicators R0 (1 - r)^t are left after
    t rounds: binomial, checked within 4 standard deviations each round."""
    register_learner(CopyTheBest)
    rate, n_researchers, n_worlds = 0.3, 20, 100
    learner = resolve_learner({"kind": "copy_the_best", "imitation_rate": rate}, "learners.researcher")
    worlds = publication_worlds(n_worlds, n_researchers=n_researchers, **NOVELTY_PAYS)
    series = simulate("publication", worlds, {"researcher": learner}, list(range(n_worlds)), rounds=6)
    replicators = ((1 - column(series, "novel_share")) * n_researchers).round().sum(1)
    assert (column(series, "novel_share")[0] > 0).all()
    for t in range(1, 6):
        kept = (1 - rate) ** t
        expected, sd = replicators[0] * kept, math.sqrt(replicators[0] * kept * (1 - kept))
        assert abs(replicators[t] - expected) < 4 * sd, (t, replicators[t].item(), expected.item())


def test_copying_the_best_leaves_every_world_playing_its_best_agents_action():
    """Every agent ends up with the action of the first novel researcher of its world: the best-paid one,
    which copies itself."""
    register_learner(CopyTheBest)
    learner = resolve_learner({"kind": "copy_the_best", "imitation_rate": 0.5}, "learners.researcher")
    worlds = publication_worlds(16, n_researchers=20, rigor_levels=4, **NOVELTY_PAYS)
    batch = build_batch("publication", worlds, {"researcher": learner}, list(range(16)))
    first = batch.learners["researcher"].act(None)  # its first actions (it reads no observation)
    for _ in range(40):
        batch.round()
    last = batch.next_actions["researcher"]
    best_first = first.gather(1, (first < 4).int().argmax(1, keepdim=True))  # the first novel one's
    assert torch.equal(last, best_first.expand_as(last))
    assert len(set(best_first.view(-1).tolist())) > 1  # and worlds differ in which novel action that is


# ---------------------------------------------------------------------------------------------------------
# A reward bias: a bonus for novelty (novelty_bonus.py)


def test_a_reward_bias_is_one_line_and_a_parameter_of_the_game_off_by_default():
    with pytest.raises(ConfigError, match="novelty_bonus"):
        plan_study({"study": {"name": "bias"}, "game": {"novelty_bonus": 1.0}})
    worlds = publication_worlds(6, n_researchers=20)
    before = simulate("publication", worlds, {"researcher": Q_LEARNING}, list(range(6)), rounds=40)

    register_bias("publication", NOVELTY_BONUS)

    param = GAMES["publication"].params.params["novelty_bonus"]
    assert param.default == 0 and GAMES["publication"].params.defaults()["novelty_bonus"] == 0
    off = publication_worlds(6, n_researchers=20)
    assert off[0]["novelty_bonus"] == 0
    after = simulate("publication", off, {"researcher": Q_LEARNING}, list(range(6)), rounds=40)
    assert_same(after, before)  # off, it changes nothing

    plan = plan_study({"study": {"name": "bias", "replications": 1}, "sweep": {"novelty_bonus": [0.0, 2.0]}})
    assert [run.game["novelty_bonus"] for run in plan.runs] == [0.0, 2.0]
    with pytest.raises(ConfigError, match=r"game\.novelty_bonus = -1"):
        plan_study({"study": {"name": "bias"}, "game": {"novelty_bonus": -1}})


def test_a_reward_bias_pays_its_strength_for_each_novel_study_on_top_of_the_game():
    register_bias("publication", NOVELTY_BONUS)
    spec, n_researchers = GAMES["publication"], 30
    strengths = [0.0, 1.5, 3.0]
    biased = [spec.params.resolve({"n_researchers": n_researchers, "novelty_bonus": s}) for s in strengths]
    plain = [spec.params.resolve({"n_researchers": n_researchers})] * 3
    seeds = [5, 6, 7]
    games = spec.build(biased, seeds), spec.build(plain, seeds)
    generator = torch.Generator().manual_seed(0)
    for _ in range(5):  # a few rounds, so that replications find findings and some are refuted
        actions = {"researcher": torch.randint(0, 6, (3, n_researchers), generator=generator)}
        with_bias, without = (play_round(spec, game, actions) for game in games)
        novel = (actions["researcher"] < 3).float()
        expected = without.payoffs["researcher"] + torch.tensor(strengths).view(-1, 1) * novel
        assert torch.equal(with_bias.payoffs["researcher"], expected)
        # Only the pay changes: the round itself (tallies, credit) is the game's.
        assert torch.equal(with_bias.tallies.publications, without.tallies.publications)
        assert torch.equal(
            with_bias.credit["researcher"].per_agent(n_researchers),
            without.credit["researcher"].per_agent(n_researchers),
        )


def test_a_novelty_bonus_makes_learners_choose_novel_studies_more():
    register_bias("publication", NOVELTY_BONUS)
    n_worlds, spec = 24, GAMES["publication"]
    # One batch: worlds without the bias, and the same seeds with it (a per-world parameter).
    worlds = [spec.params.resolve({"n_researchers": 20, "novelty_bonus": s}) for s in (0.0, 1.0)]
    worlds = [worlds[0]] * n_worlds + [worlds[1]] * n_worlds
    seeds = list(range(n_worlds)) * 2
    series = simulate("publication", worlds, {"researcher": Q_LEARNING}, seeds, rounds=150)
    late = column(series, "novel_share")[-50:].mean(0)
    difference = late[n_worlds:] - late[:n_worlds]  # paired by seed
    standard_error = difference.std() / math.sqrt(n_worlds)
    assert difference.mean() > 0.1
    assert difference.mean() > 8 * standard_error, (difference.mean(), standard_error)


# ---------------------------------------------------------------------------------------------------------
# An institution: an editor who sets publish_null_prob (editor.py)


def test_an_institution_is_one_line_then_a_role_of_the_game_and_its_env():
    assert "editor" not in GAMES["publication"].role_names

    register_institution("publication", EDITOR)

    spec = GAMES["publication"]
    assert spec.role_names == ("researcher", "journal", "funder", "editor")
    assert spec.role_shapes(spec.params.resolve({"n_researchers": 7}))["editor"] == (1, 3)
    plan = plan_study(
        {
            "study": {"name": "editor", "replications": 1},
            "learners": {"editor": {"kind": "fixed_actions", "actions": [2]}},
        }
    )
    assert plan.runs[0].learners["editor"] == {"kind": "fixed_actions", "actions": [2]}
    with pytest.raises(ConfigError, match=r"learners\.editor\.actions"):
        plan_study(
            {"study": {"name": "editor"}, "learners": {"editor": {"kind": "fixed_actions", "actions": [3]}}}
        )

    env = publication_v0.parallel_env(n_researchers=4, max_rounds=4, publish_null_prob=0.5)
    assert env.possible_agents == [
        "researcher_0",
        "researcher_1",
        "researcher_2",
        "researcher_3",
        "journal_0",
        "funder_0",
        "editor_0",
    ]
    assert env.action_space("editor_0").n == 3 and env.observation_space("editor_0").shape == (0,)
    env.reset(seed=3)
    novel = {f"researcher_{i}": 0 for i in range(4)}  # novel studies at rigor 0: every one gets done
    for _ in range(2):
        # The editor has every null result: every study is published, paying 1 if positive and 0.5
        # if null, and the editor is paid 4 publications / 4 researchers.
        _, rewards, *_ = env.step({**novel, "journal_0": 0, "funder_0": 0, "editor_0": 2})
        assert {rewards[agent] for agent in novel} <= {1.0, 0.5} and rewards["editor_0"] == 1.0
        # No null result published: a researcher is paid 1 (positive) or nothing; the editor the share paid.
        _, rewards, *_ = env.step({**novel, "journal_0": 0, "funder_0": 0, "editor_0": 0})
        assert {rewards[agent] for agent in novel} <= {1.0, 0.0}
        assert rewards["editor_0"] == sum(rewards[agent] for agent in novel) / 4
    parallel_api_test(publication_v0.parallel_env(n_researchers=3, max_rounds=5), num_cycles=10)


def test_an_institutions_choice_sets_its_parameter_in_every_round():
    """Researchers all run novel studies at rigor 0, so every study gets done and comes out positive with
    probability base_rate x power + (1 - base_rate) x hacked_alpha = 0.35; a null one is published with the
    editor's publish_null_prob, whatever the study's own value (0.5 here): 0.35 + 0.65 x choice studies
    published per researcher."""
    register_institution("publication", EDITOR)
    n_worlds, n_researchers, rounds = 16, 25, 40
    worlds = publication_worlds(n_worlds, n_researchers=n_researchers, publish_null_prob=0.5)
    researchers = {"kind": "fixed_actions", "actions": [0] * n_researchers}
    for choice, publish_null_prob in enumerate(EDITOR.choices):
        learners = {"researcher": researchers, "editor": {"kind": "fixed_actions", "actions": [choice]}}
        series = simulate("publication", worlds, learners, list(range(n_worlds)), rounds)
        published = column(series, "publications_per_researcher")
        expected = 0.35 + 0.65 * publish_null_prob
        if expected == 1:
            assert (published == 1).all()
        else:
            n = n_worlds * n_researchers * rounds
            assert abs(published.mean().item() - expected) < 4 * math.sqrt(expected * (1 - expected) / n)


def test_an_institution_is_paid_its_objective_and_a_learning_one_finds_its_best_choice():
    register_institution("publication", EDITOR)
    n_worlds, n_researchers = 64, 10
    worlds = publication_worlds(n_worlds, n_researchers=n_researchers)
    journal = resolve_learner({"exploration": "epsilon_greedy", "initial_value": 2.0}, "learners.editor")
    researchers = {"kind": "fixed_actions", "actions": [0] * n_researchers}
    batch = build_batch(
        "publication", worlds, {"researcher": researchers, "editor": journal}, list(range(64))
    )
    chosen = []
    for _ in range(200):
        result = batch.round()
        pay = result.payoffs["editor"]
        assert pay.shape == (n_worlds, 1)
        assert torch.equal(pay.view(-1), result.tallies.publications / n_researchers)
        chosen.append(batch.engine.p["publish_null_prob"].view(-1).clone())
    # Its pages fill most when it publishes every null result: it learns to, but for its exploration
    # (epsilon 0.05: a random choice one round in 20).
    late = torch.stack(chosen[-20:])
    assert set(late.unique().tolist()) <= set(EDITOR.choices)
    assert (late == 1.0).float().mean() > 0.9


# ---------------------------------------------------------------------------------------------------------
# A metric: the share of the studies that were replications (replication_share.py)


def test_a_metric_is_one_line_then_a_column_of_simulate_computed_from_the_tallies():
    worlds, seeds = publication_worlds(6, n_researchers=20), list(range(6))
    learners = {"researcher": Q_LEARNING}
    before = simulate("publication", worlds, learners, seeds, rounds=30)

    register_metric("publication", REPLICATION_SHARE)

    names = [m.name for m in GAMES["publication"].metrics]
    assert names[-1] == "replication_share" and len(names) == before.shape[2] + 1
    after = simulate("publication", worlds, learners, seeds, rounds=30)
    assert_same(after[:, :, :-1], before)  # the other metrics as they were
    tallies = play("publication", worlds, learners, seeds, rounds=30)
    by_hand = torch.stack(
        [t.replication_studies.double() / (t.novel_studies + t.replication_studies).double() for t in tallies]
    )
    assert_same(after[:, :, -1], by_hand)
    assert_same(after[:, :, -1], torch.stack([replication_share(t) for t in tallies]))
    defined = after[:, :, -1][~after[:, :, -1].isnan()]
    assert defined.numel() > 0 and ((defined >= 0) & (defined <= 1)).all() and (defined > 0).any()
    with pytest.raises(ConfigError, match="replication_share"):
        register_metric("publication", REPLICATION_SHARE)


# ---------------------------------------------------------------------------------------------------------
# All four in one study, run and stored


def test_a_study_runs_all_four_and_stores_the_new_metric(tmp_path: Path):
    register_learner(CopyTheBest)
    register_bias("publication", NOVELTY_BONUS)
    register_institution("publication", EDITOR)
    register_metric("publication", REPLICATION_SHARE)
    plan = plan_study(
        {
            "study": {"name": "extensions", "rounds": 20, "replications": 2, "seed": 3},
            "game": {"n_researchers": 10},
            "learners": {
                "researcher": {"kind": "copy_the_best", "imitation_rate": 0.3},
                "editor": {"kind": "fixed_actions", "actions": [2]},
            },
            "sweep": {"novelty_bonus": [0.0, 1.0]},
        }
    )
    assert "replication_share" in [m.name for m in plan.game.metrics]
    db = tmp_path / "results.duckdb"
    # In process: a study's worker processes would not see registrations made here (README).
    run_study(plan, db, workers=1, progress=False)

    stored = store.query(
        db,
        "SELECT r.run_id, r.novelty_bonus, r.researcher_imitation_rate, m.step, m.value FROM metrics m "
        "JOIN runs r USING (run_id) WHERE m.metric = 'replication_share' ORDER BY r.run_id, m.step",
    )
    assert stored["novelty_bonus"].unique().sort().to_list() == [0.0, 1.0]
    assert stored["researcher_imitation_rate"].unique().to_list() == [0.3]
    series = simulate(
        "publication",
        [run.game for run in plan.runs],
        {role: [run.learners[role] for run in plan.runs] for role in plan.game.role_names},
        [run.seed for run in plan.runs],
        plan.rounds,
    )
    for world, run in enumerate(plan.runs):
        rows = stored.filter(stored["run_id"] == run.run_id)
        values = series[:, world, -1]
        assert rows["step"].to_list() == (~values.isnan()).nonzero().view(-1).tolist()
        assert rows["value"].to_list() == values[~values.isnan()].tolist()
