"""Pivotal credit: a ballot's expected gain from the chance that it decides the election, the calculus of
voting (Riker & Ordeshook 1968) with the pivot probabilities of Myerson & Weber (1993).

A voter's ballot matters only when two candidates are (nearly) tied for the lead. From the poll the
voter saw, each pair (k, j) gets a pivot probability p_kj: the chance that k and j tie within one vote for
first place. The margin between them is taken as normal, with mean the poll's s_k - s_j and variance that
of a Poisson electorate of n voters (Myerson & Weber's large games), (s_k + s_j) / n, plus a sampled poll's
sampling error, (s_k + s_j - (s_k - s_j)^2) / m; the chance that the others trail the tie is the product of
the same normal approximation for each. Without a poll (or before the first election) the voter knows
nothing and every pair is as likely: shares 1 / C.

The ballot's expected gain is then sum over pairs k < j of p_kj (b_k - b_j)(u_k - u_j), with u the voter's
policy utilities and b what its ballot gives each candidate: for the scoring rules (Myerson & Weber's own
case) the ballot's points (plurality and the runoff's first round: its first choice; approval: its
approvals; Borda: the candidates it ranks below each), and for the majority rules decided head to head
(instant runoff's last round, Condorcet) the sign of its preference between k and j. Under plurality this
is the familiar sum over j of p_kj (u_k - u_j) for a vote for k: a vote for a candidate nobody expects to
lead is worth almost nothing, which is what drives Duverger's law (Cox 1997).
"""

from __future__ import annotations

import math

import torch

SCORED = {"plurality": "first", "runoff": "first", "approval": "approval", "borda": "borda"}
HEAD_TO_HEAD = ("instant_runoff", "condorcet")


def pivot_probabilities(poll: torch.Tensor, n_voters: int, sample: int | None) -> torch.Tensor:
    """p[w, k, j]: the chance that candidates k and j tie within one vote for the lead, (worlds, C, C),
    symmetric with a zero diagonal, from poll shares (worlds, C) (all zero: no poll), for an electorate of
    `n_voters` and a poll of `sample` respondents (None: the last election's exact shares)."""
    s = poll.double()
    total = s.sum(-1, keepdim=True)
    s = torch.where(total > 0, s / total.clamp(min=1e-300), 1.0 / s.shape[-1])
    sk, sj = s.unsqueeze(2), s.unsqueeze(1)  # (W, C, 1), (W, 1, C)

    def spread(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Variance of the share margin a - b."""
        variance = (a + b) / n_voters
        if sample is not None:
            variance = variance + (a + b - (a - b) ** 2).clamp(min=0) / sample
        return variance.clamp(min=1.0 / n_voters**2)

    # In logarithms, and what falls below 1e-100 set to 0: a near-impossible tie would otherwise leave
    # denormal numbers, which the CPU computes with a hundred times slower.
    variance = spread(sk, sj)
    log_density = -((sk - sj) ** 2) / (2 * variance) - 0.5 * torch.log(2 * math.pi * variance)
    tie = ((sk + sj) / 2).unsqueeze(-1)  # (W, C, C, 1): the level at which k and j tie
    others = s.view(s.shape[0], 1, 1, -1)  # (W, 1, 1, C): each other candidate l
    log_trailing = torch.special.log_ndtr((tie - others) / torch.sqrt(spread(tie, others)))  # l trails
    candidates = torch.arange(s.shape[-1], device=s.device)
    is_pair = (candidates.view(-1, 1, 1) == candidates.view(1, 1, -1)) | (
        candidates.view(1, -1, 1) == candidates.view(1, 1, -1)
    )
    log_p = log_density - math.log(n_voters) + torch.where(is_pair, 0.0, log_trailing).sum(-1)
    off_diagonal = candidates.view(-1, 1) != candidates.view(1, -1)
    return torch.where((log_p > -230) & off_diagonal, torch.exp(log_p), 0.0)


def ballot_points(rule: str, ballots: torch.Tensor) -> list[torch.Tensor]:
    """What a ballot gives each candidate under a scoring rule, one (worlds, voters) tensor per candidate,
    from ballots as utilities (higher first): plurality's first choice (split among tied favourites, as the
    count does), approval's approvals (at least the ballot's mean, Merrill's threshold), Borda's candidates
    ranked below."""
    kind = SCORED[rule]
    columns = ballots.unbind(-1)
    if kind == "first":
        top = ballots.amax(-1)
        favourite = [(column == top).float() for column in columns]
        tied = sum(favourite[1:], favourite[0])
        return [chosen / tied for chosen in favourite]
    if kind == "approval":
        mean = ballots.double().mean(-1)
        return [(column.double() >= mean).float() for column in columns]
    below = [[(column > other).float() for other in columns] for column in columns]
    return [sum(row[1:], row[0]) for row in below]


def pivotal_gain(
    rule: str, pivots: torch.Tensor, ballots: torch.Tensor, utility: torch.Tensor, turnout: torch.Tensor
) -> torch.Tensor:
    """Each voter's expected gain from its ballot, (worlds, voters), zero for those who did not vote:
    pivots (worlds, C, C), ballots and policy utilities (worlds, voters, C), turnout (worlds, voters).

    A sum over the pairs of candidates of (worlds, voters) passes in float32: a (worlds, voters, C, C)
    table in float64 would cost sixteen times the memory traffic. Pivot probabilities below 1e-30 count
    as 0 (float32 has no room for them but as slow subnormals)."""
    p = torch.where(pivots < 1e-30, 0.0, pivots).float()
    u = utility.unbind(-1)
    if rule in SCORED:
        points = ballot_points(rule, ballots)

        def effect(k: int, j: int) -> torch.Tensor:
            return points[k] - points[j]
    elif rule in HEAD_TO_HEAD:
        b = ballots.unbind(-1)

        def effect(k: int, j: int) -> torch.Tensor:
            return torch.sign(b[k] - b[j])
    else:
        allowed = ", ".join([*SCORED, *HEAD_TO_HEAD])
        raise ValueError(f"rule {rule!r} has no pivotal credit: allowed are {allowed}")
    gain = torch.zeros_like(u[0])
    for k in range(len(u)):
        for j in range(k + 1, len(u)):
            gain += p[:, k, j].unsqueeze(1) * effect(k, j) * (u[k] - u[j])
    gain = gain * turnout
    return torch.where(gain.abs() < 1e-30, 0.0, gain)  # no float32 subnormals (10x slower)
