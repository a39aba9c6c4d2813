"""The publication game as a Mesa model, written agent by agent the way a Mesa user would.

Same rules as `models.games.publication.rules` (see its docstring): each `Researcher` picks novel or replicate
at a rigor level with its own `AgentLearner`, works its study slots, and journals publish every positive
and a null with probability `publish_null_prob`. The round is simultaneous, as in the engine: replications
draw from the literature as it stood when the round began, the first researcher (in Mesa's shuffled order)
to replicate a finding takes it out of the pool, and new findings enter the ring buffer at the end of the
round. A published
failed replication charges the original author once, credited to the action that produced the finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import mesa

from benchmarks.agent_learner import AgentLearner

TALLIES = (
    "novel_choices",
    "rigor_sum",
    "novel_studies",
    "replication_studies",
    "replication_successes",
    "published_novel_positives",
    "published_false_positives",
    "publications",
    "payoff_sum",
)  # the names of `PublicationTallies`, so a round reads like the engine's


@dataclass(eq=False)  # findings are compared by identity: a set of refuted findings holds each once
class Finding:
    """A published novel positive: whether it is true, who found it with which action, and if replicated."""

    true: bool
    author: Researcher
    action: int
    replicated: bool = field(default=False)


class Researcher(mesa.Agent):
    """Chooses an action, runs its study slots, and learns from what it received."""

    def __init__(self, model: PublicationModel) -> None:
        super().__init__(model)
        self.learner = AgentLearner(model.n_actions, model.random)
        self.action = 0
        self.payoff = 0.0
        self.penalty = 0.0

    def step(self) -> None:
        m, rng = self.model, self.model.random
        self.action = m.fixed_action if m.fixed_action is not None else self.learner.act()
        self.payoff = self.penalty = 0.0
        replicate = self.action >= m.rigor_levels
        rigor = (self.action % m.rigor_levels) / (m.rigor_levels - 1)
        alpha = m.p["hacked_alpha"] + (m.p["alpha"] - m.p["hacked_alpha"]) * rigor
        m.tallies["novel_choices"] += not replicate
        m.tallies["rigor_sum"] += rigor
        for _ in range(m.p["studies_per_round"]):
            if rng.random() >= 1 - m.p["rigor_cost"] * rigor:
                continue  # rigor costs productivity: this slot is not completed
            if replicate:
                self.replicate(alpha)
            else:
                self.novel_study(alpha)

    def novel_study(self, alpha: float) -> None:
        m, rng = self.model, self.model.random
        true = rng.random() < m.p["base_rate"]
        positive = rng.random() < (m.p["power"] if true else alpha)
        m.tallies["novel_studies"] += 1
        if positive:
            m.new_findings.append(Finding(true, self, self.action))
            self.publish(m.p["novelty_reward"])
            m.tallies["published_novel_positives"] += 1
            m.tallies["published_false_positives"] += not true
        elif rng.random() < m.p["publish_null_prob"]:
            self.publish(m.p["null_reward"])

    def replicate(self, alpha: float) -> None:
        m, rng = self.model, self.model.random
        if not m.literature:
            return  # nothing published yet
        finding = m.literature[int(rng.random() * len(m.literature))]
        if finding.replicated:
            return  # someone replicated it first, this round or earlier
        finding.replicated = True
        positive = rng.random() < (m.p["power"] if finding.true else alpha)
        m.tallies["replication_studies"] += 1
        m.tallies["replication_successes"] += positive
        if positive:
            self.publish(m.p["replication_reward"])
        elif rng.random() < m.p["publish_null_prob"]:
            self.publish(m.p["replication_reward"] + m.p["null_reward"])
            m.refuted.add(finding)

    def publish(self, reward: float) -> None:
        self.payoff += reward
        self.model.tallies["publications"] += 1

    def charge(self, action: int, penalty: float) -> None:
        """A refuted finding: the penalty is part of this round's reward and goes to the action behind it."""
        self.penalty += penalty
        self.learner.credit(action, -penalty)

    def learn(self) -> None:
        if self.model.fixed_action is None:
            self.learner.learn(self.action, self.payoff)
        self.model.tallies["payoff_sum"] += self.payoff - self.penalty


class PublicationModel(mesa.Model):
    """Researchers, the literature (a ring buffer of findings) and journals; `history` holds each round."""

    def __init__(self, params: dict[str, Any], seed: int, fixed_action: int | None = None) -> None:
        super().__init__(seed=seed)
        self.p = params
        self.rigor_levels = params["rigor_levels"]
        self.n_actions = 2 * self.rigor_levels
        self.literature_size = params["literature_size"] or params["n_researchers"]
        self.fixed_action = fixed_action  # every researcher plays it and nobody learns (analytic checks)
        self.literature: list[Finding] = []
        self.findings_published = 0
        self.tallies = dict.fromkeys(TALLIES, 0.0)  # the last round's counts
        self.history: list[dict[str, float]] = []
        Researcher.create_agents(self, params["n_researchers"])

    def step(self) -> None:
        self.tallies = dict.fromkeys(TALLIES, 0.0)
        self.new_findings: list[Finding] = []
        self.refuted: set[Finding] = set()
        self.agents.shuffle_do("step")
        for finding in self.refuted:  # a set: each refuted finding charges its author once
            finding.author.charge(finding.action, self.p["failed_replication_penalty"])
        for finding in self.new_findings:  # overflow keeps the newest `literature_size`
            slot = self.findings_published % self.literature_size
            if slot == len(self.literature):
                self.literature.append(finding)
            else:
                self.literature[slot] = finding
            self.findings_published += 1
        self.agents.do("learn")
        self.history.append(self.tallies)


def run_mesa(params: dict[str, Any], rounds: int, seed: int) -> int:
    """Run the Mesa model for `rounds` rounds with learning researchers; return agent-decisions made."""
    model = PublicationModel(params, seed)
    for _ in range(rounds):
        model.step()
    return len(model.agents) * rounds
