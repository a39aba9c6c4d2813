"""PettingZoo `ParallelEnv` of the publication game: one world of the batched engine.

Agents are `researcher_0` ... `researcher_{n-1}`. An action is an index into `action_names(params)`:
novel study at each level of method, then replication at each (see actions.py). The reward is what the
researcher received that round: payoffs of its published studies minus penalties for its refuted findings.
Each observation holds the agent's last reward and last penalty and its world's last replication rate (0
before any replication) and publication rate (published studies over studies), so a learner sees what a
researcher would. Episodes end by truncation after
`max_rounds`.

    from models.envs import publication_v0
    env = publication_v0.parallel_env(n_researchers=50, publish_null_prob=0.2, max_rounds=100)
    observations, infos = env.reset(seed=1)
"""

from __future__ import annotations

from typing import Any, ClassVar

from models.envs.one_world import OneWorldEnv
from models.games.publication import action_names


def parallel_env(**params: Any) -> PublicationEnv:
    """The publication game for one world; keyword arguments are game parameters plus `max_rounds`."""
    return PublicationEnv(**params)


class PublicationEnv(OneWorldEnv):
    metadata: ClassVar[dict[str, Any]] = {
        "name": "publication_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }
    game = "publication"

    def __init__(self, max_rounds: int = 100, device: str = "cpu", **params: Any) -> None:
        super().__init__(max_rounds, device, **params)
        self.action_names = action_names(self.params)
