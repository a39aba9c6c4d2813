"""The publication game, batched over worlds: researchers choose rigor and novelty, journals publish.

Every round, in each world, each researcher picks one action: test a *novel* hypothesis or *replicate* a
published positive finding, at one of `rigor_levels` rigor values r in [0, 1]. Rigor lowers the false
positive rate linearly from `hacked_alpha` (r = 0) to `alpha` (r = 1) and costs productivity: each of the
`studies_per_round` study slots is completed with probability 1 - rigor_cost * r.

A novel hypothesis is true with probability `base_rate`. A study of a true hypothesis is positive with
probability `power`, of a false one with the researcher's alpha(r). A replication re-tests a finding drawn
uniformly from the world's literature (a ring buffer of published novel positives); each finding is
replicated once, so drawing one that was already replicated, or drawing from an empty literature, yields
no study (replicators compete for fresh findings). Journals publish every positive
result and a null result with probability `publish_null_prob`.

Payoffs per published study are literal sums of the rewards: `novelty_reward` if novel and positive,
`replication_reward` if a replication, `null_reward` if null. A published failed replication refutes the
finding and charges `failed_replication_penalty` to the original author, once per finding; that charge is
credited back to the action that produced the finding (`RoundResult.credit`), so learners can connect
sloppy work to its later cost. An unpublished failed replication leaves the finding standing: publication
bias hides it.

State is a handful of tensors shaped (worlds, ...); one `step` advances every world, with no per-agent
Python. Parameters may differ per world, except the shape parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from models.params import ConfigError, batch_values
from models.publication.params import PUBLICATION_PARAMS
from models.random import RandomStreams, world_keys
from models.rounds import RoundResult

NOVEL, REPLICATE = 0, 1


@dataclass
class PublicationTallies:
    """Per-world counts of one round, the inputs of every publication metric; shapes (worlds,)."""

    researchers: int
    novel_choices: torch.Tensor
    rigor_sum: torch.Tensor
    novel_studies: torch.Tensor
    replication_studies: torch.Tensor
    replication_successes: torch.Tensor
    published_novel_positives: torch.Tensor
    published_false_positives: torch.Tensor
    publications: torch.Tensor
    payoff_sum: torch.Tensor


def action_names(rigor_levels: int) -> list[str]:
    """Human-readable names of the researcher actions, in action-index order."""
    rigor = torch.linspace(0, 1, rigor_levels).tolist()
    return [f"{kind} at rigor {r:.2f}" for kind in ("novel", "replicate") for r in rigor]


class PublicationGame:
    """Batched engine of the publication game (see the module docstring for the rules)."""

    name = "publication"
    params = PUBLICATION_PARAMS

    def __init__(
        self,
        worlds: list[dict[str, Any]],
        seeds: list[int],
        device: torch.device | str = "cpu",
    ) -> None:
        if len(worlds) != len(seeds) or not worlds:
            raise ConfigError("a batch needs one seed per world and at least one world.")
        self.device = torch.device(device)
        self.n_worlds = len(worlds)
        p = batch_values(PUBLICATION_PARAMS, worlds, "game", self.device)
        self.n_researchers = p["n_researchers"]
        self.rigor_levels = p["rigor_levels"]
        self.slots = p["studies_per_round"]
        self.literature_size = p["literature_size"] or self.n_researchers
        self.n_actions = 2 * self.rigor_levels
        self.roles = self.role_shapes(worlds[0])
        self.base_rate, self.power = p["base_rate"], p["power"]
        self.alpha, self.hacked_alpha, self.rigor_cost = p["alpha"], p["hacked_alpha"], p["rigor_cost"]
        self.publish_null_prob = p["publish_null_prob"]
        self.novelty_reward, self.replication_reward = p["novelty_reward"], p["replication_reward"]
        self.null_reward = p["null_reward"]
        self.penalty = p["failed_replication_penalty"].view(-1, 1)
        self.rigor_values = torch.linspace(0, 1, self.rigor_levels, device=self.device)
        self.rng = RandomStreams(world_keys(seeds, self.device))
        self.reset()

    @staticmethod
    def role_shapes(params: dict[str, Any]) -> dict[str, tuple[int, int]]:
        """(agents, actions) per role for resolved parameters, without building a world."""
        return {"researcher": (params["n_researchers"], 2 * params["rigor_levels"])}

    @staticmethod
    def peak_bytes_per_world(params: dict[str, Any]) -> int:
        """Memory one world needs at the peak of a round: measured, about 320 bytes per study slot."""
        return params["n_researchers"] * params["studies_per_round"] * 320

    def reset(self) -> None:
        """Empty literature, round 0."""
        shape = (self.n_worlds, self.literature_size + 1)  # the extra column absorbs discarded writes
        self.literature_true = torch.zeros(shape, dtype=torch.bool, device=self.device)
        self.literature_author = torch.zeros(shape, dtype=torch.int32, device=self.device)
        self.literature_action = torch.zeros(shape, dtype=torch.int8, device=self.device)
        self.literature_replicated = torch.zeros(shape, dtype=torch.bool, device=self.device)
        self.findings_published = torch.zeros(self.n_worlds, dtype=torch.int64, device=self.device)
        self.round_index = 0

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        """Advance every world by one round given each researcher's action (worlds, researchers)."""
        action = actions["researcher"].to(self.device, torch.int64)
        n_worlds, n_res, slots, size = self.n_worlds, self.n_researchers, self.slots, self.literature_size
        t, rng = self.round_index, self.rng

        replicate = (action >= self.rigor_levels).unsqueeze(-1)  # (W, R, 1)
        rigor = self.rigor_values[action % self.rigor_levels].unsqueeze(-1)  # (W, R, 1)
        alpha = self.hacked_alpha + (self.alpha - self.hacked_alpha) * rigor

        # Which study slots get done, on what hypothesis.
        filled = self.findings_published.clamp(max=size)  # (W,)
        has_literature = (filled > 0).view(-1, 1, 1)
        done = rng.uniform(t, "complete", (n_res, slots)) < 1 - self.rigor_cost * rigor
        done &= ~replicate | has_literature
        target = (rng.uniform(t, "target", (n_res * slots,)) * filled.unsqueeze(1)).long()
        target = torch.minimum(target, (filled - 1).clamp(min=0).unsqueeze(1))
        fresh = ~self.literature_replicated.gather(1, target).view(n_worlds, n_res, slots)
        done &= ~replicate | fresh
        target_true = self.literature_true.gather(1, target).view(n_worlds, n_res, slots)
        novel_true = rng.uniform(t, "truth", (n_res, slots)) < self.base_rate
        true = torch.where(replicate, target_true, novel_true)

        # Results and publication.
        p_positive = torch.where(true, self.power, alpha)
        positive = done & (rng.uniform(t, "positive", (n_res, slots)) < p_positive)
        published = done & (positive | (rng.uniform(t, "publish", (n_res, slots)) < self.publish_null_prob))
        novel = ~replicate
        slot_payoff = published * (
            self.novelty_reward * (novel & positive)
            + self.replication_reward * replicate
            + self.null_reward * ~positive
        )
        payoff = slot_payoff.sum(-1)

        # Replicated findings leave the pool; a published failed one refutes the finding and charges
        # its original author once, credited to the action that produced the finding.
        replicated = (done & replicate).view(n_worlds, -1)
        failed = (published & replicate & ~positive).view(n_worlds, -1)
        refuted = torch.zeros_like(self.literature_replicated)
        refuted.scatter_(1, torch.where(failed, target, size), True)
        refuted[:, size] = False
        self.literature_replicated.scatter_(1, torch.where(replicated, target, size), True)
        charged = self.literature_author.long() * self.n_actions + self.literature_action.long()
        credit = torch.zeros(n_worlds, n_res * self.n_actions, device=self.device)
        credit.scatter_add_(1, charged, -self.penalty * refuted)
        credit = credit.view(n_worlds, n_res, self.n_actions)
        received = payoff + credit.sum(-1)

        # New published novel positives enter the literature (the newest `size` of them if more).
        new = (published & novel & positive).view(n_worlds, -1)
        rank = new.cumsum(1) - 1
        n_new = new.sum(1, keepdim=True)
        keep = new & (rank >= n_new - size)
        slot = torch.where(keep, (self.findings_published.unsqueeze(1) + rank) % size, size)
        researcher = torch.arange(n_res, device=self.device, dtype=torch.int32)
        self.literature_true.scatter_(1, slot, true.view(n_worlds, -1))
        self.literature_replicated.scatter_(1, slot, False)
        self.literature_author.scatter_(1, slot, researcher.repeat_interleave(slots).expand(n_worlds, -1))
        self.literature_action.scatter_(1, slot, action.to(torch.int8).repeat_interleave(slots, dim=1))
        self.findings_published += n_new.squeeze(1)
        self.round_index += 1

        tallies = PublicationTallies(
            researchers=n_res,
            novel_choices=(~replicate).sum((1, 2)),
            rigor_sum=rigor.sum((1, 2)),
            novel_studies=(done & novel).sum((1, 2)),
            replication_studies=(done & replicate).sum((1, 2)),
            replication_successes=(positive & replicate).sum((1, 2)),
            published_novel_positives=n_new.squeeze(1),
            published_false_positives=(new & ~true.view(n_worlds, -1)).sum(1),
            publications=published.sum((1, 2)),
            payoff_sum=received.sum(1),
        )
        return RoundResult(rewards={"researcher": received}, credit={"researcher": credit}, tallies=tallies)
