"""Voters who best-respond to the poll: the strategic voter of Cox (1997) and Myerson & Weber (1993).

A strategic voter does not waste its vote: among the candidates the poll shows as viable it supports the
one it prefers. Under plurality only two can win in equilibrium and a vote for a third is wasted, Cox's
"M + 1 rule" with district magnitude M = 1; under a two-round runoff three are viable; under the rules that
read whole rankings or approvals (instant runoff, approval, Borda, Condorcet) no such pressure exists and
the voter votes sincerely. `viability = "rule"` follows that rule; `"fixed"` makes the `viable` leading
candidates viable under every rule. Before any poll (the first round, or `poll = "none"`) every candidate
is viable: nothing tells the voter otherwise. Preferences are the voter's policy distances to the platforms
of the last election (the platforms of this one are not yet known when it decides), and it always votes.

It plays in the election game with `strategic_voting = true` (action a >= 1: put candidate a - 1 first).
"""

from __future__ import annotations

from typing import Any

import torch

from models.games.election.voting import RULES
from models.learners.base import Experience, Learner, Observation
from models.params import ConfigError, Param, ParamSpace

# Cox's M + 1 rule: how many candidates each rule leaves viable (None: all, a sincere vote)
VIABLE_BY_RULE = {"plurality": 2, "runoff": 3}


class StrategicVoter(Learner):
    """Votes for the viable candidate it prefers, given the poll (no learning: a best response)."""

    kind = "strategic_voter"
    doc = "voters who support the viable candidate they prefer, given the poll (Cox 1997)"
    needs_fields = ("ideal", "platforms", "shares", "rule")
    params = ParamSpace(
        name="learner",
        params={
            "viability": Param(
                "rule", "which candidates count as viable: as many as the rule in force leaves (Cox's M + 1: "
                "plurality 2, runoff 3, other rules all) or the `viable` leading ones ('fixed')", kind=str,
                choices=("rule", "fixed"),
            ),
            "viable": Param(2, "viability = 'fixed': how many of the poll's leaders are viable", kind=int,
                            low=1, high=8, per_world=False),
        },
    )  # fmt: skip

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        if role != "voter":  # a candidate's observation has the poll too, but its actions are platforms
            raise ConfigError(
                f"learners.{role}.kind = 'strategic_voter' chooses whom to vote for: allowed only for the "
                "election game's voter role."
            )
        if n_actions < 3:
            raise ConfigError(
                f"learners.{role}.kind = 'strategic_voter' chooses whom to support: allowed only with the "
                f"election game's strategic_voting = true (the {role} role has {n_actions} actions)."
            )
        if config["viable"] > n_actions - 1:
            raise ConfigError(
                f"learners.{role}.viable = {config['viable']} is more than the {n_actions - 1} candidates: "
                f"allowed is 1 to {n_actions - 1}."
            )

    def act(self, observation: Observation) -> torch.Tensor:
        features = observation.features
        n_candidates = self.n_actions - 1
        # The poll, the platforms and the rule are everyone's in a world: read from the first voter's view.
        common = features[:, :1]
        shares = self.field(common, "shares")[..., :n_candidates]  # (W, 1, C): the poll
        platforms = self.field(common, "platforms").unflatten(-1, (-1, 2))[..., :n_candidates, :]
        viable = self._viable(shares, self.field(common, "rule").argmax(-1), n_candidates)  # (W, 1, C)
        x, y = self.field(features, "ideal").unbind(-1)  # (W, V) each; padded coordinates are 0
        distance = [  # squared: the same order, and one pass fewer
            (x - platforms[:, :, c, 0]) ** 2 + (y - platforms[:, :, c, 1]) ** 2 for c in range(n_candidates)
        ]
        best = torch.full_like(distance[0], float("inf"))
        choice = torch.zeros(distance[0].shape, dtype=torch.long, device=features.device)
        for c, d in enumerate(distance):  # the nearest viable candidate, the first of equals
            nearer = (d < best) & viable[..., c]
            best = torch.where(nearer, d, best)
            choice = torch.where(nearer, c, choice)
        return choice + 1

    def _viable(self, shares: torch.Tensor, rule: torch.Tensor, n_candidates: int) -> torch.Tensor:
        """(W, 1, C) bool: the poll's leaders, as many as the viability setting allows; all before a poll."""
        if self.p["viability"] == "fixed":
            count = torch.full_like(rule, self.p["viable"])
        else:
            by_rule = [VIABLE_BY_RULE.get(name, n_candidates) for name in RULES]
            count = torch.tensor(by_rule, device=rule.device)[rule]
        # rank by share, ties to the lower index (a fixed order, so every voter reads the poll alike)
        order = shares - torch.arange(n_candidates, device=shares.device) * 1e-7
        rank = order.argsort(-1, descending=True).argsort(-1)
        informed = shares.sum(-1, keepdim=True) > 0
        return (rank < count.unsqueeze(-1)) | ~informed

    def learn(self, experience: Experience) -> None:
        """A best response to each poll: nothing to learn."""
