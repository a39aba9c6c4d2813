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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from models.game import BatchOfWorlds, Observations, Role, RoundResult, Trait
from models.games.election import voting
from models.games.election.counterfactual import winners_without_each
from models.games.election.params import ELECTION_PARAMS
from models.games.election.pivotal import pivot_probabilities, pivotal_gain
from models.games.election.voting import MAX_CANDIDATES, RULES, condorcet_winner, elect
from models.institutions import Institution
from models.random import RandomStreams
from models.reductions import world_sum

# Every observation starts with what everyone saw of the last election, padded to 2 dimensions and 8
# candidates (zeros before the first, but for the platforms: every party starts at its ideal point): the
# winner's platform, every candidate's platform, the vote shares (for voters: the poll, see `poll`), the
# turnout and the rule in force (one-hot, in RULES order). Voters then see their own ideal point;
# candidates theirs, their own platform and vote share, the centroid of the voters who put them first
# (their supporters: Laver's aggregators move there) and whether they are a party that has just entered.
POSITION = 2  # policy coordinates, padded to the largest number of dimensions
SHARES = MAX_CANDIDATES  # vote shares, padded to the most candidates
COMMON_FIELDS = {
    "winner_platform": POSITION,
    "platforms": MAX_CANDIDATES * POSITION,
    "shares": SHARES,
    "turnout": 1,
    "rule": len(RULES),
}
VOTER_FIELDS = {**COMMON_FIELDS, "ideal": POSITION}
CANDIDATE_FIELDS = {
    **COMMON_FIELDS,
    "ideal": POSITION,
    "own_platform": POSITION,
    "own_share": 1,
    "supporters_centroid": POSITION,
    "entered": 1,
}
COMMON = sum(COMMON_FIELDS.values())


def _positions(p: dict[str, Any]) -> tuple[Trait, ...]:
    """A candidate's platform as traits, one per dimension, for learners that choose positions."""
    extent = p["platform_extent"]
    return tuple(
        Trait(f"position_{d}", f"platform coordinate {d}", -extent, extent, 0.0, 0.1 * extent)
        for d in range(p["dimensions"])
    )


VOTER = Role(
    "voter",
    "abstains or votes (with strategic_voting, chooses whom to put first); paid the winner's policy utility",
    agents=lambda p: p["n_voters"],
    actions=lambda p: p["n_candidates"] + 1 if p["strategic_voting"] else 2,
    observation=lambda p: sum(VOTER_FIELDS.values()),
    fields=lambda p: VOTER_FIELDS,
)
CANDIDATE = Role(
    "candidate",
    "chooses a platform on the grid, or a position (Laver's rules); paid for winning and vote share, and its "
    "policy motive",
    agents=lambda p: p["n_candidates"],
    actions=lambda p: p["platform_grid"] ** p["dimensions"],
    observation=lambda p: sum(CANDIDATE_FIELDS.values()),
    traits=_positions,
    fields=lambda p: CANDIDATE_FIELDS,
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
    fields=lambda p: COMMON_FIELDS,
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
    sincere_share: torch.Tensor  # (W,) share of those who voted whose first choice is a sincere favourite
    eccentricity: torch.Tensor  # (W,) mean distance of the platforms from the electorate's centre
    exits: torch.Tensor  # (W,) parties that left after this round (exit_threshold)


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
            elif kind == "lognormal":  # exp(skew Z), standardised by the distribution's mean and sd
                sigma = self.p["skew"].view(-1, 1, 1).double()
                mean = torch.exp(sigma**2 / 2)
                sd = torch.sqrt((torch.exp(sigma**2) - 1) * torch.exp(sigma**2))
                self.voters = ((torch.exp(sigma * self.voters.double()) - mean) / sd).float()
        self.centre = world_sum(self.voters, 1) / self.n_voters  # (W, D)
        # (W, D): per coordinate, the midpoint for an even electorate; in 2-D a point of reference, as no
        # median voter exists in general (Plott 1967)
        self.median = self.voters.quantile(0.5, dim=1)
        self.ideals = normal(self.rng, "candidate_ideals", (self.n_candidates, self.dimensions))
        self.round_index = 0
        self._last: ElectionTallies | None = None
        self._ballots: tuple[torch.Tensor, torch.Tensor] | None = None  # last round's (ballots, turnout)
        self._poll = torch.zeros(self.n_worlds, self.n_candidates, device=self.device)
        # Party entry and exit: rounds each party has stayed below exit_threshold, and the new parties that
        # stand at their entry positions in the next round.
        self._weak = torch.zeros(self.n_worlds, self.n_candidates, dtype=torch.long, device=self.device)
        self._entered = torch.zeros(self.n_worlds, self.n_candidates, dtype=torch.bool, device=self.device)
        self._entrants = self.ideals.clone()

    def _rule_indices(self) -> torch.Tensor:
        """Each world's rule as an index into RULES, (worlds,)."""
        rule = self.p["rule"]
        if isinstance(rule, str):
            return torch.full((self.n_worlds,), RULES.index(rule), device=self.device)
        return rule.to(self.device)

    def observe(self, role: str) -> torch.Tensor:
        """Each agent's observation, (worlds, agents, size), laid out as the role's fields (see VOTER_FIELDS,
        CANDIDATE_FIELDS and COMMON_FIELDS above)."""
        n, d, c = self.n_worlds, self.dimensions, self.n_candidates
        parts = {name: torch.zeros(n, size, device=self.device) for name, size in COMMON_FIELDS.items()}
        platforms = self.ideals if self._last is None else self._last.platforms
        platforms = torch.where(self._entered.unsqueeze(-1), self._entrants, platforms)
        parts["platforms"].view(n, MAX_CANDIDATES, POSITION)[:, :c, :d] = platforms
        parts["rule"][torch.arange(n, device=self.device), self._rule_indices()] = 1.0
        if self._last is not None:
            rows = torch.arange(n, device=self.device)
            parts["winner_platform"][:, :d] = self._last.platforms[rows, self._last.winner]
            shares = self._poll if role == "voter" else self._last.vote_shares.float()
            parts["shares"][:, :c] = shares
            parts["turnout"][:, 0] = self._last.turnout
        common = torch.cat(list(parts.values()), -1)
        if role not in ("voter", "candidate"):
            return common.unsqueeze(1)
        ideals = self.voters if role == "voter" else self.ideals
        own = [self._padded(ideals)]
        if role == "candidate":
            share = torch.zeros(n, c, 1, device=self.device)
            if self._last is not None:
                share[..., 0] = self._last.vote_shares.float()
            own += [
                self._padded(platforms),
                share,
                self._padded(self._supporters_centroid(platforms)),
                self._entered.float().unsqueeze(-1),
            ]
        return torch.cat([common.unsqueeze(1).expand(-1, ideals.shape[1], -1), *own], -1)

    def _padded(self, positions: torch.Tensor) -> torch.Tensor:
        """(W, A, D) positions padded to POSITION coordinates."""
        out = torch.zeros(*positions.shape[:2], POSITION, device=self.device)
        out[..., : self.dimensions] = positions
        return out

    def _supporters_centroid(self, platforms: torch.Tensor) -> torch.Tensor:
        """(W, C, D): the mean ideal point of the voters who put each candidate first last round (a voter
        with several favourites counts for each by an equal part); a candidate nobody supported, its own
        platform."""
        if self._ballots is None:
            return platforms
        ballots, turnout = self._ballots
        favourite = (ballots == ballots.amax(-1, keepdim=True)).float() * turnout.unsqueeze(-1)
        weight = favourite / favourite.sum(-1, keepdim=True).clamp(min=1)  # (W, V, C)
        mass = weight.sum(1).unsqueeze(-1)  # (W, C, 1)
        centroid = torch.einsum("wvc,wvd->wcd", weight, self.voters) / mass.clamp(min=1e-12)
        return torch.where(mass > 0, centroid, platforms)

    def platforms_of(self, action: torch.Tensor) -> torch.Tensor:
        """Grid index (W, C) -> platform coordinates (W, C, D)."""
        digits = torch.stack([(action // self.grid**d) % self.grid for d in range(self.dimensions)], -1)
        unit = digits.float() / (self.grid - 1) * 2 - 1
        return unit * self.p["platform_extent"].view(-1, 1, 1)

    def placed(self, positions: torch.Tensor) -> torch.Tensor:
        """Chosen positions (W, C, D) -> platforms: inside the platform space and, where platform_space is
        'grid', at the nearest grid platform."""
        extent = self.p["platform_extent"].view(-1, 1, 1)
        positions = torch.maximum(torch.minimum(positions.float(), extent), -extent)
        if self.p["platform_space"] == "grid":
            steps = torch.round((positions / extent + 1) / 2 * (self.grid - 1))
            positions = (steps / (self.grid - 1) * 2 - 1) * extent
        return positions

    def step(self, actions: dict[str, torch.Tensor]) -> RoundResult:
        """Decide every world's election for one round."""
        p, rng, t = self.p, self.rng, self.round_index
        n_candidates = self.n_candidates
        chosen_platforms = actions["candidate"].to(self.device)
        if chosen_platforms.is_floating_point():  # positions (W, C, D) from a learner that acts on traits
            platforms = self.placed(chosen_platforms)
        else:
            platforms = self.platforms_of(chosen_platforms.long())
        platforms = torch.where(self._entered.unsqueeze(-1), self._entrants, platforms)  # new parties
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
        sincere = torch.ones_like(turnout)
        if p["strategic_voting"]:  # a supported candidate goes first on the ballot, the rest stay sincere
            chosen = (vote - 1).clamp(min=0)
            candidates = torch.arange(n_candidates, device=self.device)
            first = (chosen.unsqueeze(-1) == candidates) & (vote > 0).unsqueeze(-1)
            top = perceived.amax(-1, keepdim=True)
            sincere = (vote == 0) | (perceived.gather(-1, chosen.unsqueeze(-1)).squeeze(-1) == top[..., 0])
            perceived = torch.where(first, top + 1, perceived)

        tie_break = rng.uniform(t, "tie_break", (n_candidates,))

        def decide(rule: str) -> tuple[torch.Tensor, torch.Tensor]:
            outcome = elect(rule, perceived, turnout, tie_break, self.counting)
            return outcome.winner, outcome.vote_shares

        winner, shares = self._by_rule(decide)

        rows = torch.arange(self.n_worlds, device=self.device)
        welfare = world_sum(policy, 1) / policy.shape[1]  # (W, C): the mean over voters
        winning_policy = platforms[rows, winner]  # (W, D)
        voted = turnout.float()
        expressive = p["expressive_benefit"].view(-1, 1) - p["alienation"].view(-1, 1) * distance.amin(-1)
        voter_reward = (
            self._credit(policy, perceived, turnout, tie_break, winner)
            + (expressive - p["voting_cost"].view(-1, 1)) * voted
        )
        won = (torch.arange(n_candidates, device=self.device) == winner.unsqueeze(1)).float()
        policy_weight = p["policy_weight"].view(-1, 1)
        policy_loss = (self.ideals - winning_policy.unsqueeze(1)).norm(dim=-1)
        candidate_reward = (1 - policy_weight) * (won + shares.float()) / 2 - policy_weight * policy_loss
        self.round_index += 1
        voters_voting = voted.sum(-1)
        tallies = ElectionTallies(
            winner=winner,
            condorcet_winner=condorcet_winner(policy, torch.ones_like(turnout), self.counting),
            welfare=welfare,
            winner_distance_to_median=(winning_policy - self.median).norm(dim=-1),
            turnout=voted.mean(-1),
            platforms=platforms,
            vote_shares=shares,
            sincere_share=torch.where(
                voters_voting > 0, (sincere & turnout).float().sum(-1) / voters_voting.clamp(min=1), torch.nan
            ),
            eccentricity=extremity.mean(-1),
            exits=torch.zeros(self.n_worlds, device=self.device),
        )
        self._last, self._ballots = tallies, (perceived, turnout)
        self._poll = self._take_poll(shares.float(), t)
        self._enter_and_exit(shares, tallies, t)
        observations = Observations(self.observe)
        return RoundResult({"voter": voter_reward, "candidate": candidate_reward}, {}, observations, tallies)

    def _by_rule(self, decide: Callable[[str], tuple[torch.Tensor, ...]]) -> tuple[torch.Tensor, ...]:
        """decide(rule) for the batch's rule or, where each world's electoral body chose its own, for each
        rule chosen, every world keeping its own rule's results."""
        rule = self.p["rule"]
        if isinstance(rule, str):
            return decide(rule)
        merged: tuple[torch.Tensor, ...] = ()
        for index in rule.unique().tolist():
            result = decide(RULES[index])
            here = rule == index
            merged = (
                result
                if not merged
                else tuple(
                    torch.where(here.view(-1, *[1] * (new.dim() - 1)), new, old)
                    for new, old in zip(result, merged, strict=True)
                )
            )
        return merged

    def _credit(
        self,
        policy: torch.Tensor,
        ballots: torch.Tensor,
        turnout: torch.Tensor,
        tie_break: torch.Tensor,
        winner: torch.Tensor,
    ) -> torch.Tensor:
        """What each voter is paid for the outcome, (W, V), by the `credit` scheme (the parameter's doc)."""
        own = policy.gather(2, winner.view(-1, 1, 1).expand(-1, policy.shape[1], 1)).squeeze(-1)
        scheme = self.p["credit"]
        if scheme == "difference":  # my outcome minus the outcome had I abstained
            (without,) = self._by_rule(
                lambda rule: (winners_without_each(rule, ballots, turnout, tie_break, self.counting),)
            )
            return own - policy.gather(2, without.unsqueeze(-1)).squeeze(-1)
        if scheme == "pivotal":
            sample = self.p["poll_sample_size"] if self.p["poll"] == "sampled" else None
            pivots = pivot_probabilities(self._poll, self.n_voters, sample)
            (gain,) = self._by_rule(lambda rule: (pivotal_gain(rule, pivots, ballots, policy, turnout),))
            return gain
        return own

    def _take_poll(self, shares: torch.Tensor, t: int) -> torch.Tensor:
        """What voters will learn of this election before the next: its shares, a multinomial survey of
        poll_sample_size respondents (drawn by inverse transform from the shares), or nothing."""
        kind = self.p["poll"]
        if kind == "none":
            return torch.zeros_like(shares)
        if kind == "exact":
            return shares
        sample = self.p["poll_sample_size"]
        cumulative = (shares / shares.sum(-1, keepdim=True).clamp(min=1e-12)).cumsum(-1)
        cumulative[:, -1] = 1.0
        answers = self.rng.uniform(t, "poll", (sample,))  # (W, respondents)
        picked = torch.searchsorted(cumulative.contiguous(), answers.contiguous(), right=True)
        picked = picked.clamp(max=self.n_candidates - 1)
        counts = torch.zeros_like(shares).scatter_add_(1, picked, torch.ones_like(answers))
        return torch.where(shares.sum(-1, keepdim=True) > 0, counts / sample, 0.0)

    def _enter_and_exit(self, shares: torch.Tensor, tallies: ElectionTallies, t: int) -> None:
        """Parties below exit_threshold for exit_after rounds leave; a new party takes each one's place next
        round, at a drawn voter's ideal point or a uniform position (entry_position), with that as its
        ideal point too."""
        self._entered = torch.zeros_like(self._entered)
        threshold = self.p["exit_threshold"].view(-1, 1)
        if not bool((threshold > 0).any()):
            return
        weak = (shares < threshold) & (threshold > 0)
        self._weak = torch.where(weak, self._weak + 1, 0)
        leaving = self._weak >= self.p["exit_after"].view(-1, 1)
        if not bool(leaving.any()):
            return
        if self.p["entry_position"] == "voter":
            pick = (self.rng.uniform(t, "entry/voter", (self.n_candidates,)) * self.n_voters).long()
            position = self.voters.gather(1, pick.unsqueeze(-1).expand(-1, -1, self.dimensions))
        else:
            unit = self.rng.uniform(t, "entry/position", (self.n_candidates, self.dimensions)) * 2 - 1
            position = unit * self.p["platform_extent"].view(-1, 1, 1)
        position = self.placed(position)
        self._entered = leaving
        self._entrants = torch.where(leaving.unsqueeze(-1), position, self._entrants)
        self.ideals = torch.where(leaving.unsqueeze(-1), position, self.ideals)
        self._weak = torch.where(leaving, 0, self._weak)
        tallies.exits = leaving.sum(-1).float()
