"""Metrics of the election game (Downs 1957; Merrill 1984; Laakso & Taagepera 1979)."""

from __future__ import annotations

import torch

from models.games.election.rules import ElectionTallies
from models.metrics import Metric, ratio


def _rows(t: ElectionTallies) -> torch.Tensor:
    return torch.arange(len(t.winner), device=t.winner.device)


def _winner_welfare(t: ElectionTallies) -> torch.Tensor:
    return t.welfare[_rows(t), t.winner]


def _utility_efficiency(t: ElectionTallies) -> torch.Tensor:
    average = t.welfare.mean(-1)
    return ratio(_winner_welfare(t) - average, t.welfare.amax(-1) - average)


def _condorcet_efficiency(t: ElectionTallies) -> torch.Tensor:
    elected = (t.winner == t.condorcet_winner).double()
    return torch.where(t.condorcet_winner >= 0, elected, torch.nan)


ELECTION_METRICS: tuple[Metric, ...] = (
    Metric("median_voter_distance", "distance of the winning platform from the median voter (in 2-D, "
           "from the coordinate-wise median: there is no median voter in general)",
           lambda t: t.winner_distance_to_median),
    Metric("voter_welfare", "voters' mean policy utility from the winning platform", _winner_welfare),
    Metric("utility_efficiency", "winner's welfare above the candidates' average, as a share of the best "
           "candidate's (Merrill's social utility efficiency)", _utility_efficiency),
    Metric("condorcet_efficiency", "1 if the Condorcet winner (on policy preferences) won, 0 if not; "
           "undefined without one; its mean over rounds is the rule's Condorcet efficiency",
           _condorcet_efficiency, bounded=True),
    Metric("turnout", "share of voters who voted", lambda t: t.turnout, bounded=True),
    Metric("platform_polarization", "mean distance of the candidates' platforms from their centroid",
           lambda t: (t.platforms - t.platforms.mean(1, keepdim=True)).norm(dim=-1).mean(-1)),
    Metric("effective_number_of_parties", "1 / sum of squared vote shares (Laakso & Taagepera)",
           lambda t: ratio(torch.ones_like(t.turnout), (t.vote_shares**2).sum(-1))),
    Metric("sincere_vote_share", "share of those who voted whose ballot puts a sincere favourite first "
           "(below 1 only with strategic_voting: strategic, or mistaken, votes)", lambda t: t.sincere_share,
           bounded=True),
    Metric("platform_eccentricity", "mean distance of the candidates' platforms from the electorate's centre "
           "(Laver & Sergenti's eccentricity, in voter standard deviations)",
           lambda t: t.eccentricity),
    Metric("party_exits", "parties that left this round (exit_threshold; a new one takes each one's place)",
           lambda t: t.exits),
)  # fmt: skip
