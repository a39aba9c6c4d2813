"""The publication game's rules: researchers choose rigor and novelty, journals publish, findings are
replicated (after Ioannidis 2005, Smaldino & McElreath 2016, Higginson & Munafò 2016).

Every round, in each world, each researcher picks one action: test a *novel* hypothesis or *replicate* a
published positive finding, at one of `rigor_levels` rigor values r in [0, 1]. Rigor lowers the false
positive rate linearly from `hacked_alpha` (r = 0) to `alpha` (r = 1) and costs productivity: each of the
`studies_per_round` study slots is completed with probability 1 - rigor_cost * r.

A novel hypothesis is true with probability `base_rate`. A study of a true hypothesis is positive with
probability `power`, of a false one with the researcher's alpha(r). A replication re-tests a finding drawn
uniformly from the world's literature (models/games/publication/literature.py: the published novel
positives, the last `literature_size` of them); each finding is replicated once, so drawing one that was
already replicated, or drawing from an empty literature, yields no study: replicators compete for fresh
findings, and when several draw the same one in a round, the first in this round's order gets it. Journals
publish every positive result and a null result with probability `publish_null_prob`.

Payoffs per published study are literal sums of the rewards: `novelty_reward` if novel and positive,
`replication_reward` if a replication, plus `null_reward` if null. A published failed replication refutes
the finding and charges `failed_replication_penalty` to the original author, once per finding: that charge
is delayed credit for the action that produced the finding (`RoundResult.credit`), kept apart from the
round's payoffs, so learners can connect sloppy work to its later cost. An unpublished failed replication
leaves the finding standing: publication bias hides it.

This module is the specification: `PublicationRules.step` states the round as the rules above do, for a
batch of worlds at once. kernels.py plays the same round faster, with the same numbers (tests check it).
"""

from __future__ import annotations

from typing import Any

import torch

from models.game import Observations, Role, RoundResult
from models.games.publication.literature import Literature
from models.games.publication.params import PUBLICATION_PARAMS
from models.params import ConfigError, batch_values
from models.random import RandomStreams, world_keys

RESEARCHER = Role(
    "researcher",
    "chooses a novel study or a replication, at a rigor level; paid per published study",
    agents=lambda p: p["n_researchers"],
    actions=lambda p: 2 * p["rigor_levels"],
    observation=lambda p: OBSERVATION_SIZE,
)
# A researcher observes what it received last round, the penalty among it, and its world's last
# replication rate (0 before any replication).
OBSERVATION_SIZE = 3


def peak_bytes_per_world(params: dict[str, Any]) -> int:
    """Memory one world needs at the peak of a round, with a margin: 320 bytes per study slot (measured
    190-210 per researcher with one slot each at 10 million researchers a round, fused, the process's
    whole peak)."""
    return params["n_researchers"] * params["studies_per_round"] * 320


class PublicationRules:
    """A batch of worlds of the publication game, stepped by the rules (see the module docstring)."""

    def __init__(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ) -> None:
        if len(worlds) != len(seeds) or not worlds:
            raise ConfigError("a batch needs one seed per world and at least one world.")
        self.device = torch.device(device)
        self.n_worlds = len(worlds)
        self.p = batch_values(PUBLICATION_PARAMS, worlds, "game", self.device)
        self.n_researchers = self.p["n_researchers"]
        self.rigor_levels = self.p["rigor_levels"]
        self.slots = self.p["studies_per_round"]
        self.literature_size = self.p["literature_size"] or self.n_researchers
        self.roles = {"researcher": (self.n_researchers, 2 * self.rigor_levels)}
        self.rng = RandomStreams(world_keys(seeds, self.device))
        self.reset()

    @classmethod
    def supports(cls, params: dict[str, Any]) -> bool:
        """The rules play every configuration."""
        return True

    def reset(self) -> None:
        """Empty literature, round 0."""
        self.literature = Literature.empty(self.n_worlds, self.literature_size, self.device)
        self.findings_published = torch.zeros(self.n_worlds, dtype=torch.int64, device=self.device)
        self.round_index = 0
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def observe(self, role: str) -> torch.Tensor:
        """Each researcher's observation, (worlds, researchers, 3): what it received last round, the
        penalty among it, and its world's replication rate last round (zeros before the first round)."""
        shape = (self.n_worlds, self.n_researchers)
        if self._last is None:
            return torch.zeros(*shape, OBSERVATION_SIZE, device=self.device)
        received, penalty, rate = self._last
        return torch.stack([received, penalty, rate.float().view(-1, 1).expand(shape)], -1)

    def _remember(self, received: torch.Tensor, penalty: torch.Tensor, tallies: Any) -> Observations:
        """Keep what the next observation is made of (references, no copies) and return the round's
        observations, made on demand."""
        studies = tallies.replication_studies
        rate = torch.where(studies > 0, tallies.replication_successes / studies.clamp(min=1), 0.0)
        self._last = (received, penalty, rate)
        return Observations({"researcher": lambda: self.observe("researcher")})

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        raise NotImplementedError  # written by the reference-step work
