"""A researcher's actions: a novel study or a replication, at one of the game's levels of method.

An action index is a mixed-radix number: (kind x method levels + level) x power_levels x qrp_levels +
power level x qrp_levels + qrp level, kind 0 for novel and 1 for a replication. With one power level and
one level of u (the defaults) it is kind x levels + level: novel ones first, then replications. The method
levels are rigor levels (evenly spaced from 0 to 1) in the rigor model and effort levels in the effort model.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


def method_levels(params: Mapping[str, Any]) -> int:
    """How many levels of method (rigor or effort) a researcher chooses among."""
    return params["effort_levels"] if params["study_model"] == "effort" else params["rigor_levels"]


def action_count(params: Mapping[str, Any]) -> int:
    """The number of actions of a researcher."""
    return 2 * method_levels(params) * params["power_levels"] * params["qrp_levels"]


def rigor_level(action: torch.Tensor, rigor_levels: int) -> torch.Tensor:
    """The rigor level of each action, 0 to rigor_levels - 1, with one power and one qrp level.
    Arithmetic rather than a table lookup, so that a fused kernel computes it in vector registers."""
    return torch.where(action >= rigor_levels, action - rigor_levels, action)


def rigor(action: torch.Tensor, rigor_levels: int) -> torch.Tensor:
    """The rigor of each action, evenly spaced from 0 to 1 over the levels."""
    return rigor_level(action, rigor_levels) / (rigor_levels - 1)


def replicates(action: torch.Tensor, rigor_levels: int) -> torch.Tensor:
    """Whether each action is a replication (the actions past the novel ones), with one power and one
    qrp level."""
    return action >= rigor_levels


def decode(action: torch.Tensor, params: Mapping[str, Any]) -> tuple[torch.Tensor, ...]:
    """Each action's kind (True: a replication), method level, power level and qrp level."""
    powers, qrps = params["power_levels"], params["qrp_levels"]
    qrp_level = action % qrps
    power_level = (action // qrps) % powers
    rest = action // (qrps * powers)
    levels = method_levels(params)
    return rest >= levels, rest % levels, power_level, qrp_level


def action_names(params: Mapping[str, Any]) -> list[str]:
    """Human-readable names of the researcher actions, in action-index order."""
    from models.games.publication.methods import grids

    names = []
    methods, powers, qrps = grids(params)
    method = "effort" if params["study_model"] == "effort" else "rigor"
    for kind in ("novel", "replicate"):
        for value in methods:
            for power in powers:
                for qrp in qrps:
                    name = f"{kind} at {method} {value:.3g}"
                    if params["power_levels"] > 1:
                        name += f", power {power:.2f}"
                    if params["qrp_levels"] > 1:
                        name += f", u {qrp:.2f}"
                    names.append(name)
    return names
