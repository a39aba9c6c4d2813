"""Fused kernels: the round's elementwise work compiled into a few loops, where the batch is big enough.

Why: eagerly, every torch operation is one pass over memory, and a round of a million agents is spread over
hundreds of such passes. `torch.compile` turns a kernel's passes into one loop that keeps each agent's
numbers in registers: the learners' choice for a million agents, random draws included, takes about 3.5 ms
compiled against 15 eagerly, and the whole publication round about 6x less (15-16 against 91-95 ms at 1,000 x
1,000). Compiling costs tens of seconds, and loading compiled kernels from an earlier process seconds
(models/compile_cache.py), so a batch is fused only when its work pays for that: see `worth_fusing`.
Integer kernels need two mends of inductor's C++ to be fast (models/cpp_codegen.py).

Fused or not, the numbers are the same, bit for bit, on a CPU and on a GPU: a kernel uses only operations
whose compiled code is IEEE-exact the eager one (+ - * /, comparisons, integer arithmetic, exp2; not exp,
whose compiled C++ differs from eager's by an ulp now and then), and inductor is told to compute as eager
does (EAGER_NUMERICS). So a run's numbers never depend on the size of the batch it ran in; tests check it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

from models import compile_cache
from models.cpp_codegen import cache_key_options

# Agent-rounds from which fusing pays, per device type (benchmarks/fusion_probe.py), where the process must
# compile the kernels and where it loads them from the compile cache (models/compile_cache.py). On 2 CPU
# cores the first fused round of a process costs 20-24 s compiling with inductor's cache warm (35-46 s
# cold) and 2.8-3.9 s loading, and fusing saves 60 ms a round at a million agents (80 -> 18-20 ms) and
# 9 ms at 100,000 (14 -> 4.8-5.5): 60-90 ns an agent-round. So compiling pays from about 3e8
# agent-rounds and loading from about 6e7, and the thresholds leave margin: a million agents for 500
# rounds compiling, 100,000 for 1,000 loading. On an H200 or H100 compiling takes 7-21 s, and fusing saves
# 0.4 ms a round at a million agents, 3-4 ms at 10 million and 31-42 ms at 100 million: 100 million pay
# after about 500 rounds (loading there is not measured yet, so the threshold is the same).
FUSE_MIN_AGENT_ROUNDS = {"cpu": 500_000_000, "cuda": 100_000_000_000}
FUSE_MIN_AGENT_ROUNDS_CACHED = {"cpu": 100_000_000, "cuda": 100_000_000_000}

# Inductor settings under which compiled code computes eager's numbers on a GPU too (Triton): no fused
# multiply-add, IEEE division (Triton's default one is approximate), subnormals kept. Inductor's C++ for a
# CPU does all of this already. Measured with torch 2.11 on an H200: a million researchers fused and eager
# end 40 rounds with the same numbers with these, and part at round 7 without them.
EAGER_NUMERICS = {
    "emulate_precision_casts": True,
    "eager_numerics.division_rounding": True,
    "eager_numerics.disable_ftz": True,
}

# Inductor settings under which a kernel runs as fast at any size, whatever the size it was compiled at.
# Inductor's C++ decides how many loop levels to share among threads from the sizes of the first call:
# a kernel first called on a few worlds of 37 researchers (a test) ran on one thread for good, and a
# compile cache hands that kernel to every later process (1,000 x 1,000 took 24 ms a round instead of 16).
# With dynamic threads every kernel shares its outer loop, and OpenMP decides at each call.
SIZE_FREE = {"cpp.dynamic_threads": True}

_fusing: ContextVar[bool] = ContextVar("fusing", default=False)


def worth_fusing(
    agents_per_round: int, rounds: int, device: torch.device | str = "cpu", cached: bool = False
) -> bool:
    """Whether fusing pays for a batch of this size played for this many rounds on this device: compiling
    its kernels, or, if `cached` (models.compile_cache.holds), loading them."""
    thresholds = FUSE_MIN_AGENT_ROUNDS_CACHED if cached else FUSE_MIN_AGENT_ROUNDS
    return agents_per_round * rounds >= thresholds[torch.device(device).type]


@contextmanager
def fusing(enabled: bool = True) -> Iterator[None]:
    """Within this block, kernels run compiled (if `enabled`), else eagerly; the numbers are the same."""
    token = _fusing.set(enabled)
    try:
        yield
    finally:
        _fusing.reset(token)


def kernel(fn: Callable[..., Any] | None = None, *, eager: Callable[..., Any] | None = None) -> Any:
    """Mark a function of tensors as a kernel: eager by default, compiled within `fusing()`.

    Compiled once per process for any sizes (dynamic shapes), on first use. `eager`, where given, is what
    runs instead of `fn` when not fused: the same numbers reached another way, for a kernel whose dense
    form pays compiled (one pass that keeps or changes every entry) but not eagerly (a pass per
    operation), where touching only the entries that change pays."""
    if fn is None:
        return functools.partial(kernel, eager=eager)
    eager_fn = fn if eager is None else eager
    options = _known({**EAGER_NUMERICS, **SIZE_FREE})

    compiled: Callable[..., Any] | None = None

    @functools.wraps(fn)
    def run(*args: Any) -> Any:
        nonlocal compiled
        if not _fusing.get() or _unavailable:
            return eager_fn(*args)
        if compiled is None:
            # No "duck" shapes: sizes that happen to be equal at the first call (1,000 worlds of 1,000
            # researchers) would stay tied, and every batch where they differ would compile again.
            torch.fx.experimental._config.use_duck_shape = False
            compile_cache.enable()
            compiled = torch.compile(fn, dynamic=True, options={**options, **cache_key_options()})
        try:
            return compiled(*args)
        except Exception as error:  # no C++ compiler, an inductor bug: eager gives the same numbers
            _give_up(fn, error)
            return eager_fn(*args)

    return run


def _known(options: dict[str, Any]) -> dict[str, Any]:
    """The inductor settings among `options` that the installed torch has (torch 2.11 and 2.13 have all)."""
    known = torch._inductor.config.get_config_copy()
    return {name: value for name, value in options.items() if name in known}


_unavailable: list[str] = []  # why compiling failed in this process, once it has


def compiling_works() -> bool:
    """Whether kernels compile in this process (so far): not where a compile failed (see _give_up)."""
    return not _unavailable


def _give_up(fn: Callable[..., Any], error: Exception) -> None:
    """Run every kernel eagerly from now on in this process, and say why once: slower, same numbers.
    Kernels do not modify their inputs, so a failed compiled call can be run again eagerly."""
    _unavailable.append(f"{type(error).__name__}: {error}".splitlines()[0])
    warnings.warn(
        f"torch.compile failed for kernel {fn.__qualname__} ({_unavailable[0]}); this process runs its "
        "kernels eagerly from now on: the numbers are the same, large batches are slower.",
        RuntimeWarning,
        stacklevel=3,
    )
