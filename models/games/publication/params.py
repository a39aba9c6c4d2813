"""Parameters of the publication game, with their ranges and meanings."""

from __future__ import annotations

import math
from typing import Any

from models.params import Param, ParamSpace

# How a funder picks the labs it funds (funding.py): by publications, by citations, by lottery, by lottery
# among labs above a publication threshold, or a share by publications and the rest by lottery.
FUNDING_RULES = ("publications", "impact", "lottery", "modified_lottery", "mixed")


def _hacked_alpha_not_below_alpha(p: dict[str, Any]) -> str | None:
    if p["hacked_alpha"] < p["alpha"]:
        return (
            f"hacked_alpha = {p['hacked_alpha']:g} is below alpha = {p['alpha']:g}: the false positive "
            "rate at zero rigor must be at least the rate at full rigor"
        )
    return None


def _effort_model_fits(p: dict[str, Any]) -> str | None:
    if p["study_model"] != "effort":
        return None
    if not 0 < p["power"] < 1:
        return (
            f"power = {p['power']:g} is outside (0, 1): the effort model's alpha = W / (1 + (1 - W) e) needs "
            "a power strictly between 0 and 1"
        )
    if p["effort"] > p["max_effort"]:
        return (
            f"effort = {p['effort']:g} is above max_effort = {p['max_effort']:g}: allowed is 1 to max_effort"
        )
    if p["effort_productivity"] * math.log10(p["max_effort"]) > 1:
        return (
            f"effort_productivity = {p['effort_productivity']:g} with max_effort = {p['max_effort']:g} makes "
            "h = 1 - eta log10(e) negative: allowed is eta * log10(max_effort) <= 1"
        )
    return None


def _institutions_fit(p: dict[str, Any]) -> str | None:
    """Refuse institution settings that cannot be met: more citations than findings to cite, more grants
    than labs (a threshold no lab can reach in the run: publication_rounds_fit)."""
    places = p["literature_size"] or p["n_researchers"]
    if p["citations_per_paper"] > places:
        return (
            f"citations_per_paper = {p['citations_per_paper']} is larger than the literature can hold "
            f"({places} findings): allowed is 0 to {places}"
        )
    if p["grants_per_period"] > p["n_researchers"]:
        return (
            f"grants_per_period = {p['grants_per_period']} is more than the {p['n_researchers']} labs: "
            f"allowed is 1 to {p['n_researchers']}"
        )
    return None


def publication_rounds_fit(p: dict[str, Any], rounds: int) -> str | None:
    """Refuse a modified lottery's publication threshold that no lab can reach in a run of `rounds` rounds
    (a lab publishes at most studies_per_round a round)."""
    reachable = p["studies_per_round"] * rounds
    lottery = p["funding_rule"] == "modified_lottery" or p["funder_acts"]
    if p["study_cost"] > 0 and lottery and p["funding_threshold"] > reachable:
        return (
            f"funding_threshold = {p['funding_threshold']:g} publications is more than a lab can publish in "
            f"the run ({p['studies_per_round']} a round x {rounds} rounds): allowed is 0 to {reachable}"
        )
    return None


# Smaldino & McElreath (2016), Table 1: 100 labs, base rate 0.1, initial effort 75 and power 0.8, eta 0.2;
# only positive novel results published, every replication published; V_N = 1, V_R+ = V_R- = 0.5 (so
# null_reward = 0), V_O+ = 0.1, V_O- = -100. Every published finding may be replicated any number of times.
# The replication rate r0 is the study's choice (0 in their first runs).
SMALDINO_MCELREATH_2016 = {
    "study_model": "effort",
    "n_researchers": 100,
    "base_rate": 0.1,
    "effort": 75.0,
    "power": 0.8,
    "effort_productivity": 0.2,
    "publish_novel_positive_prob": 1.0,
    "publish_novel_null_prob": 0.0,
    "publish_replication_positive_prob": 1.0,
    "publish_replication_null_prob": 1.0,
    "novelty_reward": 1.0,
    "replication_reward": 0.5,
    "null_reward": 0.0,
    "confirmed_reward": 0.1,
    "failed_replication_penalty": 100.0,
    "replications_per_finding": 0,
}

PUBLICATION_PARAMS = ParamSpace(
    name="game",
    params={
        "n_researchers": Param(
            100, "researchers per world", kind=int, low=2, high=10_000_000, per_world=False
        ),
        "rigor_levels": Param(
            3,
            "rigor levels a researcher can choose, evenly spaced from 0 to 1",
            kind=int,
            low=2,
            high=16,
            per_world=False,
        ),
        "studies_per_round": Param(
            1,
            "study slots a researcher works on each round at zero rigor",
            kind=int,
            low=1,
            high=16,
            per_world=False,
        ),
        "literature_size": Param(
            0,
            "published positive findings kept for replication per world (0: one per researcher)",
            kind=int,
            low=0,
            high=100_000_000,
            per_world=False,
        ),
        "base_rate": Param(0.1, "probability that a novel hypothesis is true", low=0, high=1),
        "power": Param(
            0.8, "probability that a study of a true hypothesis comes out positive", low=0, high=1
        ),
        "alpha": Param(0.05, "false positive rate at full rigor", low=0, high=1),
        "hacked_alpha": Param(
            0.3, "false positive rate at zero rigor (flexible analysis inflates it)", low=0, high=1
        ),
        "rigor_cost": Param(
            0.5,
            "share of study slots lost at full rigor (rigor lowers productivity)",
            low=0,
            high=1,
            high_open=True,
        ),
        "publish_null_prob": Param(
            0.1, "probability a journal publishes a null result (1 - publication bias)", low=0, high=1
        ),
        "novelty_reward": Param(1.0, "V_N: payoff per published novel positive finding", low=0, high=1e6),
        "replication_reward": Param(
            0.2,
            "V_R+: payoff per published replication study (V_R- = replication_reward + null_reward)",
            low=0,
            high=1e6,
        ),
        "null_reward": Param(0.5, "payoff per published null result", low=0, high=1e6),
        "failed_replication_penalty": Param(
            3.0,
            "-V_O-: cost to the original author when a published failed replication refutes their finding",
            low=0,
            high=1e6,
        ),
        # The field's other parameterisation and publication model (Smaldino & McElreath 2016; McElreath &
        # Smaldino 2015; Ioannidis 2005). Their defaults leave the game above as it was.
        "study_model": Param(
            "rigor",
            "how a lab's methods set its studies: 'rigor' (rigor levels between hacked_alpha and alpha, "
            "costing rigor_cost) or 'effort' (Smaldino & McElreath 2016: alpha = W / (1 + (1 - W) e), a "
            "study finished with probability h = 1 - eta log10(e))",
            kind=str,
            choices=("rigor", "effort"),
            per_world=False,
        ),
        "effort": Param(
            75.0,
            "e: a lab's effort in the effort model (1 is the least), and evolving labs' initial effort",
            low=1,
            high=1e5,
        ),
        "max_effort": Param(
            100.0, "the highest effort a lab can choose or evolve (effort model)", low=1, high=1e5
        ),
        "effort_levels": Param(
            3,
            "effort levels a learner chooses among, log-spaced from 1 to max_effort (1: the game's effort)",
            kind=int,
            low=1,
            high=16,
            per_world=False,
        ),
        "effort_productivity": Param(
            0.2,
            "eta: how much effort lowers productivity, h = 1 - eta log10(e) (effort model)",
            low=0,
            high=1,
        ),
        "power_levels": Param(
            1,
            "power levels a learner chooses among, power x k / levels for k = 1..levels "
            "(1: the game's power)",
            kind=int,
            low=1,
            high=16,
            per_world=False,
        ),
        "qrp_bias": Param(
            0.0,
            "u (Ioannidis 2005): the share of analyses that would have been negative and are reported "
            "positive, for true and false hypotheses alike; evolving labs' initial u",
            low=0,
            high=1,
        ),
        "qrp_levels": Param(
            1,
            "levels of u a learner chooses among, evenly from 0 to qrp_bias (1: the game's qrp_bias)",
            kind=int,
            low=1,
            high=16,
            per_world=False,
        ),
        "replication_rate": Param(
            0.0,
            "r: evolving labs' initial probability of replicating rather than testing a novel hypothesis",
            low=0,
            high=1,
        ),
        "publish_novel_positive_prob": Param(
            1.0, "cN+: probability a journal publishes a positive novel result", low=0, high=1
        ),
        "publish_novel_null_prob": Param(
            0.1,
            "cN-: probability a journal publishes a negative novel result (default: publish_null_prob)",
            low=0,
            high=1,
            same_as="publish_null_prob",
        ),
        "publish_replication_positive_prob": Param(
            1.0, "cR+: probability a journal publishes a replication that confirms", low=0, high=1
        ),
        "publish_replication_null_prob": Param(
            0.1,
            "cR-: probability a journal publishes a failed replication (default: publish_null_prob)",
            low=0,
            high=1,
            same_as="publish_null_prob",
        ),
        "confirmed_reward": Param(
            0.0,
            "V_O+: paid to the original author when a published replication confirms its finding",
            low=0,
            high=1e6,
        ),
        "replications_per_finding": Param(
            1,
            "replications a published finding can receive (0: any number; at most one a round)",
            kind=int,
            low=0,
            high=1_000_000,
            per_world=False,
        ),
        # Institutions (journals.py, citations.py, funding.py). Their defaults leave the game as it was: one
        # journal following the publication probabilities above, no review, no citations, no funding.
        "n_journals": Param(
            1,
            "journals per world; each study is submitted to one, drawn uniformly",
            kind=int,
            low=1,
            high=64,
            per_world=False,
        ),
        "journals_act": Param(
            False,
            "whether the journals' actions set their policies (false: every journal follows the publication "
            "probabilities above)",
            kind=bool,
            per_world=False,
        ),
        "journal_levels": Param(
            3,
            "levels of each policy a journal chooses among: its probability of publishing a negative "
            "result and its novelty preference, each evenly from 0 to 1",
            kind=int,
            low=2,
            high=8,
            per_world=False,
        ),
        "novelty_preference": Param(
            0.0,
            "nu: a journal publishes a replication with (1 - nu) times its cR+ or cR- (1: replications "
            "never published)",
            low=0,
            high=1,
        ),
        "review_detection": Param(
            0.0,
            "d: probability that peer review detects a false positive, which the journal then rejects",
            low=0,
            high=1,
        ),
        "review_cost": Param(
            0.0,
            "reviewer effort: what reviewing one positive submission costs its journal (with review)",
            low=0,
            high=1e6,
        ),
        "citations_per_paper": Param(
            0,
            "findings each published study cites, drawn from the literature (0: no citations)",
            kind=int,
            low=0,
            high=100,
            per_world=False,
        ),
        "citation_bias": Param(
            0.0,
            "preferential attachment: a finding is cited in proportion to 1 + citation_bias x its citations "
            "so far (0: uniformly among the findings)",
            low=0,
            high=1e3,
        ),
        "citation_reward": Param(
            0.0, "payoff to a finding's author for each citation of it", low=0, high=1e6
        ),
        "study_cost": Param(
            0.0,
            "funds a lab spends to start a study (0: no funding system, labs never run out)",
            low=0,
            high=1e6,
        ),
        "initial_funds": Param(10.0, "funds each lab starts with (where study_cost > 0)", low=0, high=1e9),
        "grant_budget": Param(
            0.0,
            "funds the funder gives out every funding_period rounds, per world, in equal grants",
            low=0,
            high=1e9,
        ),
        "grants_per_period": Param(
            1,
            "grants the budget is split into each funding period",
            kind=int,
            low=1,
            high=10_000_000,
            per_world=False,
        ),
        "funding_period": Param(
            1, "rounds between funding decisions", kind=int, low=1, high=1_000_000, per_world=False
        ),
        "funding_rule": Param(
            "publications",
            "how the funder picks the labs it funds: publications (most published since founding), "
            "impact (most cited), lottery, modified_lottery (lottery among labs with at least "
            "funding_threshold publications and alpha at most funding_alpha_cap), mixed (mixed_share of the "
            "grants by publications, the rest by lottery)",
            kind=str,
            choices=FUNDING_RULES,
            indexed=True,
        ),
        "funder_acts": Param(
            False,
            "whether the funder's action sets the funding rule (false: the funding_rule above)",
            kind=bool,
            per_world=False,
        ),
        "funding_threshold": Param(
            1.0,
            "publications since its founding that make a lab eligible for the modified lottery",
            low=0,
            high=1e7,
        ),
        "funding_alpha_cap": Param(
            1.0,
            "A: the highest false positive rate a lab may have to enter the modified lottery (Smaldino, "
            "Turner & Contreras Kallens 2019; 1: no screen)",
            low=0,
            high=1,
        ),
        "mixed_share": Param(
            0.5, "share of the grants given by publications under the mixed rule", low=0, high=1
        ),
        "replication_set_aside": Param(
            0.0,
            "share of the grants reserved for labs that replicated since the last decision, by lottery among "
            "them",
            low=0,
            high=1,
        ),
        "canonization_threshold": Param(
            0.95,
            "the literature's belief above which a hypothesis counts as an accepted fact (canonized)",
            low=0.5,
            high=1,
            low_open=True,
            high_open=True,
        ),
    },
    checks=(_hacked_alpha_not_below_alpha, _effort_model_fits, _institutions_fit),
    presets={"smaldino_mcelreath_2016": SMALDINO_MCELREATH_2016},
)
