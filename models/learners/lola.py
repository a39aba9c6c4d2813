"""Learning with opponent-learning awareness (LOLA; Foerster, Chen, Al-Shedivat, Whiteson, Abbeel & Mordatch
2018, "Learning with Opponent-Learning Awareness", AAMAS): a policy-gradient learner that differentiates
through the step it expects its opponent to take.

Why: naive simultaneous gradient ascent ignores that the opponent learns too, and in games as simple as
matching pennies it circles or spirals away from the mixed equilibrium. A LOLA agent takes the gradient of
its payoff *after* its opponent's anticipated learning step, which shapes that step and (Foerster et al.
2018; Letcher et al. 2019, "Stable Opponent Shaping") damps the circling.

Each agent holds logits theta over its actions (a tabular softmax policy p = softmax(theta), from 0, i.e.
uniform, or from `initial`) and models its opponent as a naive policy-gradient learner of policy q: the
opponent role's action shares it observed, smoothed, q <- (1 - smoothing) q + smoothing shares (uniform
before any round), with logits phi = log q. With A the role's payoffs against each opponent action, B the
opponent's (models.game.PayoffModel), and J_x = diag(x) - x x^T the softmax Jacobian, the opponent's
anticipated step is Delta phi = eta J_q B p, after which it plays q' = softmax(phi + Delta phi), and the
agent's value is V1(p) = p^T A q'(p). Its gradient, by the chain rule through Delta phi (J symmetric):

    dV1/dp = A q' + eta B^T J_q J_q' A^T p,

and the agent ascends exactly: theta += learning_rate J_p dV1/dp. `lookahead` eta = 0 gives q' = q and the
naive exact policy-gradient learner ("naive learner" in Foerster et al.). The learning loop runs in inference
mode, so the gradient is this closed form, not autograd; the agent acts by sampling p with its own draws.
Every agent of a world sees the same shares, so the agents of a world hold the same policy.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from models.game import PayoffModel
from models.learners.base import Experience, Holding, Learner, Observation
from models.learners.choice import sample_categorical, softmax
from models.params import ConfigError, Param, ParamSpace


def jacobian_times(mix: torch.Tensor, vector: torch.Tensor) -> torch.Tensor:
    """(diag(mix) - mix mix^T) vector, the softmax Jacobian at `mix` times `vector`, over the last axis."""
    return mix * (vector - (mix * vector).sum(-1, keepdim=True))


def lola_gradient(
    p: torch.Tensor, q: torch.Tensor, payoffs: torch.Tensor, opponent_payoffs: torch.Tensor, eta: torch.Tensor
) -> torch.Tensor:
    """dV1/dp = A q' + eta B^T J_q J_q' A^T p, V1(p) = p^T A softmax(log q + eta J_q B p), for policies
    p (worlds, agents, actions) and q (worlds, agents, opponent actions), payoffs A (worlds, actions,
    opponent actions) and B (worlds, opponent actions, actions), and lookahead eta broadcastable to
    (worlds, agents, 1)."""
    step = eta * jacobian_times(q, torch.einsum("wba,wna->wnb", opponent_payoffs, p))  # Delta phi
    ahead = q * torch.exp(step - step.amax(-1, keepdim=True))  # softmax(phi + Delta phi), phi = log q
    ahead = ahead / ahead.sum(-1, keepdim=True)
    naive = torch.einsum("wab,wnb->wna", payoffs, ahead)  # A q'
    shaped = jacobian_times(q, jacobian_times(ahead, torch.einsum("wab,wna->wnb", payoffs, p)))
    return naive + eta * torch.einsum("wba,wnb->wna", opponent_payoffs, shaped)


class LOLA(Learner):
    """LOLA with exact policy gradients on a tabular softmax policy, batched over the agents of a role in
    every world."""

    kind = "lola"
    doc = "LOLA: exact policy-gradient ascent through the opponent's anticipated learning step"
    needs_payoff_model: ClassVar[bool] = True
    params = ParamSpace(
        name="learner",
        params={
            "learning_rate": Param(
                0.1, "step size of the gradient ascent on the logits", low=0, low_open=True, high=1
            ),
            "lookahead": Param(
                1.0,
                "eta: the step size of the naive opponent's anticipated learning (0: the naive learner)",
                low=0, high=1e3,
            ),
            "smoothing": Param(
                0.1,
                "weight of the last round's opponent shares in the opponent model (1: the last round alone)",
                low=0, low_open=True, high=1,
            ),
            "initial": Param(
                [], "the starting logits theta, one per action, for every agent (empty: all 0, uniform)",
                kind=list,
            ),
        },
    )  # fmt: skip

    @classmethod
    def check(cls, config: dict[str, Any], role: str, n_agents: int, n_actions: int) -> None:
        initial = config["initial"]
        if initial and len(initial) != n_actions:
            raise ConfigError(
                f"learners.{role}.initial = {initial!r} does not fit the game: allowed is an empty list "
                f"(uniform) or {n_actions} numbers, one starting logit per action."
            )

    def __init__(self, params: dict[str, Any], *args: Any, payoff_model: PayoffModel) -> None:
        super().__init__(params, *args)
        self.model = payoff_model
        device = payoff_model.payoffs.device
        self.check(params, self.role, self.n_agents, payoff_model.actions)
        initial = torch.tensor(params["initial"] or [0.0] * payoff_model.actions, device=device)
        # Held once per world, (worlds, 1, ...): every agent of a world starts from the same logits and sees
        # the same shares, so they hold the same policy and model, and a world's agents share one copy.
        self.world_theta = initial.expand(self.n_worlds, 1, -1).clone()
        shape = (self.n_worlds, 1, payoff_model.opponent_actions)
        self.world_opponent = torch.full(shape, 1 / payoff_model.opponent_actions, device=device)  # q

    @property
    def theta(self) -> torch.Tensor:
        """Each agent's logits, (worlds, agents, actions)."""
        return self.world_theta.expand(-1, self.n_agents, -1)

    @property
    def opponent(self) -> torch.Tensor:
        """Each agent's model of the opponents' mixed action, (worlds, agents, opponent actions)."""
        return self.world_opponent.expand(-1, self.n_agents, -1)

    def probabilities(self) -> torch.Tensor:
        """Each agent's policy softmax(theta), (worlds, agents, actions)."""
        return softmax(self.world_theta, -1).expand(-1, self.n_agents, -1)

    def holdings(self) -> list[Holding]:
        opponent = tuple(f"{self.model.opponent} action {b}" for b in range(self.model.opponent_actions))
        return [
            Holding("action probability", self.probabilities().clone()),
            Holding("opponent model: the opponents' action shares expected", self.opponent.clone(), opponent),
        ]

    def act(self, observation: Observation) -> torch.Tensor:
        uniform = self.draw(observation.round_index, "act")
        return sample_categorical(softmax(self.world_theta, -1).unbind(-1), uniform)

    def learn(self, experience: Experience) -> None:
        """Update the opponent model with the shares just seen, then take the LOLA step."""
        smoothing = self.p["smoothing"].view(-1, 1, 1)
        shares = self.model.opponent_shares(experience.next_observation.features)[:, :1]  # a world's
        self.world_opponent = (1 - smoothing) * self.world_opponent + smoothing * shares
        p = softmax(self.world_theta, -1)
        gradient = lola_gradient(
            p,
            self.world_opponent,
            self.model.payoffs,
            self.model.opponent_payoffs,
            self.p["lookahead"].view(-1, 1, 1),
        )
        self.world_theta = self.world_theta + self.p["learning_rate"].view(-1, 1, 1) * jacobian_times(
            p, gradient
        )
