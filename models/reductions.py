"""Sums whose order is fixed: the same seed gives the same numbers on any device, in any batch.

Floating-point addition is not associative, so a sum's last bit depends on the order of its terms. The CPU
adds in an order fixed by the data's shape; a GPU adds a scatter's repeated indices with atomics, in an order
that changes from run to run, and splits a reduction among its threads by the shape of the whole tensor, so
a world's sum over its agents depends on how many worlds share its batch. The sums that feed learning or
metrics go through these functions.
"""

from __future__ import annotations

import torch


def add_at(target: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """target[index[k]] += values[k] for every k, in place, adding a repeated index's values in an order
    fixed by the indices alone: the same seed gives the same numbers run after run, on a CPU or a GPU.

    Why not index_add_ everywhere: on CUDA it adds a repeated index's values with atomics, in an order that
    changes from run to run, and so does a float sum's last bit; learning agents then soon run apart. CUDA's
    accumulating index_put_ sorts the indices first and sums each one's values in a fixed order (not k's,
    so its sums differ from the CPU's in the last bit). On the CPU, index_add_ adds in the order k, where
    index_put_ adds in parallel with atomics from 32,768 entries.
    """
    if target.device.type == "cpu":
        return target.index_add_(0, index, values)
    return target.index_put_((index,), values, accumulate=True)


def world_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """x summed over `dim` (a world's agents), the same bits in any batch: on a GPU, exactly.

    On a GPU each slice is summed in fixed point: its values are scaled by a power of two chosen from the
    slice's own largest magnitude, so that every partial sum is an integer below 2^52, rounded to integers
    and added in float64, which adds such integers exactly. Exact addition is associative, so neither the
    batch nor the GPU's reduction layout changes the result, which is as close to the exact sum as a
    float32 sum is or closer (52 bits less those the count of terms needs). On the CPU a plain sum: its
    order depends on a slice alone unless one world's slice is split among threads (from 32,768 agents,
    with several threads, a world alone), and the fixed-point sum costs a few passes more.
    """
    return x.sum(dim) if x.device.type == "cpu" else fixed_point_sum(x, dim)


def fixed_point_sum(x: torch.Tensor, dim: int) -> torch.Tensor:
    """x summed over `dim` in fixed point (see world_sum): the same bits in any order and any batch."""
    terms = max(x.shape[dim] - 1, 1).bit_length()  # the sum of n terms needs this many more bits
    _, exponent = torch.frexp(x.abs().amax(dim, keepdim=True))  # every |x| < 2^exponent
    shift = (52 - terms - exponent).long()
    fixed = (x.double() * _power_of_two(shift)).round_()  # integers: any partial sum is below 2^52
    return (fixed.sum(dim) * _power_of_two(-shift.squeeze(dim))).to(x.dtype)


def _power_of_two(k: torch.Tensor) -> torch.Tensor:
    """2.0 ** k exactly, as float64, for integer k in [-1022, 1023]: built from its bits."""
    return ((k + 1023) << 52).view(torch.float64)
