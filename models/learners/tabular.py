"""Batched tabular action-value learning: one independent table per agent per world.

Each agent keeps Q(a), the running estimate of its payoff from action a, and updates it toward the payoff
it received: Q(a) += learning_rate * (payoff - Q(a)). Late consequences of an earlier action (a failed
replication of an old finding) arrive as credit and are added to that action's value: Q += learning_rate *
credit. Exploration is epsilon-greedy or softmax (Boltzmann) with a temperature in payoff units.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from models.fusion import kernel
from models.params import ConfigError, Param, ParamSpace
from models.random import RandomStreams, hashed_uniforms
from models.reductions import add_at
from models.rounds import Credit

Q_LEARNING_PARAMS = ParamSpace(
    name="learner",
    params={
        "exploration": Param(
            "softmax", "how actions are explored", kind=str, choices=("epsilon_greedy", "softmax")
        ),
        "epsilon": Param(0.05, "probability of a uniformly random action (epsilon_greedy)", low=0, high=1),
        "temperature": Param(0.1, "softmax temperature, in payoff units", low=0, low_open=True, high=1e6),
        "learning_rate": Param(0.1, "step size of the value update", low=0, low_open=True, high=1),
        "initial_value": Param(
            0.0, "initial action value (optimism encourages trying everything)", low=-1e6, high=1e6
        ),
    },
)

FIXED_PARAMS = ParamSpace(
    name="learner",
    params={
        "probabilities": Param(
            [],
            "fixed probability of each action, in the game's action order (empty: uniform)",
            kind=list,
        ),
    },
)


def sample_categorical(weights: Sequence[torch.Tensor], uniform: torch.Tensor) -> torch.Tensor:
    """Inverse-CDF sampling: one draw per uniform from non-negative weights (any positive sum), given as
    one tensor per action (each broadcastable to `uniform`).

    Unrolled over the few actions, so every operation is elementwise over agents: a reduction or cumsum
    along a last axis of 4-16 entries runs several times slower, eager or compiled. The count, and so the
    action, is int32: compiled, a uint8 count vectorises badly (4x slower), and an int64 one costs a third
    more eagerly and twice the memory traffic.
    """
    cdf = [weights[0]]
    for weight in weights[1:]:
        cdf.append(cdf[-1] + weight)
    threshold = uniform * cdf[-1]
    drawn = torch.zeros(threshold.shape, dtype=torch.int32, device=uniform.device)
    for below in cdf[:-1]:  # below the total: the last action is drawn when no other is
        drawn += threshold >= below
    return drawn


# exp2's argument floor: below -126 float32 exp2 gives subnormals, whose slow path costs 10x (43 against 4
# ms for 6M values). 2^-115 ~ 2e-35 is as good as zero: a draw is a 24-bit uniform times a total of at
# least 1, so it is 0 or at least 6e-8, and no action of smaller weight can be drawn either way.
EXP2_FLOOR = -115.0
LOG2E = 1.4426950408889634  # exp(x) = exp2(x * log2(e)): compiled, exp2 is bit for bit eager's, exp is not


def softmax_weights(values: Sequence[torch.Tensor], scale: torch.Tensor) -> list[torch.Tensor]:
    """exp((Q - max Q) / T) of each action's values, computed as exp2((Q - max Q) * scale) with scale =
    log2(e) / T, unnormalised: sample_categorical needs no normalising.

    One tensor per action, not one (.., actions, ..) tensor: compiled, each action's weight is then
    computed once per agent in one loop, where over a tensor with an action axis inductor recomputes the
    max for every action (6 times the work, and the weights stored and read back: 9 against 3 ms for a
    million agents with 6 actions). torch.softmax over a last axis of a few actions is slower still.
    """
    peak = values[0]
    for value in values[1:]:
        peak = torch.maximum(peak, value)
    return [((value - peak) * scale).clamp(min=EXP2_FLOOR).exp2() for value in values]


@kernel
def softmax_choice(
    values: torch.Tensor, scale: torch.Tensor, key: torch.Tensor, offsets: torch.Tensor
) -> torch.Tensor:
    """Each agent's softmax draw from action-major values (worlds, actions, agents), at scale log2(e) / T
    per world (worlds, 1), with its uniform hashed from the stream's counters (RandomStreams.counters):
    fused, the draws never reach memory."""
    return softmax_draw(values.unbind(1), scale, key, offsets)


def softmax_draw(
    values: Sequence[torch.Tensor], scale: torch.Tensor, key: torch.Tensor, offsets: torch.Tensor
) -> torch.Tensor:
    """softmax_choice from one tensor of values per action, (worlds, agents) each."""
    return sample_categorical(softmax_weights(values, scale), hashed_uniforms(key + offsets))


def moved_toward(value: torch.Tensor, payoff: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """The action-value update: a step of size `rate` from the value toward the payoff received."""
    return value + rate * (payoff - value)


def update_chosen(
    values: torch.Tensor, actions: torch.Tensor, payoffs: torch.Tensor, rate: torch.Tensor
) -> torch.Tensor:
    """value_update eagerly: the chosen actions' values gathered, moved and scattered back in place, two
    passes over the agents rather than one per action. Flat (action, agent) indices into each world's
    table: a 2-d gather and scatter take 2 ms where the same along the action axis of the 3-d table
    takes 4.6 (a million agents)."""
    n_worlds, _, n_agents = values.shape
    agents = torch.arange(n_agents, device=values.device)
    index = torch.add(agents, actions, alpha=n_agents)  # 5x faster than * and +
    table = values.view(n_worlds, -1)
    table.scatter_(1, index, moved_toward(table.gather(1, index), payoffs, rate))
    return values


@kernel(eager=update_chosen)
def value_update(
    values: torch.Tensor, actions: torch.Tensor, payoffs: torch.Tensor, rate: torch.Tensor
) -> torch.Tensor:
    """The values (worlds, actions, agents) after each agent's chosen action has moved toward its payoff
    (worlds, agents), at a rate per world (worlds, 1).

    Fused, a new table from one pass that keeps or moves each value: it costs what reading and writing
    the table costs (1.8 ms for a million agents with 6 actions, against 4.5 for the gather and scatter
    of update_chosen, which runs eagerly instead: there a pass per operation and action costs 3x that).
    """
    return torch.stack(kept_or_moved(values, actions, payoffs, rate), 1)


def kept_or_moved(
    values: torch.Tensor, actions: torch.Tensor, payoffs: torch.Tensor, rate: torch.Tensor
) -> list[torch.Tensor]:
    """value_update's new values, one (worlds, agents) tensor per action: each kept, or moved where it is
    the agent's chosen action."""
    return [
        torch.where(actions == a, moved_toward(value, payoffs, rate), value)
        for a, value in enumerate(values.unbind(1))
    ]


def update_then_choose(
    values: torch.Tensor,
    actions: torch.Tensor,
    payoffs: torch.Tensor,
    rate: torch.Tensor,
    *draws: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """update_and_choose eagerly: value_update (the gather and scatter), then softmax_choice."""
    values = update_chosen(values, actions, payoffs, rate)
    return values, softmax_choice(values, *draws)


@kernel(eager=update_then_choose)
def update_and_choose(
    values: torch.Tensor,
    actions: torch.Tensor,
    payoffs: torch.Tensor,
    rate: torch.Tensor,
    *draws: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """value_update, then each agent's softmax_choice of its next action from the updated values, given
    softmax_choice's scale, key and offsets (`draws`): the values after learning, (worlds, actions,
    agents), and the next actions, (worlds, agents).

    Fused, one pass over the table: the updated values are drawn from while still in registers, where
    value_update and softmax_choice apart read the whole table twice. At a million agents with 6 actions,
    whose table outgrows the CPU's caches, that takes 3.9 ms against 5.8 (2 cores).
    """
    new_values = kept_or_moved(values, actions, payoffs, rate)
    return torch.stack(new_values, 1), softmax_draw(new_values, *draws)


class BatchedLearner:
    """What every learner holds: its parameters, role, shape and the batch's random streams."""

    def __init__(
        self,
        params: dict[str, Any],
        role: str,
        n_worlds: int,
        n_agents: int,
        n_actions: int,
        rng: RandomStreams,
    ) -> None:
        self.p, self.role, self.rng = params, role, rng
        self.n_worlds, self.n_agents, self.n_actions = n_worlds, n_agents, n_actions

    def learn_and_act(
        self, actions: torch.Tensor, rewards: torch.Tensor, credit: Credit | None, next_round: int
    ) -> torch.Tensor:
        """learn, then act in round `next_round`: the same numbers, in one call, so that a learner can do
        both in one pass over its state (TabularQLearner does)."""
        self.learn(actions, rewards, credit)
        return self.act(next_round)

    def draw(self, round_index: int, purpose: str) -> torch.Tensor:
        """One uniform per agent per world, from this role's stream for `purpose`."""
        return self.rng.uniform(round_index, f"{self.role}/{purpose}", (self.n_agents,))


class TabularQLearner(BatchedLearner):
    """Independent stateless action-value learners for every agent of one role in a batch of worlds.

    The values are laid out action-major, (worlds, actions, agents): one action's values over the agents
    are contiguous, so the per-action steps of choosing are plain elementwise passes (twice as fast as
    strided ones over an agents-major table).
    """

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        role, n_agents, n_actions = self.role, self.n_agents, self.n_actions
        # A tiny random offset breaks ties between untried actions without favouring action 0.
        jitter = self.rng.uniform(-1, f"{role}/tie_break", (n_agents, n_actions)).transpose(1, 2) * 1e-6
        # Per-world parameters are (worlds, 1, 1) tensors.
        self.values = (jitter + params["initial_value"]).contiguous()

    @property
    def action_values(self) -> torch.Tensor:
        """The values as (worlds, agents, actions), a view: writing to it sets the values."""
        return self.values.transpose(1, 2)

    def act(self, round_index: int) -> torch.Tensor:
        if self.p["exploration"] == "softmax":
            return softmax_choice(self.values, *self._softmax_draws(round_index))
        greedy = self.values.argmax(1)
        explore = self.draw(round_index, "explore") < self.p["epsilon"].view(-1, 1)
        random_action = (self.draw(round_index, "act") * self.n_actions).long().clamp(max=self.n_actions - 1)
        return torch.where(explore, random_action, greedy)

    def learn(self, actions: torch.Tensor, rewards: torch.Tensor, credit: Credit | None = None) -> None:
        payoffs = self._take_credit(rewards, credit)
        self.values = value_update(self.values, actions, payoffs, self.p["learning_rate"].view(-1, 1))

    def learn_and_act(
        self, actions: torch.Tensor, rewards: torch.Tensor, credit: Credit | None, next_round: int
    ) -> torch.Tensor:
        if self.p["exploration"] != "softmax":
            return super().learn_and_act(actions, rewards, credit, next_round)
        payoffs, rate = self._take_credit(rewards, credit), self.p["learning_rate"].view(-1, 1)
        draws = self._softmax_draws(next_round)
        self.values, next_actions = update_and_choose(self.values, actions, payoffs, rate, *draws)
        return next_actions

    def _softmax_draws(self, round_index: int) -> tuple[torch.Tensor, ...]:
        """What a softmax choice in this round takes besides the values: the scale log2(e) / T, (worlds,
        1), and the draws' counters (RandomStreams.counters)."""
        counters = self.rng.counters(round_index, f"{self.role}/act", self.n_agents)
        return LOG2E / self.p["temperature"].view(-1, 1), *counters

    def _take_credit(self, rewards: torch.Tensor, credit: Credit | None) -> torch.Tensor:
        """Add the credit to the actions it is for, in place; return the rewards less the credit: this
        round's payoffs of this round's actions."""
        if credit is None:
            return rewards
        charged = torch.add(
            credit.agent,
            torch.add(credit.action, credit.world, alpha=self.n_actions),
            alpha=self.n_agents,
        )
        add_at(self.values.view(-1), charged, self.p["learning_rate"].view(-1)[credit.world] * credit.amount)
        return rewards - credit.per_agent(self.n_agents)


def check_probabilities(probabilities: list[float], role: str, n_actions: int) -> list[float]:
    """A fixed mixed strategy that fits the game (empty means uniform), or ConfigError."""
    probabilities = probabilities or [1.0] * n_actions
    if len(probabilities) != n_actions or sum(probabilities) <= 0 or min(probabilities) < 0:
        raise ConfigError(
            f"learners.{role}.probabilities = {probabilities!r} does not fit the game: allowed is a list "
            f"of {n_actions} non-negative numbers with a positive sum, one per action."
        )
    return probabilities


class FixedPolicy(BatchedLearner):
    """Agents held to a fixed mixed strategy: no learning. For analytic checks and baselines."""

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        probabilities = check_probabilities(params["probabilities"], self.role, self.n_actions)
        self.probabilities = torch.tensor(probabilities, dtype=torch.float32, device=self.rng.device)

    def act(self, round_index: int) -> torch.Tensor:
        return sample_categorical(self.probabilities.unbind(), self.draw(round_index, "act"))

    def learn(self, actions: torch.Tensor, rewards: torch.Tensor, credit: Credit | None = None) -> None:
        """A fixed policy does not learn."""


FIXED_ACTIONS_PARAMS = ParamSpace(
    name="learner",
    params={
        "actions": Param([], "each agent's action, agent by agent (the same in every world)", kind=list),
    },
)


def check_actions(actions: list[float], role: str, n_agents: int, n_actions: int) -> list[int]:
    """One whole action index per agent, each an action of the role, or ConfigError."""
    if len(actions) != n_agents or any(a != int(a) or not 0 <= a < n_actions for a in actions):
        raise ConfigError(
            f"learners.{role}.actions = {actions!r} does not fit the game: allowed is a list of {n_agents} "
            f"whole numbers from 0 to {n_actions - 1}, one action per agent."
        )
    return [int(a) for a in actions]


class FixedActions(BatchedLearner):
    """Each agent always plays its own given action: candidates held to chosen platforms, for example."""

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        actions = check_actions(params["actions"], self.role, self.n_agents, self.n_actions)
        self.actions = torch.tensor(actions, device=self.rng.device).expand(self.n_worlds, -1)

    def act(self, round_index: int) -> torch.Tensor:
        return self.actions

    def learn(self, actions: torch.Tensor, rewards: torch.Tensor, credit: Credit | None = None) -> None:
        """Fixed actions do not learn."""
