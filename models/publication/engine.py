"""The publication game, batched over worlds: researchers choose rigor and novelty, journals publish.

Every round, in each world, each researcher picks one action: test a *novel* hypothesis or *replicate* a
published positive finding, at one of `rigor_levels` rigor values r in [0, 1]. Rigor lowers the false
positive rate linearly from `hacked_alpha` (r = 0) to `alpha` (r = 1) and costs productivity: each of the
`studies_per_round` study slots is completed with probability 1 - rigor_cost * r.

A novel hypothesis is true with probability `base_rate`. A study of a true hypothesis is positive with
probability `power`, of a false one with the researcher's alpha(r). A replication re-tests a finding drawn
uniformly from the world's literature (a ring buffer of published novel positives); each finding is
replicated once, so drawing one that was already replicated, or drawing from an empty literature, yields
no study: replicators compete for fresh findings, and when several draw the same one in a round, the first
in a randomly rotated order gets it. Journals publish every positive
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

from models.fusion import kernel
from models.params import ConfigError, batch_values
from models.publication.params import PUBLICATION_PARAMS
from models.random import RandomStreams, keyed_uniforms, world_keys
from models.reductions import world_sum
from models.rounds import Credit, RoundResult

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
        self.publish_null_prob = p["publish_null_prob"]
        # A published study's pay-off by outcome, 2 * replication + positive: the sums of its rewards.
        novelty, replication, null = p["novelty_reward"], p["replication_reward"], p["null_reward"]
        self.payoffs = torch.cat([null, novelty, replication + null, replication], 1).view(-1, 4)
        self.penalty = p["failed_replication_penalty"].view(-1, 1)
        self.rng = RandomStreams(world_keys(seeds, self.device))
        # Per world and action (novel ones, then replications): rigor, the chance that a study slot is
        # done, and the false positive rate, (W, actions). One gather by action then replaces a few
        # passes over the slots.
        rigor_values = torch.linspace(0, 1, self.rigor_levels, device=self.device)
        self.rigor = rigor_values.repeat(2).expand(self.n_worlds, -1)
        self.completion = 1 - p["rigor_cost"].view(-1, 1) * self.rigor
        alpha, hacked_alpha = p["alpha"].view(-1, 1), p["hacked_alpha"].view(-1, 1)
        self.false_positive_rate = hacked_alpha + (alpha - hacked_alpha) * self.rigor
        # Slot k is researcher k // slots's; int32, as every per-slot count: half the traffic of int64.
        n_slots = self.n_researchers * self.slots
        self._slot_index = torch.arange(n_slots, device=self.device, dtype=torch.int32).unsqueeze(0)
        self.reset()

    @staticmethod
    def role_shapes(params: dict[str, Any]) -> dict[str, tuple[int, int]]:
        """(agents, actions) per role for resolved parameters, without building a world."""
        return {"researcher": (params["n_researchers"], 2 * params["rigor_levels"])}

    @staticmethod
    def peak_bytes_per_world(params: dict[str, Any]) -> int:
        """Memory one world needs at the peak of a round, with a margin: 320 bytes per study slot (measured
        120-180 per researcher with one slot each, at a million researchers a round)."""
        return params["n_researchers"] * params["studies_per_round"] * 320

    def reset(self) -> None:
        """Empty literature, round 0."""
        shape = (self.n_worlds, self.literature_size + 1)  # the extra column absorbs discarded writes
        self.literature_true = torch.zeros(shape, dtype=torch.bool, device=self.device)
        self.literature_author = torch.zeros(shape, dtype=torch.int32, device=self.device)
        self.literature_action = torch.zeros(shape, dtype=torch.int8, device=self.device)
        # Open: a published finding not yet replicated. Empty places are closed, so that a replication
        # drawn from an empty literature finds nothing to do.
        self.literature_open = torch.zeros(shape, dtype=torch.bool, device=self.device)
        self.findings_published = torch.zeros(self.n_worlds, dtype=torch.int64, device=self.device)
        self.round_index = 0

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        """Advance every world by one round given each researcher's action (worlds, researchers)."""
        action = actions["researcher"].to(self.device, torch.int64)
        n_worlds, n_res, slots, size = self.n_worlds, self.n_researchers, self.slots, self.literature_size
        t, rng = self.round_index, self.rng

        # One uniform per slot decides completion, one picks the hypothesis, one the result.
        streams = [rng.counters(t, stream, n_res * slots) for stream in ("complete", "hypothesis", "result")]
        keys, offsets = torch.stack([key for key, _ in streams]), streams[0][1]
        wrapped, first_slot = self._slot_order(rng.uniform(t, "slot_order", (1,)))
        replicate, done, true, positive, published, target, payoff = self._studies(
            action, keyed_uniforms(keys, offsets), wrapped
        )
        novel = ~replicate

        # The literature changes at few slots, so from here on they are listed as (world, slot) pairs
        # rather than masked: a pass over every slot costs more than the handful of writes.
        literature = size + 1  # a literature row has a spare last column

        # Replicated findings leave the pool; a published failed one refutes the finding and charges
        # its original author, credited to the action that produced the finding. Once per finding: a
        # finding is replicated at most once, so the failing slots are the credit's entries.
        replicated = (done & replicate).view(n_worlds, -1)
        world, slot = replicated.nonzero().unbind(1)  # (world, slot) pairs: no division by n_slots
        replicated_finding = torch.add(target[world, slot], world, alpha=literature)
        fails = (published & ~positive).view(n_worlds, -1)[world, slot]
        world, refuted = world[fails], replicated_finding[fails]
        credit = Credit(
            worlds=n_worlds,
            world=world,
            agent=self.literature_author.view(-1)[refuted].long(),
            action=self.literature_action.view(-1)[refuted].long(),
            amount=-self.penalty.view(-1)[world],
        )
        self.literature_open.view(-1)[replicated_finding] = False
        received = payoff + credit.per_agent(n_res)

        # New published novel positives enter the literature in this round's slot order (the last `size`
        # of them if more), each at the next place of its world's ring buffer.
        new = (published & novel & positive).view(n_worlds, -1)
        rank, n_new = self._ranks_in_order(new, wrapped, first_slot)
        world, slot = (new & (rank >= n_new - size)).nonzero().unbind(1)
        place = torch.add(
            (self.findings_published[world] + rank[world, slot]) % size, world, alpha=literature
        )
        researcher = slot if slots == 1 else slot // slots
        self.literature_true.view(-1)[place] = true.view(n_worlds, -1)[world, slot]
        self.literature_open.view(-1)[place] = True
        self.literature_author.view(-1)[place] = researcher.int()
        self.literature_action.view(-1)[place] = action[world, researcher].to(torch.int8)
        self.findings_published += n_new.squeeze(1)
        self.round_index += 1

        count = torch.int32  # counting bools into int32 takes a third of the time of the default int64
        replication_studies = replicated.sum(1, dtype=count)
        tallies = PublicationTallies(
            researchers=n_res,
            novel_choices=n_res - replicate.sum((1, 2), dtype=count),
            rigor_sum=world_sum(self.rigor.gather(1, action), 1),
            novel_studies=done.sum((1, 2), dtype=count) - replication_studies,
            replication_studies=replication_studies,
            replication_successes=(positive & replicate).sum((1, 2), dtype=count),
            published_novel_positives=n_new.squeeze(1),
            published_false_positives=(new & ~true.view(n_worlds, -1)).sum(1, dtype=count),
            publications=published.sum((1, 2), dtype=count),
            payoff_sum=world_sum(received, 1),
        )
        return RoundResult(rewards={"researcher": received}, credit={"researcher": credit}, tallies=tallies)

    @kernel(vectorize=False)
    def _studies(
        self, action: torch.Tensor, uniforms: torch.Tensor, wrapped: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """The round's studies, elementwise over the slots (one kernel, fused where it pays): which get done,
        on what hypothesis, with what result, published or not, and each researcher's pay-off for them.
        `uniforms` (3, W, R * slots) are the slots' uniforms for completion, hypothesis and result.
        Returns replicate (W, R, 1), done, true, positive, published (W, R, slots), each slot's target
        finding (W, R * slots) and the pay-off (W, R)."""
        n_worlds, n_res, slots = self.n_worlds, self.n_researchers, self.slots
        completion, hypothesis, result = uniforms.view(3, n_worlds, n_res, slots)
        replicate = (action >= self.rigor_levels).unsqueeze(-1)  # (W, R, 1)
        alpha = self.false_positive_rate.gather(1, action).unsqueeze(-1)  # (W, R, 1)
        done = completion < self.completion.gather(1, action).unsqueeze(-1)

        # The hypothesis uniform gives a replication's target, or whether a novel hypothesis is true.
        filled = self.findings_published.clamp(max=self.literature_size)  # (W,)
        target = (hypothesis.view(n_worlds, -1) * filled.unsqueeze(1)).long()
        target = torch.minimum(target, (filled - 1).clamp(min=0).unsqueeze(1))
        fresh = self.literature_open.gather(1, target).view(n_worlds, n_res, slots)
        contender = (done & replicate & fresh).view(n_worlds, -1)
        done = torch.where(replicate, self._first_claims(target, contender, wrapped), done)
        target_true = self.literature_true.gather(1, target).view(n_worlds, n_res, slots)
        true = torch.where(replicate, target_true, hypothesis < self.base_rate)

        # Results and publication: one uniform u decides both. Positive if u < p; a null result is
        # published with probability publish_null_prob, that is if (u - p) / (1 - p) < publish_null_prob,
        # since given a null result (u - p) / (1 - p) is uniform and independent of the outcome.
        p_positive = torch.where(true, self.power, alpha)
        positive = done & (result < p_positive)
        published = done & (result < p_positive + self.publish_null_prob * (1 - p_positive))
        outcome = (replicate.to(torch.int32) * 2 + positive).view(n_worlds, -1).long()
        payoff = (published.view(n_worlds, -1) * self.payoffs.gather(1, outcome)).view_as(done).sum(-1)
        return replicate, done, true, positive, published, target, payoff

    def _slot_order(self, uniform: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """This round's order of the study slots: from slot k0 to the last, then from slot 0 to k0 - 1.
        Returns whether each slot comes after the wrap (k < k0), (W, R * slots), and k0, (W, 1).

        Moves within a round are simultaneous, but a scarce finding goes to one replicator and a full
        literature keeps only some new findings: who comes first is decided by this order, rotated to a
        random first slot each round in each world, so that no researcher is favoured by its index.
        """
        n = self.n_researchers * self.slots
        offset = (uniform * n).int()  # (W, 1), from this round's uniform of the "slot_order" stream
        first_slot = (n - offset) % n
        return self._slot_index < first_slot, first_slot

    def _first_claims(
        self, target: torch.Tensor, contender: torch.Tensor, wrapped: torch.Tensor
    ) -> torch.Tensor:
        """Whether each slot is a contender and the first in this round's order to claim its target
        finding, (W, R, slots).

        A slot's key k + n if it comes after the wrap, else k, orders the slots as this round's order does;
        keys are distinct, so only the winning contender matches its finding's least key.
        """
        n = wrapped.shape[1]
        key = torch.where(wrapped, self._slot_index + n, self._slot_index)
        first = torch.full_like(self.literature_author, 2 * n)
        first.scatter_reduce_(1, torch.where(contender, target, self.literature_size), key, "amin")
        return (first.gather(1, target) == key).view(self.n_worlds, self.n_researchers, self.slots)

    def _ranks_in_order(
        self, new: torch.Tensor, wrapped: torch.Tensor, first_slot: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Each new finding's rank among the round's new findings in slot order, and their count (W, 1).

        Without permuting: the order starts at slot k0 = first_slot, so a slot from k0 on is preceded by
        the new ones in [k0, k), and a slot before k0 by all those from k0 on plus those in [0, k).
        """
        count = new.cumsum(1, dtype=torch.int32)  # new ones in [0, k]; int32 is 12x faster than int64
        n_new = count[:, -1:].clone()  # not a view: it outlives the round in the tallies
        before_start = torch.where(first_slot > 0, count.gather(1, (first_slot - 1).clamp(min=0).long()), 0)
        return count.add_(torch.where(wrapped, n_new - 1 - before_start, -1 - before_start)), n_new
