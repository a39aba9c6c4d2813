"""The election PettingZoo env: PettingZoo's own API and seed tests, determinism, the engine's rewards,
observation spaces, and refusals of bad parameters."""

from __future__ import annotations

import hashlib
import re
import warnings

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test, parallel_seed_test

from models.envs import election_v0
from models.games.election import GAME, ElectionRules
from models.params import ConfigError
from models.simulate import play_round

SETTINGS = [
    {"n_voters": 11, "n_candidates": 8},  # the most candidates: vote shares fill the padding
    {"n_voters": 9, "n_candidates": 4, "dimensions": 2, "strategic_voting": True, "rule": "borda"},
    {"n_voters": 7, "n_candidates": 2, "institution_learns": True, "voter_distribution": "bimodal"},
]


@pytest.mark.parametrize("params", SETTINGS)
def test_pettingzoo_parallel_api_test_passes_without_warnings(params):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parallel_api_test(election_v0.parallel_env(**params, max_rounds=40), num_cycles=100)


def test_pettingzoo_seed_test_passes():
    parallel_seed_test(lambda: election_v0.parallel_env(n_voters=11, n_candidates=3, max_rounds=40))


def test_agents_and_spaces_follow_the_roles():
    env = election_v0.parallel_env(n_voters=4, n_candidates=3, dimensions=2, platform_grid=5)
    assert env.possible_agents == [
        "voter_0", "voter_1", "voter_2", "voter_3", "candidate_0", "candidate_1", "candidate_2",
        "institution_0",
    ]  # fmt: skip
    assert env.action_space("voter_2").n == 2
    assert env.action_space("candidate_0").n == 25
    assert env.action_space("institution_0").n == 6
    assert env.observation_space("voter_0") is env.observation_space("voter_3")
    # common part: winner 2 + platforms 16 + shares 8 + turnout 1 + rule 6 = 33
    assert env.observation_space("voter_0").shape == (33 + 2,)
    assert env.observation_space("candidate_1").shape == (33 + 2 + 2 + 1 + 2 + 1,)
    assert env.observation_space("institution_0").shape == (33,)
    strategic = election_v0.parallel_env(n_voters=4, n_candidates=3, strategic_voting=True)
    assert strategic.action_space("voter_0").n == 4


def rollout_hash(seed: int, rounds: int = 100) -> str:
    env = election_v0.parallel_env(
        n_voters=15, n_candidates=3, dimensions=2, platform_grid=7, rule="instant_runoff",
        voter_distribution="bimodal", voting_cost=0.1, expressive_benefit=0.2, max_rounds=rounds,
    )  # fmt: skip
    observations, _ = env.reset(seed=seed)
    digest = hashlib.sha256()
    for agent in sorted(observations):
        digest.update(observations[agent].tobytes())
    for i, agent in enumerate(env.possible_agents):
        env.action_space(agent).seed(seed + i)
    steps = 0
    while env.agents:
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        observations, rewards, terminations, truncations, _ = env.step(actions)
        steps += 1
        for agent in sorted(rewards):
            digest.update(np.asarray(observations[agent]).tobytes())
            digest.update(np.float64(rewards[agent]).tobytes())
            digest.update(bytes([terminations[agent], truncations[agent]]))
    assert steps == rounds
    return digest.hexdigest()


def test_same_seed_same_trajectory_over_many_steps():
    assert rollout_hash(5) == rollout_hash(5)
    assert rollout_hash(5) != rollout_hash(6)


@pytest.mark.parametrize(
    "params",
    [
        {"n_voters": 21, "n_candidates": 3, "rule": "runoff", "voting_cost": 0.05, "policy_weight": 0.4},
        {"n_voters": 13, "n_candidates": 4, "dimensions": 2, "platform_grid": 5, "strategic_voting": True,
         "institution_learns": True, "utility": "quadratic", "media_attention_bias": 0.3},
    ],
)  # fmt: skip
def test_env_rewards_are_the_batched_engines_rewards(params):
    rounds = 30
    env = election_v0.parallel_env(**params, max_rounds=rounds)
    env.reset(seed=77)
    game = ElectionRules([env.params], seeds=[77])
    shapes = GAME.role_shapes(env.params)
    generator = np.random.default_rng(0)
    for _ in range(rounds):
        chosen = {role: generator.integers(0, n, size=agents) for role, (agents, n) in shapes.items()}
        actions = {f"{role}_{i}": int(a) for role, row in chosen.items() for i, a in enumerate(row)}
        _, rewards, *_ = env.step(actions)
        engine_actions = {role: torch.tensor(row).view(1, -1) for role, row in chosen.items()}
        expected = play_round(GAME, game, engine_actions)  # as the loop plays it, the institution included
        for role, (agents, _) in shapes.items():
            got = [rewards[f"{role}_{i}"] for i in range(agents)]
            assert got == pytest.approx(expected.received(role)[0].tolist(), rel=0, abs=0)
    assert env.agents == []


def part(observation: np.ndarray, role: str, name: str) -> np.ndarray:
    """The named part of one agent's observation (the role's fields)."""
    roles = {role.name: role for role in GAME.every_role}
    return observation[roles[role].layout({})[name]]


def test_observations_lie_in_the_observation_space_and_say_what_happened():
    env = election_v0.parallel_env(n_voters=9, n_candidates=3, dimensions=2, platform_grid=5, max_rounds=6)
    observations, _ = env.reset(seed=1)
    game = ElectionRules([env.params], seeds=[1])
    common = observations["institution_0"]
    assert not part(common, "institution", "shares").any()  # nothing has happened before the first election
    assert part(common, "institution", "rule").tolist() == [1, 0, 0, 0, 0, 0]  # plurality
    # before the first election every party stands at its ideal point
    np.testing.assert_array_equal(part(common, "institution", "platforms")[:6], game.ideals[0].flatten())
    for round_index in range(6):
        for agent, observation in observations.items():
            assert env.observation_space(agent).contains(observation), (round_index, agent, observation)
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        observations, *_ = env.step(actions)
        t = play_round(
            GAME,
            game,
            {
                role: torch.tensor([[actions[f"{role}_{i}"] for i in range(agents)]])
                for role, (agents, _) in env.role_shapes.items()
            },
        ).tallies
        common = observations["institution_0"]
        winner = t.platforms[0, t.winner[0]]
        np.testing.assert_array_equal(part(common, "institution", "winner_platform"), winner)
        np.testing.assert_array_equal(part(common, "institution", "platforms")[:6], t.platforms[0].flatten())
        assert not part(common, "institution", "platforms")[6:].any()
        shares = part(common, "institution", "shares")
        np.testing.assert_allclose(shares[:3], t.vote_shares[0].numpy(), rtol=1e-6)
        assert not shares[3:].any()
        assert part(common, "institution", "turnout")[0] == pytest.approx(t.turnout[0].item())
        voter = observations["voter_4"]
        np.testing.assert_array_equal(voter[: len(common)], common)  # an exact poll: the shares
        np.testing.assert_array_equal(part(voter, "voter", "ideal"), game.voters[0, 4].numpy())
        candidate = observations["candidate_2"]
        np.testing.assert_array_equal(part(candidate, "candidate", "ideal"), game.ideals[0, 2].numpy())
        np.testing.assert_array_equal(part(candidate, "candidate", "own_platform"), t.platforms[0, 2].numpy())
        assert part(candidate, "candidate", "own_share")[0] == pytest.approx(t.vote_shares[0, 2].item())
    assert env.agents == []


def test_one_dimension_pads_positions_with_zeros():
    env = election_v0.parallel_env(n_voters=5, n_candidates=2, max_rounds=3)
    observations, _ = env.reset(seed=3)
    ideal = part(observations["voter_0"], "voter", "ideal")
    assert ideal[1] == 0 and ideal[0] != 0
    observations, *_ = env.step({agent: env.action_space(agent).n - 1 for agent in env.agents})
    # both at the top of the grid, extent 2
    assert part(observations["candidate_0"], "candidate", "winner_platform").tolist() == [2.0, 0.0]


def test_step_needs_reset_and_refuses_actions_outside_the_space():
    env = election_v0.parallel_env(n_voters=3, max_rounds=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.reset(seed=0)
    actions = dict.fromkeys(env.agents, 0)
    with pytest.raises(ValueError, match="candidate actions"):
        env.step({**actions, "candidate_1": 21})


def refused(field: str, value: object, **params) -> None:
    with pytest.raises(ConfigError) as caught:
        election_v0.parallel_env(**params)
    message = str(caught.value)
    assert field in message and repr(value) in message, message


def test_bad_parameters_are_refused_naming_the_field_and_value():
    refused("n_candidates", 1, n_candidates=1)
    refused("rule", "dictatorship", rule="dictatorship")
    refused("dimensions", 3, dimensions=3)
    refused("voting_cost", -0.5, voting_cost=-0.5)
    refused("polarization", 7.5, voter_distribution="bimodal", polarization=7.5)
    refused("polarization", -1, polarization=-1)
    refused("max_rounds", 0, max_rounds=0)
    refused("max_rounds", 2.5, max_rounds=2.5)
    refused("n_voters", "many", n_voters="many")
    with pytest.raises(ConfigError, match=re.escape("game has unknown parameter(s) voters")):
        election_v0.parallel_env(voters=3)


def test_a_given_electorate_must_match_its_size():
    with pytest.raises(ConfigError) as caught:
        election_v0.parallel_env(
            n_voters=3, dimensions=2, voter_distribution="given", voter_positions=[0.0, 1.0, 2.0, 3.0, 4.0]
        )
    message = str(caught.value)
    assert "voter_positions has 5 numbers" in message and "= 6" in message, message
    env = election_v0.parallel_env(
        n_voters=3, dimensions=2, voter_distribution="given", voter_positions=[0, 1, 2, 3, 4, 5]
    )
    observations, _ = env.reset(seed=0)
    assert part(observations["voter_2"], "voter", "ideal").tolist() == [4.0, 5.0]
