"""Advantage actor-critic (A2C: the synchronous form of Mnih et al. 2016): the policy-gradient learner's
policy, with a learned critic V(observation) for its baseline.

Each round, every agent's one-step temporal-difference error
    delta = received + gamma V(next observation) - V(observation)
is the advantage of the action it took (an estimate of Q(o, a) - V(o), Sutton & Barto 2018, section 13.5):
the actor (policy_gradient.py's network and step, shared by the same `sharing` groups) climbs the members'
mean of delta x log pi(action | observation), and the critic takes a semi-gradient TD(0) step down their
mean of delta^2 / 2 (Sutton & Barto, section 9.3). What an agent received is its payoff plus the credit
that arrived, as for REINFORCE. Where REINFORCE's baseline is the world's mean of one round (or an agent's
mean over its rounds), the critic's depends on what the agent sees, and so it also works for one agent alone.

The critic is its own network of the policy's shape (tanh hidden layer, `hidden` units, one linear output),
not a head on the policy's hidden layer as in Mnih et al.: with its own learning rate, a shared layer would
let the critic's early, large TD errors reshape the policy's features at a rate the policy did not ask for.

`gamma` is 0 by default. In these games an action is paid within its round, except for the publication
game's delayed credit, which no observation announces (nothing shows a finding awaiting replication); and the
next observation reports the round just played (the payoff just received, the last election's result), so
gamma V(next) would mostly count this round's outcome again, with the critic's error. At 0 the critic is
V(o) learns E[received | o], a baseline that depends on what the agent sees, and delta estimates the one-round
advantage. Where an action shapes what the agent will later see and earn (a candidate's platform moving the
others' next ones), gamma > 0 credits that, at the cost of a critic learning values 1 / (1 - gamma) times
the reward's scale, and so more slowly.
"""

from __future__ import annotations

from typing import Any

from models.learners.base import Experience
from models.learners.policy_gradient import PolicyGradient, TanhNetwork
from models.params import Param, ParamSpace


class ActorCritic(PolicyGradient):
    """A2C: the policy-gradient actor with a TD(0) critic V(observation) as its state-dependent baseline."""

    kind = "actor_critic"
    doc = "advantage actor-critic (A2C): a softmax policy network and a TD(0) critic of the observation"
    params = ParamSpace(
        name="learner",
        params={
            **PolicyGradient.params.params,
            "critic_learning_rate": Param(
                0.1, "the critic's step size (semi-gradient TD(0))", low=0, low_open=True, high=1
            ),
            "gamma": Param(
                0.0,
                "discount of the next observation's value in the TD target (0: each round on its own)",
                low=0,
                high=1,
                high_open=True,
            ),
        },
    )

    def __init__(self, params: dict[str, Any], *args: Any) -> None:
        super().__init__(params, *args)
        self.critic: TanhNetwork | None = None

    def _build(self, inputs: int) -> None:
        super()._build(inputs)
        self.critic = self.network("critic", inputs, 1)

    def learn(self, experience: Experience) -> None:
        inputs = self._last[0]
        hidden, value = self.critic.forward(inputs)
        received = self.lined(self.received(experience))
        if bool((self.p["gamma"] > 0).any()):  # the next observation's value, only where it counts
            next_value = self.critic.forward(self._inputs(experience.next_observation))[1]
            received = received + self.per_group("gamma") * next_value
        delta = received - value  # (groups, 1, members)
        # Both steps from the weights the round was played with: the critic's after delta is taken.
        self.critic.ascend(inputs, hidden, delta / self.members, self.per_group("critic_learning_rate"))
        self.improve(experience.actions, delta)
