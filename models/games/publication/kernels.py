"""The publication round, fast: the rules of rules.py as a few kernels (models/speed), with the same
numbers bit for bit (tests/models/test_publication_rules.py checks the eager kernels against the rules;
tests/models/test_fusion.py the fused ones against the eager).

What makes it fast, none of which changes a rule:
- the literature is one int32 word per place (open, true, the producing action, the author: the parameters'
  bounds make it fit), so a claim's lookup is one gather and a new finding's entry one scatter, and an
  extra column absorbs the writes of slots that add nothing;
- the round's uniforms are hashed inside the kernels from the streams' counters, never stored;
- the slots' outcomes are five bits of one int32, counted by one kernel;
- new findings are placed in the ring with additions only (_ring_places), no division per slot.
It keeps only what the round needs: the reference's per-finding record (hypothesis numbers, published
replication tallies) is the rules' alone.
"""

from __future__ import annotations

from typing import Any

import torch

from models.game import Credit, RoundResult
from models.games.publication.actions import rigor, rigor_level
from models.games.publication.beliefs import literature_tallies
from models.games.publication.literature import Literature
from models.games.publication.params import PUBLICATION_PARAMS
from models.games.publication.rules import PublicationRules
from models.games.publication.tallies import PublicationTallies
from models.random import hashed_uniforms
from models.random_kernels import hashed_draws
from models.reductions import int32_count, world_sum
from models.speed import kernel

# Bits of a study slot's outcome: the researcher replicates, the study gets done, its hypothesis is true, it
# comes out positive, it is published.
REPLICATE, DONE, TRUE, POSITIVE, PUBLISHED = 1, 2, 4, 8, 16
FAILED_REPLICATION = REPLICATE | DONE | PUBLISHED | POSITIVE  # of which all but POSITIVE: a refutation

# A place of the literature is one int32 word: bit 0, open (published and not yet replicated); bit 1, true;
# bits 2-6, the action that produced the finding; bits 7-30, its author. One word makes a claim's lookup
# one gather and a new finding's entry one scatter; the parameters' bounds make it fit.
FINDING_OPEN, FINDING_TRUE, ACTION_SHIFT, AUTHOR_SHIFT = 1, 2, 2, 7
ACTION_MASK = (1 << (AUTHOR_SHIFT - ACTION_SHIFT)) - 1
assert 2 * PUBLICATION_PARAMS.params["rigor_levels"].high - 1 <= ACTION_MASK
assert PUBLICATION_PARAMS.params["n_researchers"].high <= 1 << (31 - AUTHOR_SHIFT)


# Once a finding is replicated (and closed: the kernels implement one replication per finding), its action
# is no longer needed: its action bits hold what became of the replication, for the literature's beliefs.
REPLICATED_UNPUBLISHED, CONFIRMED, REFUTED = 0, 1, 2
RECORD_CLASSES = (
    3  # a finding's published record: (1, 0) open or unpublished, (2, 0) confirmed, (1, 1) refuted
)


def finding_author(word: torch.Tensor) -> torch.Tensor:
    """The researcher who published the finding in each literature word."""
    return word >> AUTHOR_SHIFT


def finding_action(word: torch.Tensor) -> torch.Tensor:
    """The action that produced the finding in each literature word."""
    return (word >> ACTION_SHIFT) & ACTION_MASK


# The parameters whose rules these kernels implement. A parameter added to the rules later runs on the
# reference step wherever it is away from its default, until the kernels implement it too.
IMPLEMENTS = frozenset(
    {"n_researchers", "rigor_levels", "studies_per_round", "literature_size", "base_rate", "power", "alpha",
     "hacked_alpha", "rigor_cost", "publish_null_prob", "novelty_reward", "replication_reward", "null_reward",
     "failed_replication_penalty", "canonization_threshold"}
)  # fmt: skip


class PublicationKernels(PublicationRules):
    """The publication game's round as kernels: PublicationRules' numbers, faster."""

    hashing = staticmethod(hashed_draws)  # a fused batch's large draws hashed compiled

    @classmethod
    def supports(cls, params: dict[str, Any]) -> bool:
        """Whether every rule these parameters switch on is implemented here (see IMPLEMENTS)."""
        defaults = PUBLICATION_PARAMS.defaults_for(params)
        return all(name in IMPLEMENTS or params[name] == defaults[name] for name in defaults)

    def __init__(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(worlds, seeds, device)
        # Slot k is researcher k // slots's; int32, as every per-slot count: half the traffic of int64.
        n_slots = self.n_researchers * self.slots
        self._slot_index = torch.arange(n_slots, device=self.device, dtype=torch.int32).unsqueeze(0)

    def reset(self) -> None:
        """Empty literature, round 0 (the rules' reset, with the literature as words)."""
        self.findings_published = torch.zeros(self.n_worlds, dtype=torch.int64, device=self.device)
        self.round_index = 0
        self._last = None
        # The extra column absorbs discarded writes. Empty places are closed, so that a replication drawn
        # from an empty literature finds nothing to do.
        shape = (self.n_worlds, self.literature_size + 1)
        self.words = torch.zeros(shape, dtype=torch.int32, device=self.device)

    @property
    def literature(self) -> Literature:
        """The literature as the rules hold it, decoded from the words; only the columns the round needs
        are kept (hypothesis numbers, replication counts and rounds are -1 and 0 here), and a closed
        finding's action is its replication record (REPLICATED_UNPUBLISHED, CONFIRMED or REFUTED)."""
        words = self.words[:, : self.literature_size]
        empty = Literature.empty(self.n_worlds, self.literature_size, self.device)
        empty.true = (words & FINDING_TRUE) != 0
        empty.open = (words & FINDING_OPEN) != 0
        empty.author = finding_author(words).long()
        empty.action = finding_action(words).long()
        record = torch.where(empty.open, 0, empty.action)
        empty.published_positive = (record == CONFIRMED).int()
        empty.published_negative = (record == REFUTED).int()
        return empty

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        """Advance every world by one round given each researcher's action (worlds, researchers)."""
        action = actions["researcher"].to(self.device, torch.int32)
        n_worlds, n_res, slots, size = self.n_worlds, self.n_researchers, self.slots, self.literature_size
        t, rng = self.round_index, self.rng
        self._read_params()

        # One uniform per slot decides completion, one picks the hypothesis, one the result; the kernels
        # hash them from these counters themselves, so the draws never reach memory.
        streams = [rng.counters(t, stream, n_res * slots) for stream in ("complete", "hypothesis", "result")]
        keys, offsets = torch.stack([key for key, _ in streams]), streams[0][1]
        first_slot = self._first_slot()
        filled = self.findings_published.clamp(max=size).view(-1, 1)
        claim, order = self._claims(action, keys, offsets, filled, first_slot)
        # The finding each slot claims, looked up at once (an eager gather: inductor's loops over indirect
        # loads are the slow part of a fused round), and each finding's first claim in this round's order:
        # its least order key among the claims (2n where none).
        finding = self.words.gather(1, claim)
        first_claim = torch.full_like(self.words, 2 * order.shape[1])
        first_claim.scatter_reduce_(1, claim, order, "amin")
        first = first_claim.gather(1, claim)
        outcome, pay, new = self._outcomes(action, keys, offsets, finding, first, order)
        outcome, payoff = outcome.view(n_worlds, -1), pay.sum(-1) if slots > 1 else pay.view(n_worlds, -1)

        # A published failed replication refutes its finding and charges the finding's author, credited to
        # the action that produced it; once per finding, since a finding is replicated at most once. The
        # failing slots are few, so they are listed as (world, slot) pairs: the credit's entries.
        world, slot = ((outcome & FAILED_REPLICATION) == REPLICATE | DONE | PUBLISHED).nonzero().unbind(1)
        refuted = finding[world, slot]
        credit = Credit(
            worlds=n_worlds,
            world=world,
            agent=finding_author(refuted).long(),
            action=finding_action(refuted).long(),
            amount=-self.penalty[world],
        )
        penalties = credit.per_agent(n_res)
        received = payoff + penalties

        # Replicated findings leave the pool, and new published novel positives enter it in this round's
        # slot order: `count` numbers them, new ones in slots [0, k].
        count = new.cumsum(1, dtype=torch.int32)  # int32 is 12x faster than int64
        n_new = count[:, -1:].clone()  # not a view: it outlives the round in the tallies
        places = self._ring_places(count, n_new, first_slot)
        self.words = self._publish(action, outcome, new, first_claim, count, n_new, first_slot, *places)
        self.findings_published += n_new.squeeze(1)
        self.round_index += 1

        counts = self._counts(outcome, action)
        replicating, done, replication_studies, successes, false_positives, publications, levels = counts
        tallies = PublicationTallies(
            researchers=n_res,
            novel_choices=n_res - replicating // slots,
            rigor_sum=levels / (self.rigor_levels - 1),  # a sum of whole levels: exact in any order
            novel_studies=done - replication_studies,
            replication_studies=replication_studies,
            replication_successes=successes,
            published_novel_positives=n_new.squeeze(1),
            published_false_positives=false_positives,
            publications=publications,
            payoff_sum=world_sum(received, 1),
            mean_effort=torch.full((n_worlds,), torch.nan, device=self.device),
            mean_power=self.p["power"].view(-1).clone(),
            mean_qrp=self.p["qrp_bias"].view(-1).clone(),
            **self._literature_tallies(),
        )
        observations = self._remember(received, credit, tallies)
        # One journal following the game's policy (the kernels' parameters), no citations.
        published = publications.float().view(-1, 1)
        journal_pay = self._journals_outcome(published, done.float().view(-1, 1), torch.zeros_like(published))
        payoffs = {"researcher": payoff, "journal": journal_pay}
        return RoundResult(payoffs, {"researcher": credit}, observations, tallies)

    def _literature_tallies(self) -> dict[str, torch.Tensor]:
        """What the literature believes (beliefs.py), counted by class: each filled place's truth and
        replication record (an open finding has the record of an unpublished replication: none)."""
        size = self.literature_size
        words = self.words[:, :size]
        filled = torch.arange(size, device=self.device) < self.findings_published.clamp(max=size).view(-1, 1)
        record = torch.where((words & FINDING_OPEN) != 0, 0, finding_action(words))
        code = ((words & FINDING_TRUE) != 0).int() * RECORD_CLASSES + record
        code = torch.where(filled, code, 2 * RECORD_CLASSES)  # empty places: a class of their own
        world = torch.arange(self.n_worlds, device=self.device).view(-1, 1) * (2 * RECORD_CLASSES + 1)
        counts = (code + world).flatten().bincount(minlength=self.n_worlds * (2 * RECORD_CLASSES + 1))
        counts = counts.view(self.n_worlds, -1)[:, : 2 * RECORD_CLASSES].int()
        positive = torch.tensor([1, 2, 1] * 2, device=self.device).expand(self.n_worlds, -1)
        negative = torch.tensor([0, 0, 1] * 2, device=self.device).expand(self.n_worlds, -1)
        true = torch.tensor([False] * 3 + [True] * 3, device=self.device).expand(self.n_worlds, -1)
        tallies = literature_tallies(self.p, positive, negative, true, counts)
        return {f"literature_{name}" if name in ("hypotheses", "true") else name: value
                for name, value in vars(tallies).items()}  # fmt: skip

    def _read_params(self) -> None:
        """This round's per-world parameters, (W, 1, 1) each, as the kernels read them: read every round,
        since an institution may set them between rounds."""
        p = self.p
        self.base_rate, self.power, self.publish_null_prob = (
            p["base_rate"],
            p["power"],
            p["publish_null_prob"],
        )
        self.rigor_cost, self.alpha, self.hacked_alpha = p["rigor_cost"], p["alpha"], p["hacked_alpha"]
        # A published study's pay-off by outcome: the sums of its rewards.
        novelty, replication, null = p["novelty_reward"], p["replication_reward"], p["null_reward"]
        self.payoffs = (null, novelty, replication + null, replication)
        self.penalty = p["failed_replication_penalty"].view(-1)

    def _attempts(
        self, action: torch.Tensor, keys: torch.Tensor, offsets: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """Elementwise over the slots, what both kernels need: whether the researcher replicates and its
        rigor, (W, R, 1), whether each slot gets done before any competition for findings, and the slot's
        hypothesis uniform, (W, R, slots). Recomputed by each kernel: hashing is cheaper than a round trip
        through memory."""
        shape = (self.n_worlds, self.n_researchers, self.slots)
        completion, hypothesis = (hashed_uniforms(key + offsets).view(shape) for key in keys[:2])
        replicate = (action >= self.rigor_levels).unsqueeze(-1)
        effort = rigor(action, self.rigor_levels).unsqueeze(-1)
        done = completion < 1 - self.rigor_cost * effort
        return replicate, effort, done, hypothesis

    @kernel
    def _claims(
        self,
        action: torch.Tensor,
        keys: torch.Tensor,
        offsets: torch.Tensor,
        filled: torch.Tensor,
        first_slot: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Which finding each slot claims for replication, and its place in this round's order, (W, R *
        slots); one kernel, fused where it pays.

        A replicator's slot that gets done claims a finding drawn uniformly from its world's literature;
        every other slot claims the spare last column, which is never open. The order key of slot k is k +
        n if it comes after this round's wrap (k < first_slot), else k: distinct keys, in this round's
        order (see _first_slot), int32 as the literature's columns are.
        """
        n = self.n_researchers * self.slots
        replicate, _, done, hypothesis = self._attempts(action, keys, offsets)
        target = (hypothesis.view(self.n_worlds, -1) * filled).long()
        target = torch.minimum(target, (filled - 1).clamp(min=0))
        claiming = (replicate & done).view(self.n_worlds, -1)
        claim = torch.where(claiming, target, self.literature_size)
        order = torch.where(self._slot_index < first_slot, self._slot_index + n, self._slot_index)
        return claim, order

    @kernel
    def _outcomes(
        self,
        action: torch.Tensor,
        keys: torch.Tensor,
        offsets: torch.Tensor,
        finding: torch.Tensor,
        first: torch.Tensor,
        order: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The round's studies, elementwise over the slots (one kernel, fused where it pays): which get done,
        on what hypothesis, with what result, published or not, and what each pays.

        `finding` is the literature's word for each slot's claimed finding, `first` the least order key
        among its claims, and `order` the slot's own, (W, R * slots). Returns each slot's outcome (a sum of
        the bits REPLICATE, DONE, TRUE, POSITIVE, PUBLISHED) and pay-off, (W, R, slots), and whether it is
        a new finding (a published novel positive: 1 or 0), (W, R * slots). Per-slot answers are int32
        rather than bools, and summed outside: compiled, a bool costs 9x an int32 to store, and a sum
        within the kernel makes inductor store its inputs, bools among them (10x the kernel's time).
        """
        shape = (self.n_worlds, self.n_researchers, self.slots)
        replicate, effort, done, hypothesis = self._attempts(action, keys, offsets)
        result = hashed_uniforms(keys[2] + offsets).view(shape)
        finding, first, order = finding.view(shape), first.view(shape), order.view(shape)
        # A replication is done by the first to claim an open finding; its hypothesis is that finding.
        done = torch.where(replicate, (first == order) & ((finding & FINDING_OPEN) != 0), done)
        true = torch.where(replicate, (finding & FINDING_TRUE) != 0, hypothesis < self.base_rate)

        # Results and publication: one uniform u decides both. Positive if u < p; a null result is
        # published with probability publish_null_prob, that is if (u - p) / (1 - p) < publish_null_prob,
        # since given a null result (u - p) / (1 - p) is uniform and independent of the outcome.
        alpha = self.hacked_alpha + (self.alpha - self.hacked_alpha) * effort
        p_positive = torch.where(true, self.power, alpha)
        positive = done & (result < p_positive)
        published = done & (result < p_positive + self.publish_null_prob * (1 - p_positive))
        null, novelty, replication_null, replication = self.payoffs
        pay_replication = torch.where(positive, replication, replication_null)
        pay = torch.where(replicate, pay_replication, torch.where(positive, novelty, null))
        flags = (replicate, done, true, positive, published)  # REPLICATE, DONE, TRUE, POSITIVE, PUBLISHED
        outcome = sum(flag.to(torch.int32) << bit for bit, flag in enumerate(flags))
        new = (published & positive & ~replicate).to(torch.int32).view(self.n_worlds, -1)
        return outcome, torch.where(published, pay, 0.0), new

    @kernel
    def _counts(self, outcome: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Per world, from the slots' outcomes (W, R * slots): the slots whose researcher replicates, the
        studies done, the replications done, the successful ones, the published false positives (novel,
        positive, not true), and the publications; and from the actions (W, R), the sum of the chosen
        rigor levels (0 to rigor_levels - 1). All int32 counts: a third of the time of int64 ones."""

        def having(bits: int, without: int = 0) -> torch.Tensor:
            """How many slots have all of `bits` and none of `without`."""
            return int32_count((outcome & (bits | without)) == bits, 1)

        return (
            having(REPLICATE),
            having(DONE),
            having(REPLICATE | DONE),
            having(REPLICATE | POSITIVE),
            having(PUBLISHED | POSITIVE, without=REPLICATE | TRUE),
            having(PUBLISHED),
            int32_count(rigor_level(action, self.rigor_levels), 1),
        )

    def _ring_places(
        self, count: torch.Tensor, n_new: torch.Tensor, first_slot: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per world, (W, 1) each, what places this round's new findings in the ring buffer: `lead`, such
        that a new finding in slot k is the q-th kept one for q = count[k] - lead (+ n_new if k comes before
        first_slot), and `base`, the place of the first kept one. Computed per world, so that the kernel's
        per-slot work is additions: a division per slot (the ring's modulo) cost more than the rest.

        `count` numbers the new findings in slot order from slot 0 (new ones in [0, k]), and this round's
        order starts at slot k0 = first_slot: a slot from k0 on is preceded by the new ones in [k0, k), a
        slot before k0 by all those from k0 on plus those in [0, k). Only the last literature_size of
        them are kept: the first `skipped` are not.
        """
        before_start = torch.where(first_slot > 0, count.gather(1, (first_slot - 1).clamp(min=0).long()), 0)
        skipped = (n_new - self.literature_size).clamp(min=0)
        base = (self.findings_published.view(-1, 1) + skipped) % self.literature_size
        return 1 + before_start + skipped, base.int()

    @kernel
    def _publish(
        self,
        action: torch.Tensor,
        outcome: torch.Tensor,
        new: torch.Tensor,
        first_claim: torch.Tensor,
        count: torch.Tensor,
        n_new: torch.Tensor,
        first_slot: torch.Tensor,
        lead: torch.Tensor,
        base: torch.Tensor,
    ) -> torch.Tensor:
        """The literature after this round's studies (one kernel, fused where it pays): the findings claimed
        this round are closed, since the first claim of an open finding replicates it, with the record of
        that replication in place of their action, and the kept new
        ones enter each world's ring buffer at its next places, in this round's slot order (_ring_places).

        A dense scatter, every slot writing and those that add nothing writing 0 to the spare last column,
        costs less than listing the new ones first.
        """
        size, n_slots = self.literature_size, self.n_researchers * self.slots
        # The first claim of an open finding replicated it: the finding closes, and its action bits take the
        # replication's record, read from that claimant's outcome (its slot from its order key).
        claimed = first_claim < 2 * n_slots
        first = torch.where(first_claim >= n_slots, first_claim - n_slots, first_claim).clamp(max=n_slots - 1)
        result = outcome.gather(1, first.long())
        record = torch.where(
            (result & PUBLISHED) != 0,
            torch.where((result & POSITIVE) != 0, CONFIRMED, REFUTED),
            REPLICATED_UNPUBLISHED,
        ).int()
        replicated = claimed & ((self.words & FINDING_OPEN) != 0)
        closed = (self.words & ~(FINDING_OPEN | (ACTION_MASK << ACTION_SHIFT))) | (record << ACTION_SHIFT)
        literature = torch.where(replicated, closed, self.words)
        q = count - lead + torch.where(self._slot_index < first_slot, n_new, 0)
        kept = (new != 0) & (q >= 0)
        place = base + q
        place = torch.where(kept, torch.where(place >= size, place - size, place), size)
        # With one slot each, no division: a vector of integers is divided lane by lane (0.8 ms a round at
        # 1,000 x 1,000).
        one_slot = self.slots == 1
        researcher = self._slot_index if one_slot else self._slot_index // self.slots
        slot_action = action if one_slot else action.repeat_interleave(self.slots, 1)
        word = (
            (researcher << AUTHOR_SHIFT)
            | (slot_action << ACTION_SHIFT)
            | ((outcome & TRUE) != 0).int() * FINDING_TRUE
            | FINDING_OPEN
        )
        return literature.scatter(1, place.long(), torch.where(kept, word, 0))
