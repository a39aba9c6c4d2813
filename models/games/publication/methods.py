"""A lab's methods: what its action, or an evolving lab's traits, mean for every study it runs.

The field has two parameterisations, chosen by the game parameter `study_model`:

- rigor: a rigor r in [0, 1] lowers the false positive rate linearly from `hacked_alpha` (r = 0) to `alpha`
  (r = 1), and each study slot is finished with probability 1 - rigor_cost r;
- effort (Smaldino & McElreath 2016): a lab of effort e >= 1 and power W has the false positive rate
  alpha = W / (1 + (1 - W) e) and finishes a study with probability h = 1 - eta log10(e).

In both, Ioannidis' (2005) bias u turns a share u of the analyses that would have come out negative into
positive ones, whatever the hypothesis' truth: a study of a true hypothesis comes out positive with
probability W + u (1 - W), of a false one with alpha + u (1 - alpha).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch

from models.game import Trait
from models.games.publication.actions import decode

TRAITS = ("effort", "power", "replication", "qrp")  # an evolving lab's traits, in this order


def smaldino_alpha(power: torch.Tensor | float, effort: torch.Tensor | float) -> Any:
    """The false positive rate of a lab of power W and effort e: W / (1 + (1 - W) e)."""
    return power / (1 + (1 - power) * effort)


def smaldino_productivity(effort: torch.Tensor | float, eta: torch.Tensor | float) -> Any:
    """The probability that a lab of effort e finishes a study in a round: 1 - eta log10(e)."""
    if isinstance(effort, torch.Tensor):
        return 1 - eta * torch.log10(effort)
    import math

    return 1 - eta * math.log10(effort)


def ioannidis_positive(p_positive: torch.Tensor, qrp: torch.Tensor) -> torch.Tensor:
    """The chance of a positive result under bias u: p + u (1 - p), for true and false hypotheses alike."""
    return p_positive + qrp * (1 - p_positive)


def grids(params: Mapping[str, Any]) -> tuple[list[float], list[float], list[float]]:
    """The values a learner's levels stand for (methods, powers, qrps), from one world's parameters."""
    if params["study_model"] == "effort":
        levels = params["effort_levels"]
        methods = (
            [params["effort"]]
            if levels == 1
            else torch.logspace(0, torch.log10(torch.tensor(params["max_effort"])), levels).tolist()
        )
    else:
        levels = params["rigor_levels"]
        methods = [level / (levels - 1) for level in range(levels)]
    powers = [params["power"] * k / params["power_levels"] for k in range(1, params["power_levels"] + 1)]
    qrps = (
        [params["qrp_bias"]]
        if params["qrp_levels"] == 1
        else [params["qrp_bias"] * k / (params["qrp_levels"] - 1) for k in range(params["qrp_levels"])]
    )
    return methods, powers, qrps


def researcher_traits(params: Mapping[str, Any]) -> tuple[Trait, ...]:
    """An evolving lab's traits (effort model only): effort, power, replication rate and u, starting from
    the game's values, with Smaldino & McElreath's (2016) mutation sizes."""
    if params["study_model"] != "effort":
        return ()
    return (
        Trait("effort", "e: effort, 1 to max_effort", 1.0, params["max_effort"], params["effort"], 1.0),
        Trait("power", "W: power", 1e-3, 1 - 1e-3, params["power"], 0.01),
        Trait("replication", "r: probability of replicating", 0.0, 1.0, params["replication_rate"], 0.01),
        Trait("qrp", "u: questionable research practices", 0.0, 1.0, params["qrp_bias"], 0.01),
    )


@dataclass
class Methods:
    """Each researcher's methods this round, (worlds, researchers) or broadcastable to it."""

    replicate: torch.Tensor  # bool: replicates (chosen actions); float: probability of replicating (traits)
    finish: torch.Tensor  # probability that a study slot is finished this round
    power: torch.Tensor  # W
    alpha: torch.Tensor  # false positive rate
    qrp: torch.Tensor  # u
    mean_effort: torch.Tensor  # (worlds,) float32: the researchers' mean effort (NaN in the rigor model)
    mean_power: torch.Tensor  # (worlds,) float32
    mean_qrp: torch.Tensor  # (worlds,) float32


def world(p: Mapping[str, Any], name: str) -> torch.Tensor:
    """A per-world parameter as a round reads it, (worlds, 1)."""
    return p[name].view(-1, 1)


def _mean(values: torch.Tensor, p: Mapping[str, Any], name: str, levels: int) -> torch.Tensor:
    """The researchers' mean of a value: the parameter itself where every researcher has it."""
    if levels == 1:
        return p[name].view(-1).clone()
    return values.mean(1, dtype=torch.float32)


def methods_of(action: torch.Tensor, p: Mapping[str, Any]) -> Methods:
    """The methods that each researcher's action (W, R) or traits (W, R, 4) stand for, under the batch's
    parameters `p` (per-world numbers as (W, 1, 1) tensors)."""
    effort_model = p["study_model"] == "effort"
    if action.is_floating_point():
        effort, power, replicate, qrp = action.unbind(-1)
        alpha = smaldino_alpha(power, effort)
        finish = smaldino_productivity(effort, world(p, "effort_productivity"))
        means = (effort.mean(1), power.mean(1), qrp.mean(1))
        return Methods(replicate, finish, power, alpha, qrp, *means)

    replicate, level, power_level, qrp_level = decode(action, p)
    power = world(p, "power")
    if p["power_levels"] > 1:
        power = power * (power_level + 1) / p["power_levels"]
    qrp = world(p, "qrp_bias")
    if p["qrp_levels"] > 1:
        qrp = qrp * qrp_level / (p["qrp_levels"] - 1)
    nan = torch.full((action.shape[0],), torch.nan, device=action.device)
    if effort_model:
        levels = p["effort_levels"]
        if levels == 1:
            effort = world(p, "effort").expand_as(action)
        else:
            effort = torch.pow(world(p, "max_effort"), level / (levels - 1))
        alpha = smaldino_alpha(power, effort)
        finish = smaldino_productivity(effort, world(p, "effort_productivity"))
        mean_effort = effort.mean(1, dtype=torch.float32)
    else:
        rigor = level / (p["rigor_levels"] - 1)
        hacked_alpha = world(p, "hacked_alpha")
        alpha = hacked_alpha + (world(p, "alpha") - hacked_alpha) * rigor
        finish = 1 - world(p, "rigor_cost") * rigor
        mean_effort = nan
    return Methods(
        replicate,
        finish,
        power,
        alpha,
        qrp,
        mean_effort,
        _mean(power.expand_as(action), p, "power", p["power_levels"]),
        _mean(qrp.expand_as(action), p, "qrp_bias", p["qrp_levels"]),
    )


def nominal_alpha(p: Mapping[str, Any]) -> torch.Tensor:
    """The false positive rate a reader assumes of every published study, (worlds, 1): `alpha` in the rigor
    model, the game's effort and power's in the effort model."""
    if p["study_model"] == "effort":
        return smaldino_alpha(world(p, "power"), world(p, "effort"))
    return world(p, "alpha")
