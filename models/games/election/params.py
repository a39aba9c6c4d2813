"""Parameters of the election game, with their ranges and meanings."""

from __future__ import annotations

from typing import Any

from models.games.election.voting import MAX_CANDIDATES, RULES
from models.params import Param, ParamSpace


def _given_positions_fit(p: dict[str, Any]) -> str | None:
    if p["voter_distribution"] != "given":
        return None
    expected = p["n_voters"] * p["dimensions"]
    if len(p["voter_positions"]) != expected:
        return (
            f"voter_positions has {len(p['voter_positions'])} numbers: a given electorate needs n_voters x "
            f"dimensions = {expected} (voter by voter, dimension by dimension)"
        )
    return None


def _grid_is_odd(p: dict[str, Any]) -> str | None:
    if p["platform_grid"] % 2 == 0:
        return f"platform_grid = {p['platform_grid']} is even: use an odd number so the centre is a platform"
    return None


ELECTION_PARAMS = ParamSpace(
    name="game",
    params={
        "n_voters": Param(101, "voters per world", kind=int, low=1, high=10_000_000, per_world=False),
        "n_candidates": Param(
            2, "candidates (parties) per world", kind=int, low=2, high=MAX_CANDIDATES, per_world=False
        ),
        "dimensions": Param(1, "dimensions of the policy space", kind=int, low=1, high=2, per_world=False),
        "voter_distribution": Param(
            "normal", "how voters' ideal points are drawn", kind=str,
            choices=("normal", "bimodal", "lognormal", "given"),
        ),
        "skew": Param(
            1.0, "lognormal electorates: sigma of exp(sigma Z), standardised to mean 0 and sd 1 on each "
            "dimension; larger is more right-skewed (the median voter left of the mean)",
            low=0, low_open=True, high=3,
        ),
        "polarization": Param(
            1.0, "bimodal electorates: distance of each mode from the centre, in standard deviations",
            low=0, high=5,
        ),
        "voter_positions": Param(
            [], "given electorates: ideal points, voter by voter and dimension by dimension", kind=list
        ),
        "utility": Param("linear", "how utility falls with policy distance", kind=str,
                         choices=("linear", "quadratic")),
        "rule": Param("plurality", "the electoral rule the institution sets", kind=str, choices=RULES),
        "institution_learns": Param(
            False, "the institution picks the rule each round (learning from voter welfare), not `rule`",
            kind=bool,
        ),
        "compulsory_voting": Param(False, "every voter votes (abstaining is not possible)", kind=bool),
        "strategic_voting": Param(
            False, "voters choose whom to support (put first on the ballot), not only whether to vote",
            kind=bool,
        ),
        "poll": Param(
            "exact", "what voters learn of the last election before voting: its vote shares ('exact'), a "
            "survey of poll_sample_size voters drawn from them ('sampled'), or nothing ('none')",
            kind=str, choices=("exact", "sampled", "none"),
        ),
        "poll_sample_size": Param(
            1000, "respondents of a sampled poll (multinomial sampling error)", kind=int, low=1, high=100_000,
            per_world=False,
        ),
        "credit": Param(
            "outcome", "what a voter is paid for: the winner's policy utility ('outcome'); that minus the "
            "utility of the winner had it abstained ('difference', Wolpert & Tumer); or its ballot's "
            "expected gain given pivot probabilities from the poll ('pivotal', Riker & Ordeshook, Myerson & "
            "Weber). Voting cost and expressive benefit are paid in every scheme", kind=str,
            choices=("outcome", "difference", "pivotal"),
        ),
        "platform_space": Param(
            "grid", "where a candidate that chooses a position (Laver's rules, evolution) stands: the "
            "nearest platform on the grid, or the position itself ('continuous'); grid-choosing learners use "
            "the grid",
            kind=str, choices=("grid", "continuous"),
        ),
        "exit_threshold": Param(
            0.0, "party exit and entry (Laver & Sergenti 2011): a candidate whose vote share stays below "
            "this for exit_after rounds leaves and a new party takes its place (0: parties never leave)",
            low=0, high=1, high_open=True,
        ),
        "exit_after": Param(5, "rounds below exit_threshold after which a party leaves", kind=int, low=1,
                            high=1_000_000),
        "entry_position": Param(
            "voter", "where a new party enters: at a randomly drawn voter's ideal point ('voter') or "
            "anywhere on the platform space, uniformly ('random')", kind=str, choices=("voter", "random"),
        ),
        "voting_cost": Param(0.0, "cost of voting, in utility units", low=0, high=1e6),
        "expressive_benefit": Param(0.0, "benefit of voting in itself, in utility units", low=0, high=1e6),
        "alienation": Param(
            0.0, "the expressive benefit falls by this much per unit of distance to the voter's favourite "
            "platform (abstention from alienation)", low=0, high=1e6,
        ),
        "platform_grid": Param(
            21, "platform positions per dimension, evenly spaced on [-platform_extent, platform_extent]",
            kind=int, low=3, high=101, per_world=False,
        ),
        "platform_extent": Param(2.0, "the platform grid spans this many voter standard deviations",
                                 low=0, low_open=True, high=100),
        "policy_weight": Param(
            0.0, "candidates' weight on the winning policy's distance from their own ideal (0: office only)",
            low=0, high=1,
        ),
        "media_attention_bias": Param(
            0.0, "extra perceived utility per unit of a platform's distance from the electorate's centre",
            low=0, high=100,
        ),
        "donor_bias": Param(
            0.0, "campaign money a platform at the donor's ideal raises; it falls with distance from it",
            low=0, high=100,
        ),
        "donor_position": Param(1.0, "the donor's ideal point on every dimension", low=-100, high=100),
        "campaign_finance_cap": Param(
            1e6, "most campaign money (perceived utility) a candidate may use", low=0, high=1e6
        ),
    },
    checks=(_given_positions_fit, _grid_is_odd),
)  # fmt: skip
