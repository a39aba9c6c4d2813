"""The publication game's PettingZoo env: PettingZoo's own API and seed tests, plus a many-step determinism
test."""

from __future__ import annotations

import hashlib
import warnings

import numpy as np
import pytest
import torch
from pettingzoo.test import parallel_api_test, parallel_seed_test

from models.envs import publication_v0
from models.games.publication.kernels import PublicationKernels
from models.params import ConfigError


def test_pettingzoo_parallel_api_test_passes_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        parallel_api_test(publication_v0.parallel_env(n_researchers=8, max_rounds=40), num_cycles=100)


def test_pettingzoo_seed_test_passes():
    parallel_seed_test(lambda: publication_v0.parallel_env(n_researchers=8, max_rounds=40))


def rollout_hash(seed: int, rounds: int = 150) -> str:
    env = publication_v0.parallel_env(n_researchers=12, max_rounds=rounds, publish_null_prob=0.3)
    observations, _ = env.reset(seed=seed)
    for agent in env.possible_agents:
        env.action_space(agent).seed(seed)
    digest = hashlib.sha256()
    while env.agents:
        actions = {agent: env.action_space(agent).sample() for agent in env.agents}
        observations, rewards, terminations, truncations, _ = env.step(actions)
        for agent in sorted(rewards):
            digest.update(np.asarray(observations[agent]).tobytes())
            digest.update(np.float64(rewards[agent]).tobytes())
            digest.update(bytes([terminations[agent], truncations[agent]]))
    return digest.hexdigest()


def test_same_seed_same_trajectory_over_many_steps():
    assert rollout_hash(5) == rollout_hash(5)
    assert rollout_hash(5) != rollout_hash(6)


def test_env_rewards_are_the_batched_engines_rewards():
    env = publication_v0.parallel_env(n_researchers=10, max_rounds=30)
    env.reset(seed=77)
    game = PublicationKernels([env.params], seeds=[77])
    generator = np.random.default_rng(0)
    for _ in range(30):
        chosen = generator.integers(0, 6, size=10)
        _, rewards, *_ = env.step({f"researcher_{i}": int(a) for i, a in enumerate(chosen)})
        expected = game.step({"researcher": torch.tensor(chosen).view(1, -1)}).received("researcher")[0]
        assert [rewards[f"researcher_{i}"] for i in range(10)] == pytest.approx(expected.tolist())
    assert env.agents == []


def test_observations_lie_in_the_observation_space():
    env = publication_v0.parallel_env(n_researchers=5, max_rounds=5)
    observations, _ = env.reset(seed=1)
    for _ in range(5):
        for agent, observation in observations.items():
            assert env.observation_space(agent).contains(observation)
        observations, *_ = env.step({agent: 0 for agent in env.agents})


def test_bad_parameters_are_refused():
    with pytest.raises(ConfigError, match="max_rounds = 0"):
        publication_v0.parallel_env(max_rounds=0)
    with pytest.raises(ConfigError, match="base_rate"):
        publication_v0.parallel_env(base_rate=2)
