"""Policy-gradient learning (REINFORCE, Williams 1992): a small neural policy over each agent's observation.

A policy is a one-hidden-layer network, tanh units, from the agent's observation to a softmax over its
actions. After each round it takes a gradient step on the mean, over the agents that share it, of
advantage x log pi(action | observation), where the advantage is what the agent received (payoff plus any
credit that arrived) less a baseline (which lowers the variance without biasing the gradient). A role that
observes nothing gets a constant input, and its policy is a softmax bandit learner.

Who shares a policy is the parameter `sharing`:
- "role" (the default; parameter sharing, as is usual in multi-agent RL): one policy per world for the role's
  agents, each round's baseline the world's mean of what they received;
- "agent": each agent its own policy, learned from its own experience only, its baseline the mean of what it
  received in its earlier rounds (the gradient bandit's average reward, Sutton & Barto 2018, section 2.8): a
  mean over the other agents would use their experience, and over itself alone would be its own reward.

Both are one mechanism: the weights are (groups, ...) tensors, a group being a world's role or one agent,
and each group's agents its members, so that one batched matrix product (torch.bmm) serves every world and
agent with no loop over either. The gradient is written out (backpropagation through two layers) rather
than taken by autograd: the learning loop runs in inference mode. The network and its step are
`TanhNetwork`, which the actor-critic learner (actor_critic.py) reuses for its critic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from models.learners.base import Experience, Holding, Learner, Observation
from models.learners.choice import sample_categorical, softmax
from models.params import Param, ParamSpace


@dataclass
class TanhNetwork:
    """One hidden layer of tanh units and a linear output, one set of weights per group of agents that
    share them. The agents run along the last dimension: inputs (groups, inputs, members) give outputs
    (groups, outputs, members). On the CPU a batched product over these few inputs, units and actions runs
    about a fifth faster with the members as its long dimension of columns than as its rows, and each
    action's probabilities come out as one contiguous row over the members.

    The weights are kept in that layout (`w1t`, ...); `w1`, `b1`, `w2`, `b2` show them the textbook way,
    (groups, inputs, hidden), (groups, 1, hidden), (groups, hidden, outputs), (groups, 1, outputs)."""

    w1t: torch.Tensor  # (groups, hidden, inputs)
    b1t: torch.Tensor  # (groups, hidden, 1)
    w2t: torch.Tensor  # (groups, outputs, hidden)
    b2t: torch.Tensor  # (groups, outputs, 1)

    w1 = property(lambda self: self.w1t.transpose(1, 2))
    b1 = property(lambda self: self.b1t.transpose(1, 2))
    w2 = property(lambda self: self.w2t.transpose(1, 2))
    b2 = property(lambda self: self.b2t.transpose(1, 2))

    def forward(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The hidden layer (groups, hidden, members) and the outputs (groups, outputs, members)."""
        hidden = torch.tanh(torch.baddbmm(self.b1t, self.w1t, inputs))
        return hidden, torch.baddbmm(self.b2t, self.w2t, hidden)

    def ascend(
        self, inputs: torch.Tensor, hidden: torch.Tensor, grad_outputs: torch.Tensor, rate: torch.Tensor
    ) -> None:
        """A step of size `rate` (groups, 1, 1) up the gradient of an objective whose derivative by the
        outputs of `forward(inputs)` is `grad_outputs`, backpropagated through the two layers by hand."""
        grad_hidden = torch.bmm(self.w2t.transpose(1, 2), grad_outputs)
        grad_hidden.mul_(1 - hidden * hidden)  # tanh' = 1 - tanh^2
        self.w2t = self.w2t + rate * torch.bmm(grad_outputs, hidden.transpose(1, 2))
        self.b2t = self.b2t + rate * grad_outputs.sum(2, keepdim=True)
        self.w1t = self.w1t + rate * torch.bmm(grad_hidden, inputs.transpose(1, 2))
        self.b1t = self.b1t + rate * grad_hidden.sum(2, keepdim=True)


def _policy_weight(name: str) -> property:
    """The policy's weights `name` per world, (worlds, ...) with sharing = "role" and (worlds, agents, ...)
    with sharing = "agent"."""

    def weight(self: PolicyGradient) -> torch.Tensor:
        value = getattr(self.actor, name)
        return value if self.by_role else value.view(self.n_worlds, self.n_agents, *value.shape[1:])

    return property(weight)


class PolicyGradient(Learner):
    """REINFORCE with a baseline, one policy network per world (sharing = "role") or per agent."""

    kind = "policy_gradient"
    doc = "REINFORCE: a small softmax policy network over the observation, one per world or one per agent"
    params = ParamSpace(
        name="learner",
        params={
            "learning_rate": Param(0.1, "step size of the gradient ascent", low=0, low_open=True, high=1),
            "hidden": Param(
                16, "units of the policy's hidden layer", kind=int, low=1, high=1024, per_world=False
            ),
            "initial_scale": Param(
                0.1, "standard deviation of the initial weights (0: a uniform first policy)", low=0, high=10
            ),
            "sharing": Param(
                "role",
                "who shares a policy's parameters: 'role' (one per world for the role's agents) or 'agent' "
                "(each agent its own, learned from its own experience only)",
                kind=str,
                choices=("role", "agent"),
                per_world=False,
            ),
        },
    )  # fmt: skip

    w1, b1, w2, b2 = (_policy_weight(name) for name in ("w1", "b1", "w2", "b2"))

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        self.inputs: int | None = None  # set at the first observation: its size, or 1 for a constant input
        # A group shares one set of weights: a world's role (its members the role's agents) or one agent.
        self.by_role = self.p["sharing"] == "role"
        self.members = self.n_agents if self.by_role else 1
        self.groups = self.n_worlds * self.n_agents // self.members
        self.actor: TanhNetwork | None = None
        # The last act's network input, hidden layer and action probabilities, (groups, ..., members).
        self._last: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._mean_received: torch.Tensor | None = None  # sharing = "agent": each agent's baseline
        self._rounds_learned = 0

    def grouped(self, values: torch.Tensor) -> torch.Tensor:
        """Per-agent values, (worlds, agents, size), as (groups, members, size)."""
        return values.reshape(self.groups, self.members, values.shape[-1])

    def columns(self, values: torch.Tensor) -> torch.Tensor:
        """Per-agent values, (worlds, agents, size), as the networks take them, (groups, size, members)."""
        return self.grouped(values).transpose(1, 2)

    def lined(self, values: torch.Tensor) -> torch.Tensor:
        """One value per agent, (worlds, agents), as (groups, 1, members)."""
        return values.reshape(self.groups, 1, self.members)

    def per_agent(self, values: torch.Tensor) -> torch.Tensor:
        """A network's values, (groups, size, members), per agent: (worlds, agents, size)."""
        return values.transpose(1, 2).reshape(self.n_worlds, self.n_agents, values.shape[1])

    def per_group(self, name: str) -> torch.Tensor:
        """A per-world parameter, (worlds, 1, 1), for each group, (groups, 1, 1)."""
        value = self.p[name].view(-1, 1, 1)
        return value if self.by_role else value.repeat_interleave(self.n_agents, 0)

    def network(self, name: str, inputs: int, outputs: int) -> TanhNetwork:
        """A network's weights for every group, drawn from the world's streams `{role}/{name}/...` (the same
        seed, the same weights, in any batch), scaled by initial_scale over the root of each layer's
        inputs; biases zero."""
        hidden, per_world = self.p["hidden"], self.groups // self.n_worlds
        scale = self.per_group("initial_scale")

        def normal(purpose: str, rows: int, columns: int) -> torch.Tensor:
            draws = self.rng.uniform(-1, f"{self.role}/{name}/{purpose}", (2, per_world * rows * columns))
            radius = torch.sqrt(-2 * torch.log(1 - draws[:, 0]))
            return (radius * torch.cos(2 * math.pi * draws[:, 1])).view(self.groups, rows, columns)

        return TanhNetwork(  # drawn in the textbook layout, kept in the network's
            w1t=(normal("w1", inputs, hidden) * scale / math.sqrt(inputs)).transpose(1, 2).contiguous(),
            b1t=torch.zeros(self.groups, hidden, 1, device=self.rng.device),
            w2t=(normal("w2", hidden, outputs) * scale / math.sqrt(hidden)).transpose(1, 2).contiguous(),
            b2t=torch.zeros(self.groups, outputs, 1, device=self.rng.device),
        )

    def _build(self, inputs: int) -> None:
        """The networks, once the observation's size is known."""
        self.inputs = inputs
        self.actor = self.network("policy", inputs, self.n_actions)

    def _inputs(self, observation: Observation) -> torch.Tensor:
        """The network's input, (groups, inputs, members): the observation, or a constant 1 where the role
        observes nothing."""
        try:
            features = observation.features
        except (ValueError, KeyError):
            features = None
        if features is None or features.shape[-1] == 0:
            return torch.ones(self.groups, 1, self.members, device=self.rng.device)
        return self.columns(features.float())

    def policy(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The hidden layer and the action probabilities (groups, actions, members) for network inputs."""
        hidden, logits = self.actor.forward(inputs)
        return hidden, softmax(logits, 1)

    def probabilities(self, observation: Observation) -> torch.Tensor:
        """Every agent's action probabilities, (worlds, agents, actions), for an observation."""
        inputs = self._inputs(observation)
        if self.actor is None:
            self._build(inputs.shape[1])
        return self.per_agent(self.policy(inputs)[1])

    def act(self, observation: Observation) -> torch.Tensor:
        inputs = self._inputs(observation)
        if self.actor is None:
            self._build(inputs.shape[1])
        hidden, probabilities = self.policy(inputs)
        self._last = (inputs, hidden, probabilities)
        uniform = self.draw(observation.round_index, "act")
        by_action = [p.view(self.n_worlds, self.n_agents) for p in probabilities.unbind(1)]
        return sample_categorical(by_action, uniform)

    def holdings(self) -> list[Holding]:
        """The action probabilities of the last act (the policy at the observation it acted on); none
        before the first."""
        if self._last is None:
            return []
        return [Holding("action probability at its last observation", self.per_agent(self._last[2]).clone())]

    def received(self, experience: Experience) -> torch.Tensor:
        """What each agent received this round, (worlds, agents): its payoff plus the credit that arrived."""
        if experience.credit is None:
            return experience.payoffs
        return experience.payoffs + experience.credit.per_agent(self.n_agents)

    def learn(self, experience: Experience) -> None:
        received = self.received(experience)
        if self.by_role:
            baseline = received.mean(1, keepdim=True)
        else:  # the agent's mean over its earlier rounds (its first round's advantage is zero)
            baseline = received if self._mean_received is None else self._mean_received
            self._rounds_learned += 1
            self._mean_received = baseline + (received - baseline) / self._rounds_learned
        self.improve(experience.actions, self.lined(received - baseline))

    def improve(self, actions: torch.Tensor, advantage: torch.Tensor) -> None:
        """The policy's step for the last act's actions, (worlds, agents), and their advantages, (groups,
        1, members): up the gradient of the members' mean of advantage x log pi(action | observation)."""
        inputs, hidden, policy = self._last
        chosen = torch.zeros_like(policy).scatter_(1, self.lined(actions).long(), 1.0)
        # d/d logits of advantage x log pi(a): advantage x (onehot(a) - pi), averaged over the members.
        grad_logits = advantage * (chosen - policy) / self.members
        self.actor.ascend(inputs, hidden, grad_logits, self.per_group("learning_rate"))
