"""The publication game's rules: researchers choose their methods and what to study, journals publish,
findings are replicated, and the literature comes to believe some of them (after Ioannidis 2005, McElreath &
Smaldino 2015, Smaldino & McElreath 2016, Higginson & Munafò 2016).

Every round, in each world, each researcher picks one action: test a *novel* hypothesis or *replicate* a
published positive finding, with its methods (methods.py): a rigor r in [0, 1] (the rigor model: the false
positive rate falls linearly from `hacked_alpha` to `alpha`, and each of the `studies_per_round` study slots
is finished with probability 1 - rigor_cost r) or an effort e (the effort model of Smaldino & McElreath:
alpha = W / (1 + (1 - W) e), a slot finished with probability h = 1 - eta log10(e)); optionally a power W
and Ioannidis' bias u as well. An evolving lab plays its traits instead (effort, power, replication rate r,
u): each of its slots is a replication with probability r.

A novel hypothesis is true with probability `base_rate`. A study is positive with probability W + u (1 - W)
if its hypothesis is true, alpha + u (1 - alpha) if not. A replication re-tests a finding drawn uniformly
from the world's literature (literature.py: the published novel positives, the last `literature_size` of
them). A finding can be replicated `replications_per_finding` times (0: any number), at most once a round:
drawing one that is closed, or drawing from an empty literature, yields no study, and when several draw the
same one in a round, the first in this round's order gets it. Journals publish a novel result with
probability cN+ or cN- (positive or negative), a replication with cR+ or cR- (`publish_null_prob` is the
shorthand that sets both negative ones).

Payoffs per published study are literal sums of the rewards: `novelty_reward` (V_N) if novel and positive,
`replication_reward` (V_R+) if a replication, plus `null_reward` if null (V_R- = V_R+ + null_reward). A
published replication is credited to the finding's author: a failure charges `failed_replication_penalty`
(-V_O-), a confirmation pays `confirmed_reward` (V_O+). That credit is delayed, for the action that produced
the finding (`RoundResult.credit`), kept apart from the round's payoffs, so learners can connect sloppy work
to its later cost. An unpublished failed replication leaves the finding standing: publication bias hides it.
The literature's belief in each hypothesis follows from its published results (beliefs.py).

This module is the specification: `PublicationRules.step` states the round as the rules above do, for a
batch of worlds at once. kernels.py plays the same round faster, with the same numbers (tests check it),
wherever it implements the parameters (the rigor model with the default publication model); elsewhere
study_kernels.py plays the round's studies (`_studies`) in fused kernels where a batch is fused.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import torch

from models.game import BatchOfWorlds, Credit, Observations, Role, RoundResult
from models.games.publication.actions import action_count, decode, method_levels
from models.games.publication.beliefs import LiteratureTallies, class_codes, literature_tallies
from models.games.publication.citations import (
    Citations,
    cited_by_record,
    count_citations,
    draw_citations,
    searched_places,
)
from models.games.publication.funding import FUNDER_FIELDS, Funds, funding_on, rule_indices
from models.games.publication.journals import JOURNAL, JournalPolicies, per_journal, submitted_to
from models.games.publication.literature import Literature
from models.games.publication.methods import Methods, ioannidis_positive, methods_of, researcher_traits
from models.games.publication.params import PUBLICATION_PARAMS
from models.games.publication.tallies import PublicationTallies
from models.metrics import gini
from models.reductions import add_at, world_sum

# A researcher observes what it received last round and the penalty among it, and its field's last round:
# the share of replications that confirmed (0 before any replication) and the share of studies published.
RESEARCHER_FIELDS = {"received": 1, "penalty": 1, "replication_rate": 1, "publication_rate": 1}

RESEARCHER = Role(
    "researcher",
    "chooses a novel study or a replication, at a rigor level; paid per published study",
    agents=lambda p: p["n_researchers"],
    actions=action_count,
    observation=lambda p: len(RESEARCHER_FIELDS),
    traits=researcher_traits,
    fields=lambda p: RESEARCHER_FIELDS,
)


def peak_bytes_per_world(params: dict[str, Any]) -> int:
    """Memory one world needs at the peak of a round, with a margin: 320 bytes per study slot (measured
    190-210 per researcher with one slot each at 10 million researchers a round, fused, the process's
    whole peak), and 200 per place of a literature larger than one place per researcher (the rules' record
    of a finding is 46 bytes, and a round makes copies of its columns)."""
    slots = params["n_researchers"] * params["studies_per_round"]
    extra_places = max(0, params["literature_size"] - params["n_researchers"])
    return slots * 320 + extra_places * 200


@dataclass
class Studies:
    """A round's studies, one entry per study slot, (worlds, slots) each: what the rest of the round (credit,
    citations, journals, funds, the literature, the tallies) reads of them."""

    replicate: torch.Tensor  # bool: the slot is a replication attempt
    journal: torch.Tensor | None  # int64: the journal it is submitted to (None: one journal)
    affordable: torch.Tensor | None  # bool: its lab's funds cover it (None: no funding system)
    drawn: torch.Tensor  # int64: the place of the literature a replication draws (0 for a novel one)
    replicated: torch.Tensor  # bool: a replication done (the first claim of an open finding)
    done: torch.Tensor  # bool: the study gets done
    true: torch.Tensor  # bool: its hypothesis is true
    positive: torch.Tensor  # bool: done and positive
    published: torch.Tensor  # bool
    pay: torch.Tensor  # float32: what it pays its researcher this round
    position: torch.Tensor  # int64: its place in this round's order
    slot_action: torch.Tensor  # int64: its researcher's action (0 for an evolving lab)


def flat(table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """table's entries at flat indices into it (world * columns + column): a one-dimensional index, which
    torch reads several times faster than a pair of index tensors."""
    return table.reshape(-1).index_select(0, index)


class PublicationRules(BatchOfWorlds):
    """A batch of worlds of the publication game, stepped by the rules (see the module docstring)."""

    params = PUBLICATION_PARAMS
    own_roles = (RESEARCHER, JOURNAL)
    # Parts of the round that an accelerated engine may play in compiled forms of its own
    # (institution_kernels.py), with the same numbers: here, as the rules play them.
    cited_places = staticmethod(searched_places)
    class_codes = staticmethod(class_codes)
    cited_by_record = staticmethod(cited_by_record)

    def __init__(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(worlds, seeds, device)
        self.n_researchers = self.p["n_researchers"]
        self.rigor_levels = self.p["rigor_levels"]
        self.levels = method_levels(self.p)
        self.slots = self.p["studies_per_round"]
        self.literature_size = self.p["literature_size"] or self.n_researchers
        self.n_journals = self.p["n_journals"]
        self.citing = self.p["citations_per_paper"]
        self.reviewing = bool((self.p["review_detection"] > 0).any())
        self.reset()

    def reset(self) -> None:
        """Empty literature, round 0."""
        self.literature = Literature.empty(self.n_worlds, self.literature_size, self.device)
        self.findings_published = torch.zeros(self.n_worlds, dtype=torch.int64, device=self.device)
        self.round_index = 0
        self._last: tuple[torch.Tensor, Credit, PublicationTallies] | None = None
        # Each journal's last round, (worlds, journals): its acceptance rate and its findings' citations.
        self._journals_last: tuple[torch.Tensor, torch.Tensor] | None = None
        self.funds = (
            Funds.start(self.p, self.n_worlds, self.n_researchers, self.device)
            if funding_on(self.p)
            else None
        )

    def births(self, role: str, newborn: torch.Tensor) -> None:
        """A new lab in a place (an evolving lab's offspring) starts with initial_funds and no track record,
        as in Smaldino, Turner & Contreras Kallens (2019)."""
        if role == "researcher" and self.funds is not None:
            self.funds.found(newborn.to(self.device), self._world("initial_funds"))

    def observe(self, role: str) -> torch.Tensor:
        """Each agent's observation, (worlds, agents, size), zeros before the first round. A researcher's,
        as RESEARCHER_FIELDS: what it received last round, the penalty among it, and its world's replication
        and publication rates last round; a journal's, JOURNAL_FIELDS; the funder's, FUNDER_FIELDS. Another
        role (an institution registered on the game) observes nothing: (worlds, 1, 0)."""
        sizes = {"researcher": len(RESEARCHER_FIELDS), "journal": 3, "funder": len(FUNDER_FIELDS)}
        agents = {"researcher": self.n_researchers, "journal": self.n_journals, "funder": 1}
        if role not in sizes:
            return torch.zeros(self.n_worlds, 1, 0, device=self.device)
        shape = (self.n_worlds, agents[role])
        if self._last is None:
            return torch.zeros(*shape, sizes[role], device=self.device)
        received, credit, tallies = self._last
        replications = tallies.replication_studies
        studies = replications + tallies.novel_studies
        replicated = torch.where(
            replications > 0, tallies.replication_successes / replications.clamp(min=1), 0.0
        ).float()
        if role == "journal":
            acceptance, citations = self._journals_last
            return torch.stack([acceptance, citations, replicated.view(-1, 1).expand(shape)], -1)
        if role == "funder":
            new = tallies.published_novel_positives
            fdr = torch.where(new > 0, tallies.published_false_positives / new.clamp(min=1), 0.0).float()
            funds = torch.zeros_like(fdr) if tallies.funds_gini is None else tallies.funds_gini.nan_to_num()
            return torch.stack([fdr, replicated, funds], -1).view(self.n_worlds, 1, -1)
        penalty = credit.per_agent(self.n_researchers)
        published = torch.where(studies > 0, tallies.publications / studies.clamp(min=1), 0.0)
        field = [rate.float().view(-1, 1).expand(shape) for rate in (replicated, published)]
        return torch.stack([received, penalty, *field], -1)

    def _remember(self, received: torch.Tensor, credit: Credit, tallies: Any) -> Observations:
        """Keep what the next observation is made of and return the round's observations, made on demand.
        The credit is kept as its entries (a copy without its per-agent total, made again if asked for),
        so that what lives across rounds is one number per researcher, not two."""
        self._last = (received, replace(credit), tallies)
        return Observations(self.observe)

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        """Play one round in every world, given each researcher's action, (worlds, researchers), or an
        evolving lab's traits, (worlds, researchers, 4): effort, power, replication rate and u.

        The round's per-study tensors are (worlds, study slots): slot k is researcher k // studies_per_round's
        and follows that researcher's methods. The literature is read as it was at the round's start and
        replaced at its end."""
        n_worlds = self.n_worlds
        before = self.literature
        action = actions["researcher"].to(self.device)
        traits = action.is_floating_point()
        if not traits:
            action = action.long()

        # 1. What each researcher's action or traits stand for (methods.py); 2-7, the round's studies.
        methods = methods_of(action, self.p)
        studies = self._studies(action, methods, before, JournalPolicies.of(self.p, actions.get("journal")))
        replicate, journal, affordable = studies.replicate, studies.journal, studies.affordable
        replicated, done, true = studies.replicated, studies.done, studies.true
        positive, published, position = studies.positive, studies.published, studies.position
        drawn, slot_action = studies.drawn, studies.slot_action
        # A researcher's payoff sums its slots' pay, as a sum over the last axis of (W, R, slots): the
        # kernels' float32 sum, in the same order.
        payoff = studies.pay.view(n_worlds, self.n_researchers, self.slots).sum(-1)

        # 8. A published replication is credited to the finding's author for the action that produced it:
        # a failure charges failed_replication_penalty (-V_O-), a confirmation pays confirmed_reward (V_O+).
        # One entry per published replication, in (world, slot) order.
        # Citations (citations.py): each published study cites findings of the literature as it stood, and
        # each citation pays the finding's author citation_reward, credited as a replication's outcome is.
        refutes = replicated & published & ~positive
        confirms = replicated & published & positive
        credit = self._credit(before, drawn, refutes, confirms)
        citations = None
        if self.citing:
            citations = draw_citations(
                self.rng,
                self.round_index,
                before,
                published,
                self.citing,
                self._world("citation_bias"),
                self._cited_columns(),
                self.cited_places,
            )
            credit = self._with_citation_credit(credit, citations)
        received = payoff + credit.per_agent(self.n_researchers)
        journal_pay = self._journals_round(journal, done, published, positive, citations)
        institutions = self._institutions_round(citations, methods, affordable, published, replicated)

        # 9. The literature. The replicated findings count their replication (and close once they have had
        # replications_per_finding), the published replications are recorded, then the new findings, the
        # published novel positives, enter in this round's order: numbered on from findings_published, the
        # last literature_size of them kept.
        new = published & positive & ~replicate
        n_new = new.sum(1, dtype=torch.int32)
        replicated_literature = self._publish(before, replicated, drawn, confirms, refutes, citations)
        self.literature = self._add_findings(
            replicated_literature, new, n_new, position, true, slot_action, journal
        )
        self.findings_published = self.findings_published + n_new
        self.round_index += 1

        def count(per_slot: torch.Tensor) -> torch.Tensor:
            return per_slot.sum(1, dtype=torch.int32)

        literature = self.literature_tallies()
        if traits:
            novel_choices = count(~replicate.view(n_worlds, self.n_researchers, self.slots)[..., 0])
            rigor_sum = torch.full((n_worlds,), torch.nan, device=self.device)
        else:
            chose_replication, level = decode(action, self.p)[:2]
            novel_choices = count(~chose_replication)
            # The chosen levels summed as integers, then scaled once: summing the rigors themselves could
            # round otherwise (and the kernels sum levels).
            if self.p["study_model"] == "rigor":
                rigor_sum = count(level) / (self.levels - 1)
            else:
                rigor_sum = torch.full((n_worlds,), torch.nan, device=self.device)
        tallies = PublicationTallies(
            researchers=self.n_researchers,
            novel_choices=novel_choices,
            rigor_sum=rigor_sum,
            novel_studies=count(done & ~replicate),
            replication_studies=count(replicated),
            replication_successes=count(replicated & positive),
            published_novel_positives=n_new,
            published_false_positives=count(new & ~true),
            publications=count(published),
            payoff_sum=world_sum(received, 1),
            mean_effort=methods.mean_effort,
            mean_power=methods.mean_power,
            mean_qrp=methods.mean_qrp,
            literature_hypotheses=literature.hypotheses,
            literature_true=literature.true,
            believed_correctly=literature.believed_correctly,
            false_canonized=literature.false_canonized,
            true_canonized=literature.true_canonized,
            **institutions,
            **self._citation_tallies(),
        )
        observations = self._remember(received, credit, tallies)
        payoffs = {"researcher": payoff, "journal": journal_pay}
        return RoundResult(payoffs, {"researcher": credit}, observations, tallies)

    def _studies(
        self, action: torch.Tensor, methods: Methods, before: Literature, policies: JournalPolicies
    ) -> Studies:
        """Steps 2-7 of the round: the studies of every slot, from the researchers' actions (or traits) and
        methods, the literature at the round's start and the journals' policies."""
        n_worlds, n_slots = self.n_worlds, self.n_researchers * self.slots
        traits = action.is_floating_point()

        def per_slot(value: torch.Tensor) -> torch.Tensor:
            value = value.expand(n_worlds, self.n_researchers)
            return value if self.slots == 1 else value.repeat_interleave(self.slots, 1)

        # 2. Chance. Per slot, one uniform decides whether the study gets done, one its hypothesis (a novel
        # one's truth, or which finding a replication draws), one its result, and for a lab that replicates
        # with a probability, one whether it does; and this round's order.
        # Where there are several journals, one picks the journal a study is submitted to; where journals
        # review, one decides whether review detects a false positive.
        draws = {"complete": (n_slots,), "hypothesis": (n_slots,), "result": (n_slots,)}
        if traits:
            draws["kind"] = (n_slots,)
        if self.n_journals > 1:
            draws["journal"] = (n_slots,)
        if self.reviewing:
            draws["review"] = (n_slots,)
        uniforms = dict(zip(draws, self.rng.uniforms(self.round_index, draws), strict=True))
        completion, hypothesis, result = uniforms["complete"], uniforms["hypothesis"], uniforms["result"]
        position = self._round_order(n_slots)
        replicate = uniforms["kind"] < per_slot(methods.replicate) if traits else per_slot(methods.replicate)
        journal = submitted_to(uniforms["journal"], self.n_journals) if self.n_journals > 1 else None
        slot_action = torch.zeros_like(replicate, dtype=torch.long) if traits else per_slot(action)

        # 3. Productivity: a slot is finished with its researcher's probability (1 - rigor_cost r, or h(e)),
        # and under a funding system (funding.py) only if its lab's funds cover it.
        completes = completion < per_slot(methods.finish)
        affordable = None
        if self.funds is not None:
            affordable = self.funds.affordable(self._world("study_cost"), self.slots)
            completes &= affordable

        # 4. Replications compete for open findings. A replicator's completed slot draws a finding uniformly
        # from its world's literature; the first claim in this round's order of a finding that is still
        # open replicates it. Any other claim yields no study: of a finding closed to replication, one that
        # another replicator got first, or a place of an empty literature (closed).
        drawn = self._draw_findings(hypothesis)
        claiming = replicate & completes
        first_claim = self._first_claims(drawn, torch.where(claiming, position, n_slots))
        replicated = claiming & (first_claim.gather(1, drawn) == position) & before.open.gather(1, drawn)
        done = torch.where(replicate, replicated, completes)

        # 5. Ground truth: a novel hypothesis is true with probability base_rate; a replication re-tests its
        # finding's hypothesis.
        true = torch.where(replicate, before.true.gather(1, drawn), hypothesis < self._world("base_rate"))

        # 6. Results and publication, both from the result's uniform u. Positive if u < p, the chance of a
        # positive result under bias (Ioannidis: W + u (1 - W) if true, alpha + u (1 - alpha) if not).
        # Given a positive result u / p is uniform, given a negative one (u - p) / (1 - p) is: a positive
        # result is published if u < c+ p, a negative one if u < p + c- (1 - p), with the journals' c+ and
        # c- for novel results or for replications.
        # The c's are those of the journal the study is submitted to (journals.py), and peer review rejects a
        # false positive it detects (with the journal's probability d).
        p_positive = torch.where(true, per_slot(methods.power), per_slot(methods.alpha))
        p_positive = ioannidis_positive(p_positive, per_slot(methods.qrp))
        positive = done & (result < p_positive)
        c_positive = torch.where(
            replicate,
            policies.per_slot("replication_positive", journal),
            policies.per_slot("novel_positive", journal),
        )
        c_negative = torch.where(
            replicate,
            policies.per_slot("replication_negative", journal),
            policies.per_slot("novel_negative", journal),
        )
        accepted = result < c_positive * p_positive
        if self.reviewing:
            detected = positive & ~true & (uniforms["review"] < policies.per_slot("detection", journal))
            accepted &= ~detected
        published = done & torch.where(
            positive, accepted, result < p_positive + c_negative * (1 - p_positive)
        )

        # 7. Pay per published study, the literal sum of its rewards: novelty_reward (V_N) if novel and
        # positive, replication_reward if a replication (V_R+), plus null_reward if null (V_R- is their sum).
        novelty, replication = self._world("novelty_reward"), self._world("replication_reward")
        null = self._world("null_reward")
        novel_pay = torch.where(positive, novelty, null)
        replication_pay = torch.where(positive, replication, replication + null)
        pay = torch.where(published, torch.where(replicate, replication_pay, novel_pay), 0.0)
        return Studies(
            replicate, journal, affordable, drawn, replicated, done, true, positive, published, pay, position,
            slot_action,
        )

    def _credit(
        self, before: Literature, drawn: torch.Tensor, refutes: torch.Tensor, confirms: torch.Tensor
    ) -> Credit:
        """The round's credit to the authors of replicated findings: -failed_replication_penalty per
        published failure, confirmed_reward per published confirmation (listed only where some world
        pays one), one entry per published replication in (world, slot) order."""
        credited = refutes
        if bool((self.p["confirmed_reward"] != 0).any()):
            credited = refutes | confirms
        # Entries as flat (world, slot) indices, and the findings they credit as flat (world, place) ones.
        entry = credited.view(-1).nonzero().squeeze(1)
        world = entry // drawn.shape[1]
        place = world * self.literature_size + flat(drawn, entry)
        amount = torch.where(
            flat(refutes, entry),
            -flat(self.p["failed_replication_penalty"], world),
            flat(self.p["confirmed_reward"], world),
        )
        return Credit(
            worlds=self.n_worlds,
            world=world,
            agent=flat(before.author, place),
            action=flat(before.action, place),
            amount=amount,
            round=flat(before.published_round, place),
        )

    def _with_citation_credit(self, credit: Credit, citations: Citations) -> Credit:
        """The round's credit with one entry per citation, citation_reward to the cited finding's author for
        the action that produced it (where some world pays for citations)."""
        if not self._citations_pay():
            return credit
        cited = citations.cited
        return Credit(
            worlds=self.n_worlds,
            world=torch.cat([credit.world, citations.world]),
            agent=torch.cat([credit.agent, cited["author"]]),
            action=torch.cat([credit.action, cited["action"]]),
            amount=torch.cat([credit.amount, flat(self.p["citation_reward"], citations.world)]),
            round=torch.cat([credit.round, cited["published_round"]]),
        )

    def _cited_columns(self) -> tuple[str, ...]:
        """The columns of the cited findings that the round reads: their truth (the citation tallies), their
        journals (what each journal's findings were cited), and where citations pay their authors or the
        funder counts them, their authors, and the actions and rounds that credit reads."""
        columns = ("true", "journal")
        if self._citations_pay():
            columns += ("author", "action", "published_round")
        elif self.funds is not None:
            columns += ("author",)
        return columns

    def _citations_pay(self) -> bool:
        return bool((self.p["citation_reward"] != 0).any())

    def _journals_round(
        self,
        journal: torch.Tensor | None,
        done: torch.Tensor,
        published: torch.Tensor,
        positive: torch.Tensor,
        citations: Citations | None,
    ) -> torch.Tensor:
        """Each journal's pay this round, (worlds, journals): the studies it published plus the citations its
        findings received, less review_cost per positive submission reviewed; and what it observes next."""
        published_by = per_journal(published, journal, self.n_journals)
        submitted = per_journal(done, journal, self.n_journals)
        cited = torch.zeros_like(published_by)
        if citations is not None:
            place = citations.world * self.n_journals + citations.cited["journal"]
            add_at(cited.view(-1), place, torch.ones_like(place, dtype=torch.float32))
        pay = self._journals_outcome(published_by, submitted, cited)
        if self.reviewing:
            pay = pay - self._world("review_cost") * per_journal(done & positive, journal, self.n_journals)
        return pay

    def _journals_outcome(
        self, published_by: torch.Tensor, submitted: torch.Tensor, cited: torch.Tensor
    ) -> torch.Tensor:
        """Keep what each journal observes next (its acceptance rate and its findings' citations) and
        return its pay before reviewing costs: what it published plus those citations, (worlds, journals)."""
        acceptance = torch.where(submitted > 0, published_by / submitted.clamp(min=1), 0.0)
        self._journals_last = (acceptance, cited)
        return published_by + cited

    def _institutions_round(
        self,
        citations: Citations | None,
        methods: Any,
        affordable: torch.Tensor | None,
        published: torch.Tensor,
        replicated: torch.Tensor,
    ) -> dict[str, torch.Tensor]:
        """The funders' and the citations' part of the round: each lab pays for the studies it started and
        counts what it did, the funder decides at the end of each funding period (funding.py); and their
        tallies (before the literature changes)."""
        out: dict[str, torch.Tensor] = {}
        cited_per_lab = None
        if citations is not None:
            # Per world, the citations to true findings and to false ones, as one count.
            false = ~citations.cited["true"]
            made = (citations.world * 2 + false).bincount(minlength=2 * self.n_worlds).view(-1, 2)
            out["citations_made"] = made.sum(1, dtype=torch.int32)
            out["citations_to_false"] = made[:, 1].int()
        if self.funds is None:
            return out
        if citations is not None:  # what each lab's findings were cited, for its track record
            authors = citations.world * self.n_researchers + citations.cited["author"]
            n_labs = self.n_worlds * self.n_researchers
            cited_per_lab = authors.bincount(minlength=n_labs).int().view(self.n_worlds, self.n_researchers)

        def per_lab(flags: torch.Tensor) -> torch.Tensor:
            if self.slots == 1:  # a lab's one slot: no sum (a sum over one slot costs 5x)
                return flags.view(self.n_worlds, self.n_researchers).int()
            return flags.view(self.n_worlds, self.n_researchers, self.slots).sum(-1, dtype=torch.int32)

        cost = self._world("study_cost")
        started = per_lab(affordable)
        out["funds_spent"] = (cost * started.sum(1, keepdim=True)).view(-1).float()
        self.funds.record(cost, started, per_lab(published), per_lab(replicated), cited_per_lab)
        alpha = methods.alpha.expand(self.n_worlds, self.n_researchers)
        if (self.round_index + 1) % self.p["funding_period"] == 0:
            rule = rule_indices(self.p, self.n_worlds, self.device)
            self.funds.decide(self.p, rule, self.rng, self.round_index, alpha)
        held = self.funds.held
        out["funds_gini"] = gini(held)
        above = alpha > alpha.median(1, keepdim=True).values
        total = held.double().sum(1)
        high = torch.where(above, held, 0.0).double().sum(1)
        out["high_fpr_funds_share"] = torch.where(
            total > 0, high / total.clamp(min=1e-300), torch.nan
        ).float()
        return out

    def _citation_tallies(self) -> dict[str, torch.Tensor]:
        """The literature's citation inequality and the citation ratio of its findings that failed to
        replicate to those that were confirmed, at the round's end (where studies cite)."""
        if not self.citing:
            return {}
        literature = self.literature
        replications = (literature.published_positive, literature.published_negative)
        n_failed, failed_cited, n_confirmed, confirmed_cited = self.cited_by_record(
            literature.hypothesis, *replications, literature.citations
        )

        def mean(n: torch.Tensor, cited: torch.Tensor) -> torch.Tensor:
            n = n.double()
            return torch.where(n > 0, cited.double() / n.clamp(min=1), torch.nan)

        failed_mean, confirmed_mean = mean(n_failed, failed_cited), mean(n_confirmed, confirmed_cited)
        ratio = torch.where(confirmed_mean > 0, failed_mean / confirmed_mean.clamp(min=1e-300), torch.nan)
        filled = literature.hypothesis >= 0
        return {"citation_gini": gini(literature.citations, filled), "failed_citation_ratio": ratio.float()}

    def literature_tallies(self) -> LiteratureTallies:
        """What the literature believes at the end of the round (beliefs.py), counted by class: the filled
        places grouped by their published results (the finding itself the first positive) and truth; or
        place by place, where there are more such classes than places (the same counts)."""
        literature = self.literature
        negative = literature.published_negative
        k, m = int(literature.published_positive.max()) + 2, int(negative.max()) + 1
        classes = 2 * k * m
        if classes > self.literature_size:  # findings replicated many times: fewer places than classes
            filled = (literature.hypothesis >= 0).int()
            positive = literature.published_positive + 1
            return literature_tallies(self.p, positive, negative, literature.true, filled)
        code = self.class_codes(
            literature.hypothesis,
            literature.published_positive,
            negative,
            literature.true,
            torch.tensor(m, device=self.device),
            torch.tensor(classes, device=self.device),
        )
        count = code.flatten().bincount(minlength=self.n_worlds * (classes + 1))
        count = count.view(self.n_worlds, -1)[:, :classes].int()
        index = torch.arange(classes, device=self.device).expand(self.n_worlds, -1)
        return literature_tallies(self.p, index // 2 // m, index // 2 % m, index % 2 == 1, count)

    def _world(self, name: str) -> torch.Tensor:
        """A per-world parameter as this round reads it, (worlds, 1): institutions may set it between
        rounds."""
        return self.p[name].view(-1, 1)

    def _first_slot(self) -> torch.Tensor:
        """This round's first study slot k0 in each world, (worlds, 1) int32: the round's order runs from slot
        k0 to the last, then from slot 0 to k0 - 1.

        Moves within a round are simultaneous, but a scarce finding goes to one replicator and a full
        literature keeps only some new findings: who comes first is decided by this order, rotated to a
        random first slot each round in each world, so that no researcher is favoured by its index."""
        n_slots = self.n_researchers * self.slots
        uniform = self.rng.uniform(self.round_index, "slot_order", (1,))  # (W, 1)
        return (n_slots - (uniform * n_slots).int()) % n_slots  # an offset u x n in float32, truncated

    def _round_order(self, n_slots: int) -> torch.Tensor:
        """Each slot's position in this round's order, (worlds, slots): from _first_slot on."""
        return (torch.arange(n_slots, device=self.device) - self._first_slot()) % n_slots

    def _draw_findings(self, uniform: torch.Tensor) -> torch.Tensor:
        """The place of the literature each slot would replicate, (worlds, slots): uniform over the places
        filled so far (place 0, empty and closed, in an empty literature)."""
        filled = self.findings_published.clamp(max=self.literature_size).view(-1, 1)
        # The kernels' form: the uniform times the count in float32, truncated, and clamped, since float32
        # rounding can carry u * filled up to filled.
        place = (uniform * filled).long()
        return torch.minimum(place, (filled - 1).clamp(min=0))

    def _first_claims(self, drawn: torch.Tensor, claims: torch.Tensor) -> torch.Tensor:
        """Per place of the literature, (worlds, places): the earliest position in this round's order among
        the slots that claim it (`claims`: each slot's position where it claims its drawn place, else the
        number of slots), or the number of slots where none does."""
        n_slots = claims.shape[1]
        nobody = torch.full((self.n_worlds, self.literature_size), n_slots, device=self.device)
        return nobody.scatter_reduce(1, drawn, claims, "amin")

    def _publish(
        self,
        before: Literature,
        replicated: torch.Tensor,
        drawn: torch.Tensor,
        confirms: torch.Tensor,
        refutes: torch.Tensor,
        citations: Citations | None = None,
    ) -> Literature:
        """The literature after this round's replications: each replicated finding counts one more
        replication and closes once it has had replications_per_finding (0: never), and each published
        replication adds one to its finding's confirmations or failures. In place: `before` is not read
        after this (a round's copy of every column cost more than the rest of a round of a large
        literature)."""
        replications = before.replications.scatter_add_(1, drawn, replicated.int())
        limit = self.p["replications_per_finding"]
        return Literature(
            hypothesis=before.hypothesis,
            true=before.true,
            author=before.author,
            action=before.action,
            open=before.open & (replications < limit) if limit else before.open,
            published_positive=before.published_positive.scatter_add_(1, drawn, confirms.int()),
            published_negative=before.published_negative.scatter_add_(1, drawn, refutes.int()),
            replications=replications,
            published_round=before.published_round,
            citations=before.citations
            if citations is None
            else before.citations.add_(count_citations(before, citations)),
            journal=before.journal,
        )

    def _add_findings(
        self,
        literature: Literature,
        new: torch.Tensor,
        n_new: torch.Tensor,
        position: torch.Tensor,
        true: torch.Tensor,
        slot_action: torch.Tensor,
        journal: torch.Tensor | None = None,
    ) -> Literature:
        """`literature` with this round's new findings (flagged by `new`, (worlds, slots)) in its ring.

        The round's new findings are numbered in this round's order, on from findings_published; finding
        number h takes place h % literature_size (the oldest's, once the ring is full). If the round has more
        than literature_size new findings, only its last literature_size are kept."""
        # The new findings before each slot in this round's order, which runs from the first slot k0 (where
        # position is 0) to the last, then from slot 0: counted in slot order, those before the slot less
        # those before k0, and for a slot before k0 all those from k0 on besides.
        before = new.cumsum(1) - new.long()
        slot = torch.arange(new.shape[1], device=self.device)
        first = (new.shape[1] - position[:, :1]) % new.shape[1]
        earlier = before - before.gather(1, first) + torch.where(slot < first, n_new.view(-1, 1), 0)
        number = self.findings_published.view(-1, 1) + earlier
        kept = new & (earlier >= n_new.view(-1, 1) - self.literature_size)

        # As flat (world, slot) indices; distinct places within a world, since distinct numbers.
        entry = kept.view(-1).nonzero().squeeze(1)
        world, slot = entry // kept.shape[1], entry % kept.shape[1]
        hypothesis = flat(number, entry)
        values = {
            "hypothesis": hypothesis,
            "true": flat(true, entry),
            "author": slot // self.slots,
            "action": flat(slot_action, entry),
            "open": True,
            "published_positive": 0,
            "published_negative": 0,
            "replications": 0,
            "published_round": self.round_index,
            "citations": 0,
            "journal": 0 if journal is None else flat(journal, entry),
        }
        place = world * self.literature_size + hypothesis % self.literature_size

        def entered(column: torch.Tensor, value: Any) -> torch.Tensor:
            if isinstance(value, torch.Tensor):  # one value per place (the places are distinct)
                column.view(-1).index_copy_(0, place, value.to(column.dtype))
            else:
                column.view(-1).index_fill_(0, place, value)
            return column

        columns = literature.columns()
        return Literature(**{name: entered(columns[name], value) for name, value in values.items()})
