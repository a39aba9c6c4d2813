"""The literature of the publication game: every published positive finding kept for replication, as plain
columns, (worlds, places) each.

A place holds one finding: its hypothesis (numbered per world in order of publication), whether it is true,
its author, the action that produced it, whether it is still open (it can be replicated again), the
published results of its replications, positive and negative, how many replications it had, the round it
was published in, the citations it has received and the journal that published it. The places form a ring:
when it is full, a new finding takes the place of the oldest.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch


@dataclass
class Literature:
    hypothesis: torch.Tensor  # int64: the finding's number in its world, in order of publication; -1 empty
    true: torch.Tensor  # bool
    author: torch.Tensor  # int64: the researcher who published it
    action: torch.Tensor  # int64: the action that produced it
    open: torch.Tensor  # bool: published and not yet replicated (empty places are closed)
    published_positive: torch.Tensor  # int32: published replications that confirmed it
    published_negative: torch.Tensor  # int32: published replications that failed to
    replications: torch.Tensor  # int32: replications done, published or not
    published_round: torch.Tensor  # int64: the round it was published in
    citations: torch.Tensor  # int32: citations it has received (citations.py)
    journal: torch.Tensor  # int64: the journal that published it (journals.py)

    @classmethod
    def empty(cls, worlds: int, places: int, device: torch.device) -> Literature:
        def zeros(dtype: torch.dtype) -> torch.Tensor:
            return torch.zeros(worlds, places, dtype=dtype, device=device)

        return cls(
            hypothesis=torch.full((worlds, places), -1, dtype=torch.int64, device=device),
            true=zeros(torch.bool),
            author=zeros(torch.int64),
            action=zeros(torch.int64),
            open=zeros(torch.bool),
            published_positive=zeros(torch.int32),
            published_negative=zeros(torch.int32),
            replications=zeros(torch.int32),
            published_round=zeros(torch.int64),
            citations=zeros(torch.int32),
            journal=zeros(torch.int64),
        )

    def columns(self) -> dict[str, torch.Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self)}
