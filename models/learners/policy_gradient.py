"""Policy-gradient learning (REINFORCE, Williams 1992): a small neural policy over each agent's observation.

Each world has one policy for a role's agents (parameter sharing, as is usual in multi-agent RL): a
one-hidden-layer network, tanh units, from the agent's observation to a softmax over its actions. After each
round the policy takes a gradient step on the role's mean of advantage x log pi(action | observation),
where the advantage is what the agent received (payoff plus any credit that arrived) less its world's mean
that round (a baseline that lowers the variance without biasing the gradient). A role that observes nothing
gets a constant input, and its policy is a softmax bandit learner.

The gradient is written out (backpropagation through two layers) rather than taken by autograd: the
learning loop runs in inference mode, and the explicit form batches over worlds with a few matrix products.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from models.learners.base import Experience, Learner, Observation
from models.learners.choice import sample_categorical
from models.params import Param, ParamSpace


class PolicyGradient(Learner):
    """REINFORCE with a per-world baseline and one shared policy network per world."""

    kind = "policy_gradient"
    doc = "REINFORCE: a small softmax policy network over the observation, shared by a role in a world"
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
        },
    )  # fmt: skip

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        self.inputs: int | None = None  # set at the first observation: its size, or 1 for a constant input
        self._last_inputs: torch.Tensor | None = None
        self._last_hidden: torch.Tensor | None = None
        self._last_policy: torch.Tensor | None = None

    def _build(self, inputs: int) -> None:
        """The policy's weights for every world, drawn from the world's stream (the same seed, the same
        policy, in any batch)."""
        self.inputs, hidden, worlds = inputs, self.p["hidden"], self.n_worlds
        scale = self.p["initial_scale"].view(-1, 1, 1)

        def normal(purpose: str, rows: int, columns: int) -> torch.Tensor:
            draws = self.rng.uniform(-1, f"{self.role}/policy/{purpose}", (2, rows * columns))
            radius = torch.sqrt(-2 * torch.log(1 - draws[:, 0]))
            return (radius * torch.cos(2 * math.pi * draws[:, 1])).view(worlds, rows, columns)

        self.w1 = normal("w1", inputs, hidden) * scale / math.sqrt(inputs)
        self.b1 = torch.zeros(worlds, 1, hidden, device=self.rng.device)
        self.w2 = normal("w2", hidden, self.n_actions) * scale / math.sqrt(hidden)
        self.b2 = torch.zeros(worlds, 1, self.n_actions, device=self.rng.device)

    def _inputs(self, observation: Observation) -> torch.Tensor:
        """The network's input, (worlds, agents, inputs): the observation, or a constant 1 where the role
        observes nothing."""
        try:
            features = observation.features
        except (ValueError, KeyError):
            features = None
        if features is None or features.shape[-1] == 0:
            return torch.ones(self.n_worlds, self.n_agents, 1, device=self.rng.device)
        return features.float()

    def policy(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The hidden layer and the action probabilities, (worlds, agents, hidden) and (worlds, agents,
        actions)."""
        hidden = torch.tanh(torch.baddbmm(self.b1, inputs, self.w1))
        return hidden, torch.softmax(torch.baddbmm(self.b2, hidden, self.w2), -1)

    def act(self, observation: Observation) -> torch.Tensor:
        inputs = self._inputs(observation)
        if self.inputs is None:
            self._build(inputs.shape[-1])
        hidden, probabilities = self.policy(inputs)
        self._last_inputs, self._last_hidden, self._last_policy = inputs, hidden, probabilities
        uniform = self.draw(observation.round_index, "act")
        return sample_categorical(probabilities.unbind(-1), uniform)

    def learn(self, experience: Experience) -> None:
        received = experience.payoffs
        if experience.credit is not None:
            received = received + experience.credit.per_agent(self.n_agents)
        advantage = (received - received.mean(1, keepdim=True)).unsqueeze(-1)  # (W, A, 1)
        chosen = torch.nn.functional.one_hot(experience.actions.long(), self.n_actions).float()
        # d/d logits of the mean of advantage x log pi(a): advantage x (onehot(a) - pi), over the agents.
        grad_logits = advantage * (chosen - self._last_policy) / self.n_agents
        hidden, inputs = self._last_hidden, self._last_inputs
        grad_hidden = torch.bmm(grad_logits, self.w2.transpose(1, 2)) * (1 - hidden * hidden)
        rate = self.p["learning_rate"].view(-1, 1, 1)
        self.w2 = self.w2 + rate * torch.bmm(hidden.transpose(1, 2), grad_logits)
        self.b2 = self.b2 + rate * grad_logits.sum(1, keepdim=True)
        self.w1 = self.w1 + rate * torch.bmm(inputs.transpose(1, 2), grad_hidden)
        self.b1 = self.b1 + rate * grad_hidden.sum(1, keepdim=True)
