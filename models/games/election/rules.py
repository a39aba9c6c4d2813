"""The election game's rules: voters vote, candidates choose platforms, an institution sets the rule
(after Downs 1957, Merrill 1984, Laver & Sergenti 2012).

Voters have ideal points in a policy space of 1 or 2 dimensions (normal, bimodal with adjustable
`polarization`, or given). Each round every candidate picks a platform on a grid, every voter abstains
or votes, and the electoral rule turns ballots into a winner whose platform becomes policy.

- Ballots rank candidates by *perceived* utility: minus the (linear or quadratic) distance to the
  platform, plus `media_attention_bias` times the platform's distance from the electorate's centre
  (extreme platforms get attention), plus campaign money: `donor_bias` times exp(-distance to
  `donor_position`), capped by `campaign_finance_cap`. With `strategic_voting` a voter may instead put
  one chosen candidate first. With `compulsory_voting` nobody abstains.
- Voters are paid their *policy* utility from the winner, minus `voting_cost` and plus
  `expressive_benefit` if they voted: biases shift votes, not welfare. The expressive benefit falls by
  `alienation` per unit of distance to the voter's favourite platform (abstention from alienation).
- Candidates are paid (1 - policy_weight) x (win + vote share) / 2 minus policy_weight x the distance of
  the winning policy from their own ideal point (drawn like a voter's).
- The electoral body is an institution (models/institutions.py): with `institution_learns` it picks the
  rule each round in each world, else `rule` holds; it is paid the voters' mean policy utility.

State is a few tensors shaped (worlds, ...); one `step` decides every world's election at once. The
voting rules are voting.py; kernels.py counts their votes faster, with the same numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from models.game import BatchOfWorlds, Observations, Role, RoundResult
from models.games.election import voting
from models.games.election.params import ELECTION_PARAMS
from models.games.election.voting import MAX_CANDIDATES, RULES, condorcet_winner, elect
from models.institutions import Institution
from models.random import RandomStreams
from models.reductions import world_sum

# Every observation starts with what everyone saw of the last election (zeros before the first): the
# winner's platform (2 numbers, the second 0 in one dimension), the vote shares (one per candidate, 0 past
# the last) and the turnout. Voters and candidates then see their own ideal point (2 numbers, padded).
POSITION = 2  # policy coordinates, padded to the largest number of dimensions
SHARES = MAX_CANDIDATES  # vote shares, padded to the most candidates
COMMON = POSITION + SHARES + 1  # winner's platform, vote shares, turnout

VOTER = Role(
    "voter",
    "abstains or votes (with strategic_voting, chooses whom to put first); paid the winner's policy utility",
    agents=lambda p: p["n_voters"],
    actions=lambda p: p["n_candidates"] + 1 if p["strategic_voting"] else 2,
    observation=lambda p: COMMON + POSITION,
)
CANDIDATE = Role(
    "candidate",
    "chooses a platform on the grid; paid for winning and vote share, and its policy motive",
    agents=lambda p: p["n_candidates"],
    actions=lambda p: p["platform_grid"] ** p["dimensions"],
    observation=lambda p: COMMON + POSITION,
)


def _winner_welfare(tallies: ElectionTallies) -> torch.Tensor:
    """The voters' mean policy utility from the winner, per world: the electoral body's objective."""
    return tallies.welfare[torch.arange(len(tallies.winner), device=tallies.winner.device), tallies.winner]


ELECTORAL_BODY = Institution(
    role="institution",
    doc="the electoral body: picks the voting rule each round where institution_learns, paid voter welfare",
    parameter="rule",
    choices=RULES,
    objective=lambda tallies: _winner_welfare(tallies),
    switch="institution_learns",
    observation=lambda p: COMMON,
)


def peak_bytes_per_world(params: dict[str, Any]) -> int:
    """Memory one world needs at a round's peak: the voters' pairwise comparisons dominate."""
    candidates = params["n_candidates"]
    return params["n_voters"] * (candidates * candidates * 16 + candidates * 64 + 64)


@dataclass
class ElectionTallies:
    """Per-world facts of one round, the inputs of every election metric."""

    winner: torch.Tensor  # (W,) candidate index
    condorcet_winner: torch.Tensor  # (W,) index, -1 where none (on sincere policy preferences)
    welfare: torch.Tensor  # (W, C) voters' mean policy utility were candidate c to win
    winner_distance_to_median: torch.Tensor  # (W,)
    turnout: torch.Tensor  # (W,) share of voters who voted
    platforms: torch.Tensor  # (W, C, D)
    vote_shares: torch.Tensor  # (W, C)


def normal(rng: RandomStreams, stream: str, shape: tuple[int, ...]) -> torch.Tensor:
    """Standard normal draws from two uniform streams (Box-Muller)."""
    u1 = 1.0 - rng.uniform(-2, f"{stream}/radius", shape)
    u2 = rng.uniform(-2, f"{stream}/angle", shape)
    return torch.sqrt(-2 * torch.log(u1)) * torch.cos(2 * math.pi * u2)


class ElectionRules(BatchOfWorlds):
    """A batch of worlds of the election game, stepped by the rules (see the module docstring)."""

    counting = voting.COUNTING  # how the rules count votes: the reference counts

    params = ELECTION_PARAMS
    own_roles = (VOTER, CANDIDATE)

    def __init__(
        self, worlds: list[dict[str, Any]], seeds: list[int], device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(worlds, seeds, device)
        self.n_voters, self.n_candidates = self.p["n_voters"], self.p["n_candidates"]
        self.dimensions, self.grid = self.p["dimensions"], self.p["platform_grid"]
        self.reset()

    def reset(self) -> None:
        """Draw every world's electorate and candidates' ideal points; round 0."""
        shape = (self.n_voters, self.dimensions)
        kind = self.p["voter_distribution"]
        if kind == "given":
            given = torch.tensor(self.p["voter_positions"], dtype=torch.float32, device=self.device)
            self.voters = given.view(1, *shape).expand(self.n_worlds, -1, -1).clone()
        else:
            self.voters = normal(self.rng, "voters", shape)
            if kind == "bimodal":  # half the voters around -polarization, half around +polarization
                side = torch.where(self.rng.uniform(-2, "voters/side", (self.n_voters, 1)) < 0.5, -1.0, 1.0)
                self.voters = self.voters + side * self.p["polarization"].view(-1, 1, 1)
        self.centre = world_sum(self.voters, 1) / self.n_voters  # (W, D)
        # (W, D): per coordinate, the midpoint for an even electorate; in 2-D a point of reference, as no
        # median voter exists in general (Plott 1967)
        self.median = self.voters.quantile(0.5, dim=1)
        self.ideals = normal(self.rng, "candidate_ideals", (self.n_candidates, self.dimensions))
        self.round_index = 0
        self._last: ElectionTallies | None = None

    def observe(self, role: str) -> torch.Tensor:
        """Each agent's observation, (worlds, agents, size): the last election's winning platform, vote
        shares and turnout, then, for voters and candidates, the agent's own ideal point."""
        common = torch.zeros(self.n_worlds, COMMON, device=self.device)
        if self._last is not None:
            rows = torch.arange(self.n_worlds, device=self.device)
            common[:, : self.dimensions] = self._last.platforms[rows, self._last.winner]
            common[:, POSITION : POSITION + self.n_candidates] = self._last.vote_shares.float()
            common[:, -1] = self._last.turnout
        if role == "voter" or role == "candidate":
            ideals = self.voters if role == "voter" else self.ideals.expand(self.n_worlds, -1, -1)
            own = torch.zeros(*ideals.shape[:2], POSITION, device=self.device)
            own[..., : self.dimensions] = ideals
            return torch.cat([common.unsqueeze(1).expand(-1, own.shape[1], -1), own], -1)
        return common.unsqueeze(1)

    def platforms_of(self, action: torch.Tensor) -> torch.Tensor:
        """Grid index (W, C) -> platform coordinates (W, C, D)."""
        digits = torch.stack([(action // self.grid**d) % self.grid for d in range(self.dimensions)], -1)
        unit = digits.float() / (self.grid - 1) * 2 - 1
        return unit * self.p["platform_extent"].view(-1, 1, 1)

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        """Decide every world's election for one round."""
        p, rng, t = self.p, self.rng, self.round_index
        n_candidates = self.n_candidates
        platforms = self.platforms_of(actions["candidate"].to(self.device).long())
        # Broadcast, not torch.cdist: with 1-2 dimensions cdist's threaded kernel costs far more than
        # the arithmetic (measured 24 ms against 0.03 ms for one small world with two threads).
        distance = (self.voters.unsqueeze(2) - platforms.unsqueeze(1)).norm(dim=-1)  # (W, V, C)
        policy = -(distance if p["utility"] == "linear" else distance**2)

        extremity = (platforms - self.centre.unsqueeze(1)).norm(dim=-1)  # (W, C)
        donor = (platforms - p["donor_position"].view(-1, 1, 1)).norm(dim=-1)
        money = torch.minimum(
            p["donor_bias"].view(-1, 1) * torch.exp(-donor), p["campaign_finance_cap"].view(-1, 1)
        )
        perceived = policy + (p["media_attention_bias"].view(-1, 1) * extremity + money).unsqueeze(1)

        vote = actions["voter"].to(self.device).long()
        turnout = (vote > 0) | p["compulsory_voting"]
        if p["strategic_voting"]:  # a supported candidate goes first on the ballot, the rest stay sincere
            chosen = (vote - 1).clamp(min=0)
            first = torch.nn.functional.one_hot(chosen, n_candidates).bool() & (vote > 0).unsqueeze(-1)
            top = perceived.amax(-1, keepdim=True) + 1
            perceived = torch.where(first, top, perceived)

        tie_break = rng.uniform(t, "tie_break", (n_candidates,))
        rule = p["rule"]  # one rule for the batch, or each world's as its electoral body chose (indices)
        if isinstance(rule, str):
            outcome = elect(rule, perceived, turnout, tie_break, self.counting)
            winner, shares = outcome.winner, outcome.vote_shares
        else:
            winner = torch.zeros(self.n_worlds, dtype=torch.long, device=self.device)
            shares = torch.zeros(self.n_worlds, n_candidates, dtype=torch.float64, device=self.device)
            for index in rule.unique().tolist():
                outcome = elect(RULES[index], perceived, turnout, tie_break, self.counting)
                here = rule == index
                winner = torch.where(here, outcome.winner, winner)
                shares = torch.where(here.unsqueeze(-1), outcome.vote_shares, shares)

        rows = torch.arange(self.n_worlds, device=self.device)
        welfare = world_sum(policy, 1) / policy.shape[1]  # (W, C): the mean over voters
        winning_policy = platforms[rows, winner]  # (W, D)
        voted = turnout.float()
        expressive = p["expressive_benefit"].view(-1, 1) - p["alienation"].view(-1, 1) * distance.amin(-1)
        voter_reward = policy[rows, :, winner] + (expressive - p["voting_cost"].view(-1, 1)) * voted
        won = (torch.arange(n_candidates, device=self.device) == winner.unsqueeze(1)).float()
        policy_weight = p["policy_weight"].view(-1, 1)
        policy_loss = (self.ideals - winning_policy.unsqueeze(1)).norm(dim=-1)
        candidate_reward = (1 - policy_weight) * (won + shares.float()) / 2 - policy_weight * policy_loss
        self.round_index += 1
        tallies = ElectionTallies(
            winner=winner,
            condorcet_winner=condorcet_winner(policy, torch.ones_like(turnout), self.counting),
            welfare=welfare,
            winner_distance_to_median=(winning_policy - self.median).norm(dim=-1),
            turnout=voted.mean(-1),
            platforms=platforms,
            vote_shares=shares,
        )
        self._last = tallies
        observations = Observations(self.observe)
        return RoundResult({"voter": voter_reward, "candidate": candidate_reward}, {}, observations, tallies)
