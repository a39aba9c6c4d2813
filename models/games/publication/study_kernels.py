"""The publication round's studies in two kernels (models/speed), for every configuration the rigor-model
kernels (kernels.py) do not play: the effort model, evolving labs, journals with peer review, funds. The
rest of the round (credit, citations, the journals' and the funder's part, the literature, the tallies) is
the rules' own code; the studies are PublicationRules._studies' numbers, bit for bit (tests check it).

Only a fused batch runs the kernels: unfused, the rules' _studies runs as it is, which costs fewer passes
than the kernels' form (they hash each uniform where they use it rather than keep it, which pays only
compiled). The kernels hash the round's uniforms from the streams' counters themselves, so the draws never
reach memory, and play each slot's chain of comparisons in registers: eagerly, each of the chain's fifty
operations is one pass over the round's slots.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import torch

from models import speed
from models.games.publication.institution_kernels import (
    cited_places,
    compiled_cited_by_record,
    compiled_class_codes,
)
from models.games.publication.journals import JournalPolicies
from models.games.publication.literature import Literature
from models.games.publication.methods import Methods, ioannidis_positive
from models.games.publication.rules import PublicationRules, Studies
from models.random import hashed_uniforms
from models.random_kernels import hashed_draws
from models.speed import kernel

# Inductor settings under which each kernel stays one loop: by default inductor stores a value that more
# than four operations read and reads it back in a second loop, which here (a slot's flags, each read by
# many comparisons; the hash's state) cost more than computing it in registers: the results kernel ran in
# three loops, through bool buffers, at four to seven times its one loop's time.
ONE_LOOP = {"realize_reads_threshold": 64}

# The uniform streams a slot may draw, as the rules' _studies names them: those of every round, then the
# evolving labs' choice of kind, the journal and peer review where the round draws them.
STREAMS = ("complete", "hypothesis", "result", "kind", "journal", "review")


class PublicationStudyKernels(PublicationRules):
    """The rules' round with its studies played by kernels where the batch is fused."""

    # Fusing saves about 15 ns a researcher-round here (1,000 x 1,000, 2 cores), a quarter of what the rigor
    # model's kernels save, and compiling takes as long: it needs four times the work to pay.
    fusing_cost = 4.0

    # The institutions' part of the round in compiled forms (institution_kernels.py), the rules' numbers.
    cited_places = staticmethod(cited_places)
    class_codes = staticmethod(compiled_class_codes)
    cited_by_record = staticmethod(compiled_cited_by_record)
    hashing = staticmethod(hashed_draws)  # a fused batch's large draws hashed compiled

    @classmethod
    def supports(cls, params: dict[str, Any]) -> bool:
        """Every configuration: the kernels play each rule of _studies, and the rest is the rules'."""
        return True

    def reset(self) -> None:
        super().reset()
        # An evolving lab's findings record no action: one tensor of zeros, (worlds, slots), kept, only read.
        self._no_action: torch.Tensor | None = None

    def kernels_name(self, acts_on: Mapping[str, str]) -> str:
        """The compile cache's name for this batch's kernels: the kernels compile a graph of their own for
        each choice below (which streams are drawn, funds or none, how many journals and whether they act),
        so a batch may count on loading them only where this configuration's were kept."""
        parts = [type(self).__name__, "traits" if acts_on.get("researcher") == "traits" else "actions"]
        parts.append(f"{self.n_journals}journals" + ("-acting" if self.p["journals_act"] else ""))
        parts += [name for name, on in (("review", self.reviewing), ("funds", self.funds is not None)) if on]
        return "-".join(parts)

    def _studies(
        self, action: torch.Tensor, methods: Methods, before: Literature, policies: JournalPolicies
    ) -> Studies:
        """The rules' _studies, played by the two kernels where the batch is fused: each slot's claim on the
        literature (_claims), the first claims and the claimed findings looked up eagerly, then the studies'
        outcomes (_results)."""
        if not speed.fused():
            return super()._studies(action, methods, before, policies)
        n_worlds, n_researchers, slots = self.n_worlds, self.n_researchers, self.slots
        n_slots = n_researchers * slots
        traits = action.is_floating_point()
        streams = {"complete": True, "hypothesis": True, "result": True, "kind": traits,
                   "journal": self.n_journals > 1, "review": self.reviewing}  # fmt: skip
        counters = {
            name: self.rng.counters(self.round_index, name, n_slots) for name in STREAMS if streams[name]
        }
        keys = {name: key for name, (key, _) in counters.items()}
        offsets = counters["complete"][1]
        lab = _Lab.of(self, methods, self._first_slot())
        filled = self.findings_published.clamp(max=self.literature_size)
        drawn, position, claim = (
            value.view(n_worlds, n_slots) for value in self._claims(keys, offsets, lab, filled)
        )
        first_claim = self._first_claims(drawn, claim)
        looked_up = (first_claim.gather(1, drawn), before.open.gather(1, drawn), before.true.gather(1, drawn))
        world = {name: self._world(name) for name in ("base_rate", "novelty_reward", "replication_reward",
                                                      "null_reward")}  # fmt: skip
        out = self._results(keys, offsets, lab, looked_up, world, vars(policies))
        *words, pay, journal = (None if value is None else value.view(n_worlds, n_slots) for value in out)
        replicate, affordable, replicated, done, true, positive, published, _ = _bytes_of(words)
        if not traits:
            slot_action = action.repeat_interleave(slots, 1) if slots > 1 else action
        else:
            if self._no_action is None or self._no_action.shape != replicate.shape:
                self._no_action = torch.zeros(replicate.shape, dtype=torch.long, device=self.device)
            slot_action = self._no_action
        return Studies(
            replicate,
            journal,
            affordable if self.funds is not None else None,
            drawn,
            replicated,
            done,
            true,
            positive,
            published,
            pay,
            position,
            slot_action,
        )

    def _attempts(self, keys: dict[str, torch.Tensor], offsets: torch.Tensor, lab: _Lab) -> tuple[Any, ...]:
        """Elementwise over the slots, (worlds, researchers, slots), what both kernels need: whether each slot
        is a replication attempt, whether its lab can afford it, whether it is completed, its hypothesis
        uniform, and its position in this round's order. Recomputed by each kernel: hashing is cheaper than
        a round trip through memory. Everything is (worlds, researchers, slots) within the kernels, so that
        inductor makes each kernel one loop (a flat view beside it splits the loop and stores what passes
        between the parts)."""
        shape = (self.n_worlds, self.n_researchers, self.slots)
        offsets = offsets.view(1, self.n_researchers, self.slots)

        def draw(name: str) -> torch.Tensor:
            return hashed_uniforms(keys[name].view(-1, 1, 1) + offsets)

        replicate = draw("kind") < lab.replicate if "kind" in keys else lab.replicate.expand(shape)
        completes = draw("complete") < lab.finish
        affordable = completes  # unused where there are no funds
        if lab.need is not None:
            affordable = lab.need <= lab.held
            completes = completes & affordable
        n_slots = self.n_researchers * self.slots
        slot = torch.arange(n_slots, device=self.device).view(1, self.n_researchers, self.slots)
        first = lab.first.view(-1, 1, 1)
        position = torch.where(slot >= first, slot - first, slot - first + n_slots)
        return replicate, affordable, completes, draw("hypothesis"), position

    @kernel(inductor=ONE_LOOP)
    def _claims(
        self, keys: dict[str, torch.Tensor], offsets: torch.Tensor, lab: _Lab, filled: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Each slot's drawn place of the literature, its position in this round's order, and that position
        where it claims the place (a completed replication attempt), else the number of slots, (worlds,
        researchers, slots) int64 each."""
        replicate, _, completes, hypothesis, position = self._attempts(keys, offsets, lab)
        filled = filled.view(-1, 1, 1)
        place = (hypothesis * filled).long()
        drawn = torch.minimum(place, (filled - 1).clamp(min=0))
        return drawn, position, torch.where(replicate & completes, position, self.n_researchers * self.slots)

    @kernel(inductor=ONE_LOOP)
    def _results(
        self,
        keys: dict[str, torch.Tensor],
        offsets: torch.Tensor,
        lab: _Lab,
        looked_up: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
        world: dict[str, torch.Tensor],
        policies: dict[str, torch.Tensor],
    ) -> tuple[Any, ...]:
        """The slots' studies, as _studies' steps 3-7 play them: given each slot's drawn finding's first
        claim, openness and truth (`looked_up`, (worlds, slots)), whether it is a replication attempt, can
        be afforded, is a replication done, gets done, has a true hypothesis, comes out positive, is
        published (as bytes: _as_bytes), what it pays, and its journal (None with one journal), (worlds,
        researchers, slots) each."""
        shape = (self.n_worlds, self.n_researchers, self.slots)
        replicate, affordable, completes, hypothesis, position = self._attempts(keys, offsets, lab)
        first_at, open_at, true_at = (value.view(shape) for value in looked_up)
        replicated = replicate & completes & (first_at == position) & open_at
        done = torch.where(replicate, replicated, completes)
        true = torch.where(replicate, true_at, hypothesis < world["base_rate"].view(-1, 1, 1))
        offsets = offsets.view(1, self.n_researchers, self.slots)

        def draw(name: str) -> torch.Tensor:
            return hashed_uniforms(keys[name].view(-1, 1, 1) + offsets)

        journal = None
        if "journal" in keys:
            journal = (draw("journal") * self.n_journals).long().clamp(max=self.n_journals - 1)

        def policy(name: str) -> torch.Tensor:
            """The policy of each slot's journal: gather's choice, as a chain of selections over the few
            journals (an index into another tensor's shape would split the loop)."""
            value = policies[name]
            if journal is None or value.shape[1] == 1:
                return value.view(-1, 1, 1)
            chosen = value[:, :1].view(-1, 1, 1)
            for j in range(1, self.n_journals):
                chosen = torch.where(journal == j, value[:, j : j + 1].view(-1, 1, 1), chosen)
            return chosen

        p_positive = torch.where(true, lab.power, lab.alpha)
        p_positive = ioannidis_positive(p_positive, lab.qrp)
        result = draw("result")
        positive = done & (result < p_positive)
        c_positive = torch.where(replicate, policy("replication_positive"), policy("novel_positive"))
        c_negative = torch.where(replicate, policy("replication_negative"), policy("novel_negative"))
        accepted = result < c_positive * p_positive
        if "review" in keys:
            accepted = accepted & ~(positive & ~true & (draw("review") < policy("detection")))
        published = done & torch.where(
            positive, accepted, result < p_positive + c_negative * (1 - p_positive)
        )
        novelty, replication, null = (
            world[name].view(-1, 1, 1) for name in ("novelty_reward", "replication_reward", "null_reward")
        )
        novel_pay = torch.where(positive, novelty, null)
        replication_pay = torch.where(positive, replication, replication + null)
        pay = torch.where(published, torch.where(replicate, replication_pay, novel_pay), 0.0)
        flags = (replicate, affordable, replicated, done, true, positive, published)
        return _as_bytes(flags[:4]), _as_bytes(flags[4:]), pay, journal


def _as_bytes(flags: tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Up to four bool tensors as one int32 tensor, flag k in byte k: compiled, one int32 store costs less
    than one bool store (inductor's C++ does not vectorise those), and each flag reads back as a bool view
    without a copy (_bytes_of)."""
    return sum(flag.to(torch.int32) << (8 * k) for k, flag in enumerate(flags))


def _bytes_of(words: list[torch.Tensor]) -> list[torch.Tensor]:
    """The bool flags packed by _as_bytes, as views of their bytes (flag k is the k-th least significant
    byte: the k-th in memory on a little-endian machine, the (3 - k)-th on a big-endian one)."""
    flags = []
    for word in words:
        as_bytes = word.view(torch.uint8).view(*word.shape, 4)
        flags += [as_bytes[..., k if sys.byteorder == "little" else 3 - k].view(torch.bool) for k in range(4)]
    return flags


class _Lab:
    """What the kernels read of each lab, broadcastable to (worlds, researchers, slots): its methods, under a
    funding system its funds and each slot's cost to start (slot k needs (k + 1) x study_cost), and its
    world's first slot in this round's order."""

    def __init__(
        self, methods: Methods, first: torch.Tensor, need: torch.Tensor | None, held: torch.Tensor | None
    ) -> None:
        def per_lab(value: torch.Tensor) -> torch.Tensor:
            # Contiguous (an evolving lab's traits are strided views of its (worlds, labs, 4) traits): a
            # kernel reading a strided input loads it element by element, in 16 x 16 tiles.
            return value.contiguous().unsqueeze(-1)

        self.replicate = per_lab(methods.replicate)
        self.finish = per_lab(methods.finish)
        self.power, self.alpha, self.qrp = (
            per_lab(value) for value in (methods.power, methods.alpha, methods.qrp)
        )
        self.first = first
        self.need, self.held = need, None if held is None else per_lab(held)

    @classmethod
    def of(cls, game: PublicationRules, methods: Methods, first: torch.Tensor) -> _Lab:
        if game.funds is None:
            return cls(methods, first, None, None)
        slots = torch.arange(1, game.slots + 1, device=game.device, dtype=torch.float32)
        return cls(methods, first, slots * game._world("study_cost").view(-1, 1, 1), game.funds.held)
