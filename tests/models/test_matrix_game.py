"""The matrix game: its rules are the bimatrix (payoffs for fixed actions equal the tables of Fudenberg &
Levine 1998 and Osborne & Rubinstein 1994 as models/games/matrix/params.py lists them), its random matching is
a permutation, its mixed equilibria are the textbook ones, its env passes PettingZoo's API and seed tests,
and an opponent-aware learner is refused, in one line and before anything runs, in a game that states no
payoffs. Deterministic checks (exact equality) except the matching's uniformity: 4,000 worlds x 8 pairs, each
pair's frequency within 0.02 of 1/8 (its standard error is 0.0015). Runs in about 5 s on 2 cores."""

from __future__ import annotations

import hashlib
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test, parallel_seed_test

from models.envs import matrix_v0
from models.games import GAMES
from models.games.matrix import NAMED_GAMES, payoff_tables
from models.games.matrix.rules import mixed_equilibrium
from models.learners import make_learner, resolve_learner
from models.metrics import compute
from models.params import ConfigError
from models.random import RandomStreams, world_keys
from models.simulate import build_batch
from studies.cli import main
from studies.config import plan_study

SPEC = GAMES["matrix"]
METRICS = [metric.name for metric in SPEC.metrics]


def params(**values: object) -> dict:
    return SPEC.params.resolve(values)


@pytest.mark.parametrize("matrix", list(NAMED_GAMES))
def test_payoffs_are_the_bimatrix_for_every_pair_of_actions(matrix: str) -> None:
    """One world per (row action, column action), 3 agents a role all playing it: every agent is paid its
    entry of the table, whoever it met."""
    row, column = NAMED_GAMES[matrix][:2]
    pairs = [(a, b) for a in range(len(row)) for b in range(len(row[0]))]
    game = SPEC.build([params(matrix=matrix, n_agents=3)] * len(pairs), list(range(len(pairs))))
    actions = torch.tensor(pairs).view(len(pairs), 1, 2).expand(-1, 3, -1)
    result = game.step({"row": actions[..., 0], "column": actions[..., 1]})
    for world, (a, b) in enumerate(pairs):
        assert result.payoffs["row"][world].tolist() == [row[a][b]] * 3
        assert result.payoffs["column"][world].tolist() == [column[a][b]] * 3


def test_a_custom_game_is_laid_out_row_by_row() -> None:
    custom = params(matrix="custom", row_actions=2, row_payoffs=[1, 2, 3, 4, 5, 6], column_payoffs=[0] * 6)
    assert payoff_tables(custom) == ([[1, 2, 3], [4, 5, 6]], [[0, 0, 0], [0, 0, 0]])
    assert SPEC.role_shapes(custom) == {"row": (1, 2), "column": (1, 3)}
    game = SPEC.build([custom], [1])
    result = game.step({"row": torch.tensor([[1]]), "column": torch.tensor([[2]])})
    assert result.payoffs["row"].item() == 6


def test_random_matching_is_a_uniform_permutation_and_observations_name_the_opponent() -> None:
    """8 agents a role, agent i of each role playing action i of a custom 8 x 8 game that pays the row
    player 8 a + b: a row player's payoff names the column player it met. Per world and round the pairs
    form a permutation, the column player sees the action of the row player that met it, and over 4,000
    worlds each (row i, column j) pair has frequency 1/8."""
    n, worlds = 8, 4_000
    table = [float(n * a + b) for a in range(n) for b in range(n)]
    custom = params(matrix="custom", n_agents=n, row_actions=n, row_payoffs=table, column_payoffs=table)
    game = SPEC.build([custom] * worlds, list(range(worlds)))
    own = torch.arange(n).expand(worlds, n)
    for _ in range(2):
        result = game.step({"row": own, "column": own})
        met = (result.payoffs["row"] - n * own).long()  # the column player each row player met
        assert (met.sort(1).values == own).all()  # a permutation in every world
        row_sees = result.observations["row"][..., :n].argmax(-1)
        column_sees = result.observations["column"][..., :n].argmax(-1)
        assert (row_sees == met).all()
        assert (column_sees.gather(1, met) == own).all()  # column j saw the row player that met it
        frequency = torch.nn.functional.one_hot(met, n).float().mean(0)  # (row i, column j)
        assert (frequency - 1 / n).abs().max() < 0.02
    # Shares in the observation: every action played once per role.
    assert torch.allclose(result.observations["row"][0, 0, n:], torch.full((2 * n,), 1 / n))


def test_one_agent_a_role_is_the_plain_repeated_game() -> None:
    game = SPEC.build([params(matrix="prisoners_dilemma")], [5])
    for a, b in [(0, 0), (0, 1), (1, 0), (1, 1)]:
        result = game.step({"row": torch.tensor([[a]]), "column": torch.tensor([[b]])})
        observed = result.observations["row"][0, 0].tolist()
        assert observed[:2] == [float(b == 0), float(b == 1)]  # the opponent's action
        assert observed[2:] == [*observed[:2], float(a == 0), float(a == 1)]  # column's shares, then own


@pytest.mark.parametrize(
    ("matrix", "equilibrium"),
    [
        ("matching_pennies", (0.5, 0.5)),
        ("coordination", (0.5, 0.5)),
        ("stag_hunt", (0.75, 0.75)),
        ("battle_of_the_sexes", (2 / 3, 1 / 3)),
        ("prisoners_dilemma", (math.nan, math.nan)),
        ("rock_paper_scissors", (math.nan, math.nan)),
    ],
)
def test_mixed_equilibria_are_the_textbook_ones(matrix: str, equilibrium: tuple[float, float]) -> None:
    assert mixed_equilibrium(params(matrix=matrix)) == pytest.approx(equilibrium, nan_ok=True)


def test_metrics_count_shares_payoffs_and_the_distance_to_equilibrium() -> None:
    game = SPEC.build([params(matrix="battle_of_the_sexes", n_agents=4)], [1])
    tallies = game.step({"row": torch.tensor([[0, 0, 0, 1]]), "column": torch.tensor([[1, 1, 1, 1]])}).tallies
    values = dict(zip(METRICS, compute(SPEC.metrics, tallies)[0].tolist(), strict=True))
    assert (
        values["row_share_0"] == 0.75 and values["row_share_1"] == 0.25 and math.isnan(values["row_share_2"])
    )
    assert values["column_share_0"] == 0 and values["column_share_1"] == 1
    assert values["row_payoff"] == 0.25 and values["column_payoff"] == 0.5  # only (1, 1) pays: 1 and 2
    assert values["equilibrium_distance"] == pytest.approx(math.hypot(0.75 - 2 / 3, 0 - 1 / 3))


def test_bad_custom_games_are_refused() -> None:
    with pytest.raises(ConfigError, match="row_payoffs has 3 and column_payoffs 4 numbers"):
        params(matrix="custom", row_payoffs=[1, 2, 3], column_payoffs=[1, 2, 3, 4])
    with pytest.raises(ConfigError, match="set matrix = 'custom'"):
        params(matrix="stag_hunt", row_payoffs=[1, 2, 3, 4])
    with pytest.raises(ConfigError, match="matrix = 'chess' is not a known choice"):
        params(matrix="chess")


def test_the_payoff_model_is_the_bimatrix_from_each_role_s_side() -> None:
    worlds = [params(matrix="battle_of_the_sexes")] * 2
    row, column = SPEC.payoffs(worlds, "row"), SPEC.payoffs(worlds, "column")
    assert (row.role, row.opponent, column.role, column.opponent) == ("row", "column", "column", "row")
    assert row.payoffs.tolist() == [[[2, 0], [0, 1]]] * 2
    assert column.payoffs.tolist() == [[[1, 0], [0, 2]]] * 2  # [own action][opponent's action]
    assert torch.equal(row.opponent_payoffs, column.payoffs)
    # Against a mix: the row player's expected payoffs against column playing 0 with 1/3.
    mix = torch.tensor([[1 / 3, 2 / 3]] * 2)
    torch.testing.assert_close(row.against(mix), torch.full((2, 2), 2 / 3))
    assert GAMES["publication"].payoffs([GAMES["publication"].params.resolve({})], "researcher") is None


def test_the_bench_leaves_the_matrix_game_out() -> None:
    from benchmarks import suite

    assert not SPEC.benched and "matrix" not in suite.GAMES
    # only the scenarios of the learners that reason with its payoffs: no case at its defaults
    matrix = [case for case in suite.plan(quick=True) if case.game == "matrix"]
    opponent_aware = {"learner_fictitious_play", "learner_level_k", "learner_lola"}
    assert {case.scenario for case in matrix} == opponent_aware


def test_pettingzoo_api_and_seed_tests_pass() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env = matrix_v0.parallel_env(matrix="rock_paper_scissors", n_agents=3, max_rounds=30)
        parallel_api_test(env, num_cycles=60)
    parallel_seed_test(lambda: matrix_v0.parallel_env(n_agents=4, max_rounds=30))


def rollout_hash(seed: int) -> str:
    env = matrix_v0.parallel_env(matrix="stag_hunt", n_agents=5, max_rounds=60)
    env.reset(seed=seed)
    generator = np.random.default_rng(seed)
    digest = hashlib.sha256()
    while env.agents:
        actions = {agent: int(generator.integers(2)) for agent in env.agents}
        observations, rewards, *_ = env.step(actions)
        for agent in sorted(rewards):
            digest.update(observations[agent].tobytes() + np.float64(rewards[agent]).tobytes())
    return digest.hexdigest()


def test_the_env_is_deterministic_over_many_steps_and_pays_the_bimatrix() -> None:
    assert rollout_hash(3) == rollout_hash(3) != rollout_hash(4)
    env = matrix_v0.parallel_env(matrix="prisoners_dilemma", max_rounds=2)
    env.reset(seed=1)
    _, rewards, *_ = env.step({"row_0": 1, "column_0": 0})
    assert rewards == {"row_0": 5.0, "column_0": 0.0}
    assert env.action_names == {"row": ("cooperate", "defect"), "column": ("cooperate", "defect")}


def test_an_opponent_aware_learner_is_refused_in_a_game_without_payoffs_in_one_line(tmp_path: Path) -> None:
    """Refused when the study is planned (nothing runs, no database is made), and by make_learner."""
    raw = {
        "study": {"name": "fp_publication", "rounds": 10},
        "game": {"n_researchers": 5},
        "learners": {"researcher": {"kind": "fictitious_play"}},
    }
    expected = (
        "learners.researcher.kind = 'fictitious_play' reasons with the game's payoffs, and this game states "
        "none for its researcher role: allowed are the games that do (matrix)."
    )
    with pytest.raises(ConfigError) as refused:
        plan_study(raw)
    assert str(refused.value) == expected
    raw["learners"]["researcher"]["kind"] = "level_k"
    with pytest.raises(ConfigError, match="'level_k' reasons with the game's payoffs"):
        plan_study(raw)
    study = tmp_path / "fp.toml"
    study.write_text(
        '[study]\nname = "fp"\nrounds = 5\n[learners.researcher]\nkind = "fictitious_play"\n',
        encoding="utf-8",
    )
    db = tmp_path / "out" / "results.duckdb"
    assert main(["check", str(study), "--db", str(db)]) == 2
    assert main(["run", str(study), "--db", str(db)]) == 2
    assert not db.exists()
    rng = RandomStreams(world_keys([1]))
    config = resolve_learner({"kind": "fictitious_play"}, "learners.researcher")
    with pytest.raises(ConfigError, match=r"^learners\.researcher\.kind = 'fictitious_play' [^\n]*$"):
        make_learner(config, "researcher", 1, 5, 6, rng)
    with pytest.raises(ConfigError, match="reasons with the game's payoffs"):
        build_batch("election", [GAMES["election"].params.resolve({})], {
            "voter": config, "candidate": resolve_learner({}, "c"), "institution": resolve_learner({}, "i"),
        }, [1])  # fmt: skip
