"""Funding: labs hold funds, studies cost funds, and a funder gives grants by a rule (after Smaldino, Turner &
Contreras Kallens 2019, "Open science and modified funding lotteries can impede the natural selection of bad
science", R. Soc. Open Sci. 6:190194).

Where `study_cost` > 0 a lab starts each round's study slots only while its funds cover them (slot k of a
lab needs (k + 1) x study_cost), and pays study_cost for each slot it starts, whether or not the study is
finished. Labs start with `initial_funds`, and so does a new lab that takes a place (an evolving lab's
offspring: Batch tells the game of births). Every `funding_period` rounds the funder splits `grant_budget`
into `grants_per_period` equal grants and gives them to labs by its rule, reading each lab's track record
since its founding (STCK's "publications since birth"):

- publications: the labs with the most published studies;
- impact: the labs whose findings were cited most;
- lottery: labs drawn uniformly;
- modified_lottery: labs drawn uniformly among those with at least `funding_threshold` publications and a
  false positive rate at most `funding_alpha_cap` (STCK's rigour screen, the funder seeing alpha; grants
  nobody qualifies for are not given);
- mixed: `mixed_share` of the grants by publications, the rest by lottery among the others (a fraction of a
  grant rounded up with that probability: one grant goes by publications with probability mixed_share).

A share `replication_set_aside` of the grants is first given by lottery among the labs that replicated since
the last decision (grants without such a lab are not given). Ties are broken at random; a lab gets at most
one grant a decision. The funder is a role with one agent per world: where `funder_acts`, its action picks
the rule, and it is paid the true discoveries published minus the false ones, its social objective.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from models.games.publication.params import FUNDING_RULES
from models.games.publication.tallies import PublicationTallies
from models.institutions import Institution
from models.random import RandomStreams

# The funder observes its field's last round: the false discovery rate among new findings, the replication
# rate, and the Gini coefficient of the labs' funds.
FUNDER_FIELDS = {"false_discovery_rate": 1, "replication_rate": 1, "funds_gini": 1}

PUBLICATIONS, IMPACT, LOTTERY, MODIFIED_LOTTERY, MIXED = range(len(FUNDING_RULES))


def net_discoveries(tallies: PublicationTallies) -> torch.Tensor:
    """True findings published this round minus false ones, per world: the funder's objective."""
    true = tallies.published_novel_positives - tallies.published_false_positives
    return (true - tallies.published_false_positives).float()


FUNDER = Institution(
    role="funder",
    doc="gives grants to labs by a funding rule; picks the rule where funder_acts, paid true minus false "
    "discoveries",
    parameter="funding_rule",
    choices=FUNDING_RULES,
    objective=net_discoveries,
    switch="funder_acts",
    observation=lambda p: len(FUNDER_FIELDS),
    fields=lambda p: FUNDER_FIELDS,
)


def funding_on(p: Mapping[str, Any]) -> bool:
    """Whether any world of the batch runs a funding system (a study costs funds)."""
    return bool((p["study_cost"] > 0).any())


@dataclass
class Funds:
    """The labs' funds and what each did since the funder's last decision, (worlds, labs) each."""

    held: torch.Tensor  # float32
    publications: torch.Tensor  # int32: studies published since the lab's founding
    citations: torch.Tensor  # int32: citations its findings received since its founding
    replications: torch.Tensor  # int32: replications it did since the funder's last decision

    @classmethod
    def start(cls, p: Mapping[str, Any], n_worlds: int, n_labs: int, device: torch.device) -> Funds:
        def zeros() -> torch.Tensor:
            return torch.zeros(n_worlds, n_labs, dtype=torch.int32, device=device)

        held = p["initial_funds"].view(-1, 1).expand(n_worlds, n_labs).clone()
        return cls(held, zeros(), zeros(), zeros())

    def affordable(self, cost: torch.Tensor, slots: int) -> torch.Tensor:
        """Which study slots each lab can start, (worlds, labs x slots): slot k needs (k + 1) x cost."""
        need = torch.arange(1, slots + 1, device=cost.device, dtype=torch.float32) * cost.view(-1, 1, 1)
        return (need <= self.held.unsqueeze(-1)).view(self.held.shape[0], -1)

    def record(
        self,
        cost: torch.Tensor,
        started: torch.Tensor,
        published: torch.Tensor,
        replicated: torch.Tensor,
        cited: torch.Tensor | None,
    ) -> None:
        """After a round: pay for the started slots, count the published studies and the replications (each
        (worlds, labs)) and the citations received."""
        self.held -= cost.view(-1, 1) * started.float()
        self.held.clamp_(min=0)
        self.publications += published.int()
        self.replications += replicated.int()
        if cited is not None:
            self.citations += cited.int()

    def found(self, newborn: torch.Tensor, initial: torch.Tensor) -> None:
        """New labs in the `newborn` places, (worlds, labs) bool: initial funds (worlds, 1), no record."""
        self.held = torch.where(newborn, initial, self.held)
        for counts in (self.publications, self.citations, self.replications):
            counts.masked_fill_(newborn, 0)

    def decide(
        self,
        p: Mapping[str, Any],
        rule: torch.Tensor,
        rng: RandomStreams,
        round_index: int,
        alpha: torch.Tensor | None = None,
    ) -> None:
        """The funder's decision: grants by each world's rule (indices into FUNDING_RULES, (worlds,)), given
        each lab's false positive rate (worlds, labs), added to the chosen labs' funds; the count of
        replications starts again."""
        self.held += grants(p, rule, self, rng, round_index, alpha)
        self.replications.zero_()


def _best(score: torch.Tensor, count: torch.Tensor, most: int) -> torch.Tensor:
    """The `count` (worlds, 1; at most `most`) highest-scoring entries of each row among those with a
    score >= 0. Scores are integer keys (a 24-bit uniform, with a count above it where merit counts), so
    that the order among tied counts is the draw's, and integers select faster than floats."""
    k = min(most, score.shape[1], int(count.max()) if count.numel() else 0)
    if k <= 0:
        return torch.zeros_like(score, dtype=torch.bool)
    top = score.topk(k, dim=1, sorted=True)
    within = (torch.arange(k, device=score.device) < count) & (top.values >= 0)
    return torch.zeros_like(score, dtype=torch.bool).scatter_(1, top.indices, within)


def _draw_keys(uniform: torch.Tensor) -> torch.Tensor:
    """The 24 bits of float32 uniforms (k / 2**24, exactly) as int32 keys, in the same order."""
    return (uniform * (1 << 24)).int()


def _rounded_at_random(x: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """x rounded up with probability its fraction (by the uniform u, (worlds, 1)), else down."""
    whole = torch.floor(x)
    return whole + (u < x - whole).to(x.dtype)


def grants(
    p: Mapping[str, Any],
    rule: torch.Tensor,
    funds: Funds,
    rng: RandomStreams,
    round_index: int,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """The grant each lab receives at a decision, (worlds, labs) float32 (see the module docstring)."""
    n_labs = funds.held.shape[1]
    n_grants = p["grants_per_period"]
    size = p["grant_budget"].view(-1, 1) / n_grants
    # Uniforms for the set-aside lottery, the merit ties and the main lottery.
    aside_draw, tie, lottery, mix = rng.uniforms(
        round_index,
        {"grant_aside": (n_labs,), "grant_tie": (n_labs,), "grant_lottery": (n_labs,), "grant_mix": (1,)},
    )
    rule = rule.view(-1, 1)

    # The set-aside: by lottery among the labs that replicated.
    n_aside = torch.round(p["replication_set_aside"].view(-1, 1) * n_grants)
    aside = _best(torch.where(funds.replications > 0, _draw_keys(aside_draw), -1), n_aside, n_grants)
    n_main = n_grants - n_aside

    # Merit: the most published (or cited) labs, ties at random.
    record = torch.where(rule == IMPACT, funds.citations, funds.publications).long()
    merit = (record << 24) + _draw_keys(tie)
    n_merit = torch.where(
        (rule == PUBLICATIONS) | (rule == IMPACT),
        n_main,
        torch.where(rule == MIXED, _rounded_at_random(n_main * p["mixed_share"].view(-1, 1), mix), 0.0),
    )
    by_merit = _best(torch.where(aside, -1, merit), n_merit, n_grants)

    # Lottery among the eligible labs not yet funded: every lab, or under the modified lottery those with at
    # least funding_threshold publications and a false positive rate at most funding_alpha_cap.
    eligible = ~aside & ~by_merit
    if bool((rule == MODIFIED_LOTTERY).any()):
        qualified = funds.publications >= p["funding_threshold"].view(-1, 1)
        if alpha is not None:
            qualified &= alpha <= p["funding_alpha_cap"].view(-1, 1)
        eligible &= (rule != MODIFIED_LOTTERY) | qualified
    lots = torch.where(eligible, _draw_keys(lottery), -1)
    by_lot = _best(lots, n_main - n_merit, n_grants)
    return size * (aside | by_merit | by_lot).float()


def rule_indices(p: Mapping[str, Any], n_worlds: int, device: torch.device) -> torch.Tensor:
    """Each world's funding rule as an index into FUNDING_RULES, (worlds,): the study's, or the funder's
    choice where it acts."""
    rule = p["funding_rule"]
    if isinstance(rule, str):
        return torch.full((n_worlds,), FUNDING_RULES.index(rule), device=device)
    return rule.to(device)
