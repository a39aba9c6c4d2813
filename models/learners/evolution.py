"""Labs that evolve: the agents of a role carry heritable traits (a lab's effort, power, replication rate,
questionable research practices), and selection on what they earn, not learning, changes them (Smaldino &
McElreath 2016, "The natural selection of bad science").

Every `generation_period` rounds, in every world, one of two dynamics runs:

- death_birth (Smaldino & McElreath's): sample `sample_size` (d) agents uniformly without replacement; the
  oldest dies. Sample d of the others; the one with the highest pay-off accumulated since its birth
  reproduces. Its offspring takes the dead agent's place, with age 0, nothing earned, and its parent's traits;
- wright_fisher: the whole population is replaced at once, each place's parent drawn with probability
  proportional to its accumulated pay-off (clamped at 0; uniformly if nobody earned anything).

An offspring's every trait mutates with probability `mutation_rate`, by a Gaussian step of the trait's own
size (the game declares it: Smaldino & McElreath's sigma) times `mutation_scale`, clamped to the trait's
range; `mutates` names the traits that may mutate. Pay-off earned by an agent that has since died (a late
refutation of its finding) reaches nobody: the game's credit carries the round of the credited action, and
an agent born after it does not inherit it. Ties (equal ages, equal pay-offs) are broken at random. Every
draw is counter-based, so a world's numbers depend only on its seed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import torch

from models.game import Trait
from models.learners.base import Experience, Holding, Learner, Observation
from models.params import ConfigError, Param, ParamSpace
from models.reductions import add_at


def _mutating(config: dict[str, Any], role: str, traits: Sequence[Trait]) -> list[str]:
    """The names of the traits that may mutate, or ConfigError."""
    names = [trait.name for trait in traits]
    if config["mutates"].strip() == "all":
        return names
    chosen = [name.strip() for name in config["mutates"].split(",") if name.strip()]
    unknown = [name for name in chosen if name not in names]
    if unknown or not chosen:
        raise ConfigError(
            f"learners.{role}.mutates = {config['mutates']!r} names no trait of the {role} role: allowed is "
            f"'all' or a comma-separated list of {', '.join(names)}."
        )
    return chosen


class Evolution(Learner):
    """Selection and mutation of heritable traits, batched over the agents of a role in every world."""

    kind = "evolution"
    doc = "labs with heritable traits: the oldest die, the best paid reproduce, offspring mutate"
    acts_on: ClassVar[str] = "traits"
    params = ParamSpace(
        name="learner",
        params={
            "dynamics": Param(
                "death_birth",
                "death_birth (Smaldino & McElreath 2016: of d sampled the oldest dies, of d sampled the best "
                "paid reproduces) or wright_fisher (everyone replaced, parents in proportion to pay-off)",
                kind=str,
                choices=("death_birth", "wright_fisher"),
                per_world=False,
            ),
            "generation_period": Param(
                1, "rounds between evolutionary events", kind=int, low=1, high=10_000_000, per_world=False
            ),
            "sample_size": Param(
                10, "d: agents sampled for a death and for a birth", kind=int, low=1, high=10_000_000,
                per_world=False,
            ),
            "mutation_rate": Param(0.01, "mu: probability that an offspring's trait mutates", low=0, high=1),
            "mutation_scale": Param(
                1.0, "multiplies each trait's mutation size (the game's sigma per trait)", low=0, high=1e6
            ),
            "mutates": Param(
                "all", "the traits that may mutate: 'all' or a comma-separated list of trait names", kind=str,
                per_world=False,
            ),
        },
    )  # fmt: skip

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        if config["dynamics"] == "death_birth" and config["sample_size"] > n_agents:
            raise ConfigError(
                f"learners.{role}.sample_size = {config['sample_size']} is larger than the {n_agents} agents "
                f"of the {role} role: allowed is 1 to {n_agents}."
            )

    @classmethod
    def check_traits(cls, config: dict[str, Any], role: str, traits: Sequence[Trait]) -> None:
        _mutating(config, role, traits)

    @classmethod
    def check_rounds(cls, config: dict[str, Any], role: str, rounds: int) -> None:
        if config["generation_period"] > rounds:
            raise ConfigError(
                f"learners.{role}.generation_period = {config['generation_period']} is longer than the run "
                f"({rounds} rounds): allowed is 1 to {rounds}, or nothing would ever evolve."
            )

    def __init__(self, params: dict[str, Any], *args: Any, traits: Sequence[Sequence[Trait]] = ()) -> None:
        super().__init__(params, *args)
        if not traits or not traits[0]:
            raise ConfigError(f"learners.{self.role}.kind = 'evolution' needs a role with traits.")
        first = traits[0]
        device = self.rng.device
        self.trait_names = [trait.name for trait in first]
        # Each world's own ranges (its max_effort, say), (worlds, 1, traits)
        self.low = torch.tensor([[t.low for t in world] for world in traits], device=device).unsqueeze(1)
        self.high = torch.tensor([[t.high for t in world] for world in traits], device=device).unsqueeze(1)
        mutating = set(_mutating(params, self.role, first))
        self.step_size = torch.tensor(
            [t.mutation_sd if t.name in mutating else 0.0 for t in first], device=device
        )
        self.may_mutate = torch.tensor([t.name in mutating for t in first], device=device)
        initial = torch.tensor([[t.initial for t in world] for world in traits], device=device)
        self.values = initial.view(self.n_worlds, 1, -1).expand(-1, self.n_agents, -1).contiguous()
        shape = (self.n_worlds, self.n_agents)
        self.age = torch.zeros(shape, dtype=torch.int64, device=device)
        self.earned = torch.zeros(shape, device=device)
        self.born = torch.zeros(shape, dtype=torch.int64, device=device)
        self._births: torch.Tensor | None = None

    def holdings(self) -> list[Holding]:
        """The population: each lab's heritable traits, and its age and what it earned since its birth
        (what selection reads)."""
        life = torch.stack([self.age.float(), self.earned], -1)
        return [
            Holding("trait", self.values.clone(), tuple(self.trait_names)),
            Holding("life so far", life, ("age (rounds)", "payoff earned since birth")),
        ]

    def act(self, observation: Observation) -> torch.Tensor:
        return self.values

    def learn(self, experience: Experience) -> None:
        t = experience.round_index
        self.earned += experience.payoffs
        credit = experience.credit
        if credit is not None and len(credit.world):
            charged = credit.world * self.n_agents + credit.agent
            amount = credit.amount
            if credit.round is not None:  # earned by an agent that has died since: nobody's
                amount = torch.where(credit.round >= self.born.view(-1)[charged], amount, 0.0)
            add_at(self.earned.view(-1), charged, amount)
        self.age += 1
        self._births = None
        if (t + 1) % self.p["generation_period"] == 0:
            if self.p["dynamics"] == "death_birth":
                self._death_and_birth(t)
            else:
                self._wright_fisher(t)

    def _sample(self, keys: torch.Tensor, d: int) -> torch.Tensor:
        """Per world, d agents drawn uniformly without replacement: those with the d smallest keys."""
        return keys.topk(d, dim=1, largest=False).indices

    def _death_and_birth(self, t: int) -> None:
        d = self.p["sample_size"]
        rows = torch.arange(self.n_worlds, device=self.values.device)
        death_keys = self.draw(t, "evolution/death")
        sampled = self._sample(death_keys, d)
        # The oldest of the sample; among equals, the first drawn (the smallest key).
        age, key = self.age.gather(1, sampled), death_keys.gather(1, sampled)
        dead = sampled.gather(1, (age.double() + (1 - key.double()) / 2).argmax(1, keepdim=True)).squeeze(1)

        birth_keys = self.draw(t, "evolution/birth").clone()
        birth_keys[rows, dead] = 2.0  # the dead do not reproduce
        sampled = self._sample(birth_keys, min(d, self.n_agents - 1) if self.n_agents > 1 else 1)
        earned, key = self.earned.gather(1, sampled), birth_keys.gather(1, sampled)
        best = earned.max(1, keepdim=True).values
        score = torch.where(earned == best, -key, -math.inf)
        parent = sampled.gather(1, score.argmax(1, keepdim=True)).squeeze(1)

        offspring = self._mutate(self.values[rows, parent].unsqueeze(1), t, "evolution/mutation").squeeze(1)
        self.values[rows, dead] = offspring
        self.age[rows, dead] = 0
        self.earned[rows, dead] = 0.0
        self.born[rows, dead] = t + 1
        self._births = self.born == t + 1

    def _wright_fisher(self, t: int) -> None:
        fitness = self.earned.clamp(min=0).double()
        total = fitness.sum(1, keepdim=True)
        fitness = torch.where(total > 0, fitness, 1.0)
        cumulative = fitness.cumsum(1)
        target = self.draw(t, "evolution/parent").double() * cumulative[:, -1:]
        parent = torch.searchsorted(cumulative, target, right=True).clamp(max=self.n_agents - 1)
        inherited = self.values.gather(1, parent.unsqueeze(-1).expand_as(self.values))
        self.values = self._mutate(inherited, t, "evolution/mutation")
        self.age.zero_()
        self.earned.zero_()
        self.born.fill_(t + 1)
        self._births = torch.ones_like(self.age, dtype=torch.bool)

    def births(self) -> torch.Tensor | None:
        return self._births

    def _mutate(self, values: torch.Tensor, t: int, purpose: str) -> torch.Tensor:
        """values (W, k, traits) after mutation: each trait that may mutate does with probability
        mutation_rate, by a Gaussian step (Box-Muller from two uniforms) of its size, clamped to its range."""
        n = values.shape[1] * values.shape[2]
        happens, u1, u2 = self.rng.uniforms(
            t, {f"{self.role}/{purpose}/{name}": (n,) for name in ("happens", "u1", "u2")}
        )
        normal = torch.sqrt(-2 * torch.log1p(-u1)) * torch.cos(2 * math.pi * u2)
        shape = values.shape
        mutates = (happens.view(shape) < self.p["mutation_rate"].view(-1, 1, 1)) & self.may_mutate
        step = normal.view(shape) * self.step_size * self.p["mutation_scale"].view(-1, 1, 1)
        return torch.where(mutates, values + step, values).clamp(self.low, self.high)
