"""Parameters of the publication game, with their ranges and meanings."""

from __future__ import annotations

from typing import Any

from models.params import Param, ParamSpace


def _hacked_alpha_not_below_alpha(p: dict[str, Any]) -> str | None:
    if p["hacked_alpha"] < p["alpha"]:
        return (
            f"hacked_alpha = {p['hacked_alpha']:g} is below alpha = {p['alpha']:g}: the false positive "
            "rate at zero rigor must be at least the rate at full rigor"
        )
    return None


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
        "novelty_reward": Param(1.0, "payoff per published novel positive finding", low=0, high=1e6),
        "replication_reward": Param(0.2, "payoff per published replication study", low=0, high=1e6),
        "null_reward": Param(0.5, "payoff per published null result", low=0, high=1e6),
        "failed_replication_penalty": Param(
            3.0,
            "cost to the original author when a published failed replication refutes their finding",
            low=0,
            high=1e6,
        ),
    },
    checks=(_hacked_alpha_not_below_alpha,),
)
