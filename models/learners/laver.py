"""Laver's party decision rules: boundedly rational parties that choose a policy position from what the last
election showed them, not from any model of voters or rivals (Laver 2005, "Policy and the dynamics of
political competition", APSR 99(2), Table 1; Laver & Sergenti 2011, "Party Competition: An Agent-Based
Model", ch. 3-4).

- sticker: never changes position (an ideological party; the baseline);
- aggregator: sets its position on each dimension at the mean ideal point of its current supporters;
- hunter: if its last move increased its vote share, makes the same move again; otherwise reverses heading
  and makes a move on a heading drawn uniformly from the arc of +-90 degrees about the reversed one. Its
  first move has a uniformly random heading. In one dimension it moves as a two-dimensional hunter's
  shadow on the line: back, by the cosine of the drawn angle times a unit move (a fixed unit move in 1-D
  freezes two hunters' midpoint: moving apart or together they never change their shares);
- predator: identifies the largest party; unless that is itself, moves toward it.

A "unit move" is `step` voter standard deviations (0.1, as Laver & Sergenti's speed). The rules read only
the candidate's observation (its own platform and share, every party's platform and share, the centroid of
its supporters, whether it has just entered), so a role that lacks them (voters) is refused. Before the
first election there is nothing to adapt to: every rule stands at its starting platform (its ideal point).
A party that has just entered stands where it entered and forgets its hunter's memory.

On a platform grid (platform_space = "grid") the game snaps each position to the nearest grid point, so a
move shorter than half a grid step is undone: use platform_space = "continuous", as Laver's space is, or a
step of at least a grid step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from models.game import Trait
from models.learners.base import Experience, Learner, Observation
from models.params import ConfigError, Param, ParamSpace

STEP = Param(
    0.1, "length of a unit move, in voter standard deviations (Laver & Sergenti's speed)",
    low=0, low_open=True, high=100,
)  # fmt: skip


class LaverRule(Learner):
    """What every Laver rule shares: positions (the role's traits) for every party of every world at once,
    from the observation's named fields; each rule says where to go (`target`) from there."""

    acts_on: ClassVar[str] = "traits"
    needs_fields: ClassVar[tuple[str, ...]] = ("own_platform", "entered")
    params = ParamSpace(name="learner", params={})

    def __init__(self, params: dict[str, Any], *args: Any, traits: Sequence[Sequence[Trait]] = ()) -> None:
        super().__init__(params, *args)
        if not traits or not traits[0]:
            raise ConfigError(f"learners.{self.role}.kind = {self.kind!r} needs a role with position traits.")
        self.dimensions = len(traits[0])

    def part(self, features: torch.Tensor, name: str) -> torch.Tensor:
        """A field holding positions, cut to the game's dimensions: (worlds, agents, dimensions)."""
        return self.field(features, name)[..., : self.dimensions]

    def act(self, observation: Observation) -> torch.Tensor:
        features = observation.features
        own = self.part(features, "own_platform")
        if observation.round_index == 0:  # no election yet: every party stands at its ideal point
            return own
        entered = self.field(features, "entered") > 0
        return torch.where(entered, own, self.target(features, own))

    def target(self, features: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        """Where the rule moves from `own`, (worlds, agents, dimensions), after an election."""
        raise NotImplementedError

    def learn(self, experience: Experience) -> None:
        """The rule adapts to the last election only, which its next observation shows."""


class Sticker(LaverRule):
    """Laver (2005): "never changes position". A party of ideologues, and the baseline every adaptive rule
    is measured against."""

    kind = "sticker"
    doc = "Laver's sticker: a party that never moves from its ideal point"

    def target(self, features: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        return own


class Aggregator(LaverRule):
    """Laver (2005): "set party policy on each dimension at the mean preference on that dimension of current
    party supporters". A party that represents its voters; all-aggregator systems run Lloyd's algorithm and
    settle in a centroidal Voronoi tessellation (Laver & Sergenti 2011, ch. 4). The game gives a party that
    nobody supported its own platform as its supporters' centroid, so it stays."""

    kind = "aggregator"
    doc = "Laver's aggregator: moves to the centroid of its current supporters"
    needs_fields = (*LaverRule.needs_fields, "supporters_centroid")

    def target(self, features: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        return self.part(features, "supporters_centroid")


class Predator(LaverRule):
    """Laver (2005): "identify the largest party; if this is not the predator, make a unit move toward the
    largest party". A move toward a party stops on it rather than passing it (a predator within a step lands
    on its prey's platform: going past would not be "toward" it); there the two split its voters equally, so
    the predator is then tied largest and stays. A predator tied for largest counts as the largest; among
    several other largest parties it hunts the first."""

    kind = "predator"
    doc = "Laver's predator: moves a step toward the party with the largest vote share"
    needs_fields = (*LaverRule.needs_fields, "own_share", "shares", "platforms")
    params = ParamSpace(name="learner", params={"step": STEP})

    def target(self, features: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        shares = self.field(features, "shares")  # padded with zeros: a padded slot is never the largest
        largest = shares.argmax(-1)  # (worlds, agents): the first party with the largest share
        platforms = self.field(features, "platforms").unflatten(-1, (shares.shape[-1], -1))
        prey = platforms.gather(-2, largest[..., None, None].expand(-1, -1, 1, platforms.shape[-1]))
        toward = prey.squeeze(-2)[..., : self.dimensions] - own
        distance = toward.norm(dim=-1, keepdim=True)
        step = self.p["step"]  # (worlds, 1, 1)
        moved = torch.where(distance > step, own + step * toward / distance.clamp(min=1e-12), own + toward)
        is_largest = self.field(features, "own_share") >= shares.amax(-1, keepdim=True)
        return torch.where(is_largest, own, moved)


class Hunter(LaverRule):
    """Laver (2005): "if the last policy move increased party support, make the same move; else reverse
    heading and make a unit move in a heading chosen randomly from the arc +-90 degrees of the direction now
    being faced". A Pavlovian vote-seeker: it keeps what worked and turns away from what did not, with no
    model of the voters. Its first move (and an entrant's) has a uniformly random heading.

    It remembers its heading (zero before its first move) and the vote share it had before that move; `learn`
    turns the heading after each election (the share a strict increase or not), `act` moves along it."""

    kind = "hunter"
    doc = "Laver's hunter: repeats a move that gained votes, else turns back within +-90 degrees"
    needs_fields = (*LaverRule.needs_fields, "own_share")
    params = ParamSpace(name="learner", params={"step": STEP})

    def __init__(self, params: dict[str, Any], *args: Any, traits: Sequence[Sequence[Trait]] = ()) -> None:
        super().__init__(params, *args, traits=traits)
        if self.dimensions > 2:
            raise ConfigError(f"learners.{self.role}.kind = 'hunter' turns in 1 or 2 dimensions only.")
        shape = (self.n_worlds, self.n_agents)
        self.heading = torch.zeros(*shape, self.dimensions, device=self.rng.device)
        self.share_before = torch.zeros(shape, device=self.rng.device)

    def target(self, features: torch.Tensor, own: torch.Tensor) -> torch.Tensor:
        return own + self.p["step"] * self.heading

    def learn(self, experience: Experience) -> None:
        features = experience.next_observation.features
        share = self.field(features, "own_share")[..., 0]
        moved = self.heading.abs().sum(-1) > 0
        kept = (moved & (share > self.share_before)).unsqueeze(-1)
        u = self.draw(experience.round_index, "hunter/heading")  # (worlds, agents)
        if self.dimensions == 1:  # the 2-D rule's shadow on the line: a heading's cosine
            fresh = torch.cos(2 * math.pi * u).unsqueeze(-1)
            turned = -torch.sign(self.heading) * torch.cos(math.pi * (u - 0.5)).unsqueeze(-1)
        else:
            back = torch.atan2(-self.heading[..., 1], -self.heading[..., 0])
            fresh = self._unit(2 * math.pi * u)
            turned = self._unit(back + math.pi * (u - 0.5))  # uniform on the half-circle about the reverse
        heading = torch.where(kept, self.heading, torch.where(moved.unsqueeze(-1), turned, fresh))
        entered = self.field(features, "entered") > 0  # a new party: no memory, its first move is random
        self.heading = torch.where(entered, 0.0, heading)
        self.share_before = share

    @staticmethod
    def _unit(angle: torch.Tensor) -> torch.Tensor:
        return torch.stack([torch.cos(angle), torch.sin(angle)], -1)
