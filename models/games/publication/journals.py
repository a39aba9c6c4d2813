"""Journals and peer review: the institutions that decide what is published.

A world has `n_journals` journals; each study that gets done is submitted to one of them, drawn uniformly.
A journal's publication policy is the four probabilities of the publication model (cN+, cN-, cR+, cR-:
positive or negative, novel or replication), scaled for replications by 1 - its novelty preference nu, and
its peer review: it detects a false positive with probability d (`review_detection`) and rejects it, at a
cost in reviewer effort per positive submission reviewed (`review_cost`). With fixed actions, review leaves
the published false positives (1 - d) times as many, so the positive predictive value is Ioannidis' with
alpha (1 - d) in place of alpha.

Journals follow the game's parameters unless `journals_act`: then a journal's action picks its probability
of publishing a negative result (both cN- and cR-) and its novelty preference, each among `journal_levels`
values evenly from 0 to 1, so that journals can be swept, learn or evolve as any role. A journal is paid
what it adds to the record, as standing grows: the studies it published this round plus the citations its
findings received this round, less its reviewing costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from models.game import Role

# A journal observes its own last round (its acceptance rate and the citations its findings received) and
# its field's replication rate.
JOURNAL_FIELDS = {"acceptance_rate": 1, "citations": 1, "replication_rate": 1}

JOURNAL = Role(
    "journal",
    "publishes or rejects the studies submitted to it; acts on its policy where journals_act",
    agents=lambda p: p["n_journals"],
    actions=lambda p: p["journal_levels"] ** 2,
    observation=lambda p: len(JOURNAL_FIELDS),
    fields=lambda p: JOURNAL_FIELDS,
    optional=True,
)


@dataclass
class JournalPolicies:
    """Each journal's policy, (worlds, journals) each, or (worlds, 1) where every journal of a world has the
    game's policy (then no slot needs to know its journal)."""

    novel_positive: torch.Tensor  # cN+
    novel_negative: torch.Tensor  # cN-
    replication_positive: torch.Tensor  # cR+ (1 - nu)
    replication_negative: torch.Tensor  # cR- (1 - nu)
    detection: torch.Tensor  # d

    @classmethod
    def of(cls, p: Mapping[str, Any], actions: torch.Tensor | None) -> JournalPolicies:
        """The policies the journals follow this round: the game's, or where journals act, those their
        actions (worlds, journals) pick."""

        def world(name: str) -> torch.Tensor:
            return p[name].view(-1, 1)

        keep = 1 - world("novelty_preference")
        if not p["journals_act"] or actions is None:
            return cls(
                world("publish_novel_positive_prob"),
                world("publish_novel_null_prob"),
                world("publish_replication_positive_prob") * keep,
                world("publish_replication_null_prob") * keep,
                world("review_detection"),
            )
        levels = p["journal_levels"]
        action = actions.long()
        negative = (action // levels).float() / (levels - 1)
        keep = 1 - (action % levels).float() / (levels - 1)
        shape = action.shape
        return cls(
            world("publish_novel_positive_prob").expand(shape),
            negative,
            world("publish_replication_positive_prob") * keep,
            negative * keep,
            world("review_detection").expand(shape),
        )

    def per_slot(self, name: str, journal: torch.Tensor | None) -> torch.Tensor:
        """A policy as each study slot's journal holds it, (worlds, slots), or (worlds, 1) where the
        journals of a world share it."""
        value = getattr(self, name)
        if journal is None or value.shape[1] == 1:
            return value
        return value.gather(1, journal)


def submitted_to(uniform: torch.Tensor, n_journals: int) -> torch.Tensor:
    """The journal each slot submits to, (worlds, slots): uniform among the world's journals."""
    return (uniform * n_journals).long().clamp(max=n_journals - 1)


def per_journal(counts: torch.Tensor, journal: torch.Tensor | None, n_journals: int) -> torch.Tensor:
    """Per-slot flags or counts (worlds, slots) summed per journal, (worlds, journals) float32."""
    if journal is None:
        return counts.float().sum(1, keepdim=True)
    out = torch.zeros(counts.shape[0], n_journals, device=counts.device)
    return out.scatter_add_(1, journal, counts.float())
