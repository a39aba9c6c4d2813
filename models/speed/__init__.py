"""The speed layer: kernels that run compiled (fused) where a batch is big enough, with the same numbers.

Why: eagerly, every torch operation is one pass over memory, and a round of a million agents is spread over
hundreds of such passes. `torch.compile` turns a kernel's passes into one loop that keeps each agent's
numbers in registers: the whole publication round runs about 6x faster fused at 1,000 x 1,000. Compiling
costs tens of seconds, and loading compiled kernels from an earlier process seconds (compile_cache.py), so a
batch is fused only when its work pays for that: see `should_fuse`.

This module is light on purpose: marking a function as a `kernel` and running it eagerly imports nothing of
torch's compiler. Only a fused batch imports `compiler.py` (torch.compile with the settings under which
compiled code computes eager's numbers), the compile cache (compile_cache.py; `should_fuse` also looks in it
for a batch big enough to pay by loading) and the two mends of inductor's C++ (cpp_codegen.py). Those touch
private torch APIs, so they run only on the torch versions they were written for (SUPPORTED_TORCH, checked at
run time: elsewhere a warning and the eager path), and apply only while this package's kernels compile and
run (compiler.ours), never to another library's torch.compile in the same process.

Fused or not, the numbers are the same, bit for bit, on a CPU and on a GPU: a kernel uses only operations
whose compiled code is IEEE-exact the eager one (+ - * /, comparisons, integer arithmetic, exp2; not exp),
and inductor is told to compute as eager does (compiler.EAGER_NUMERICS). Tests check it.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch

# Agent-rounds from which fusing pays, per device type (benchmarks/fusion_probe.py), where the process must
# compile the kernels and where it loads them from the compile cache. On 2 CPU cores the first fused round
# of a process costs 20-24 s compiling with inductor's cache warm (35-46 s cold) and 2.8-3.9 s loading, and
# fusing saves 60-90 ns an agent-round: compiling pays from about 3e8 agent-rounds and loading from about
# 6e7, and the thresholds leave margin. On an H200 or H100 compiling takes 7-21 s and fusing saves 31-42 ms
# a round at 100 million agents: those pay after about 500 rounds.
FUSE_MIN_AGENT_ROUNDS = {"cpu": 500_000_000, "cuda": 100_000_000_000}
FUSE_MIN_AGENT_ROUNDS_CACHED = {"cpu": 100_000_000, "cuda": 100_000_000_000}

# The torch releases whose private compiler APIs this package was written against (major.minor): the
# inductor settings of compiler.py, the precompile cache, the C++ mends. Elsewhere batches run eagerly.
SUPPORTED_TORCH = ("2.11", "2.13")

_fusing: ContextVar[bool] = ContextVar("fusing", default=False)
_unavailable: list[str] = []  # why compiling failed in this process, once it has
# Every kernel marked in the imported modules, by kernel_name: what a check of them all must reach
# (benchmarks/triton_check.py).
KERNELS: dict[str, Callable[..., Any]] = {}
# Each kernel's compiled form, once compiled in this process (by compiler.compile_kernel), by kernel.
COMPILED: dict[Callable[..., Any], Callable[..., Any]] = {}


def torch_supported(version: str | None = None) -> bool:
    """Whether this torch (or `version`) is one the speed layer was written for."""
    return ".".join((version or torch.__version__).split("+")[0].split(".")[:2]) in SUPPORTED_TORCH


def worth_fusing(
    agents_per_round: int,
    rounds: int,
    device: torch.device | str = "cpu",
    cached: bool = False,
    cost: float = 1.0,
) -> bool:
    """Whether fusing pays for a batch of this size played for this many rounds on this device: compiling
    its kernels, or, if `cached` (compile_cache.holds), loading them. `cost` is the engine's `fusing_cost`:
    how many times the agent-rounds above its fusing needs to pay, for kernels that save less a round."""
    thresholds = FUSE_MIN_AGENT_ROUNDS_CACHED if cached else FUSE_MIN_AGENT_ROUNDS
    return agents_per_round * rounds >= cost * thresholds[torch.device(device).type]


def should_fuse(
    kernels: str, agents_per_round: int, rounds: int, device: torch.device | str = "cpu", cost: float = 1.0
) -> bool:
    """Whether to fuse a batch whose engine keeps its compiled kernels under the name `kernels` (its class's:
    compile_cache): where it pays (looking in the compile cache only for a batch that could pay by loading,
    so a small eager run touches no compiler API), and where this torch is supported (else a warning, once,
    and the eager path)."""
    if not worth_fusing(agents_per_round, rounds, device, cached=True, cost=cost):
        return False
    if not torch_supported():
        _warn_unsupported()
        return False
    from models.speed import compile_cache

    return worth_fusing(agents_per_round, rounds, device, compile_cache.holds(kernels, device), cost)


@functools.cache
def _warn_unsupported() -> None:
    warnings.warn(
        f"torch {torch.__version__} is not one the fused kernels were written for (models.speed supports "
        f"torch {', '.join(SUPPORTED_TORCH)}): this process runs them eagerly, with the same numbers, slower "
        "for large batches.",
        RuntimeWarning,
        stacklevel=3,
    )


@contextmanager
def fusing(enabled: bool = True) -> Iterator[None]:
    """Within this block, kernels run compiled (if `enabled`), else eagerly; the numbers are the same.
    A fused block holds the settings our kernels compile and run under (compiler.ours) throughout: entered
    once a round rather than at each kernel call."""
    token = _fusing.set(enabled)
    try:
        if enabled and not _unavailable and torch_supported():
            from models.speed import compiler

            with compiler.ours():
                yield
        else:
            yield
    finally:
        _fusing.reset(token)


def fused() -> bool:
    """Whether a kernel called now runs compiled: within `fusing()`, where compiling works on this torch.
    An engine whose kernels pay only compiled asks, and plays its reference form otherwise."""
    return _fusing.get() and not _unavailable and torch_supported()


def kernel(
    fn: Callable[..., Any] | None = None,
    *,
    eager: Callable[..., Any] | None = None,
    inductor: dict[str, Any] | None = None,
) -> Any:
    """Mark a function of tensors as a kernel: eager by default, compiled within `fusing()`.

    Compiled once per process for any sizes (dynamic shapes), on first fused use. `eager`, where given, is
    what runs instead of `fn` when not fused: the same numbers reached another way, for a kernel whose
    dense form pays compiled (one pass that keeps or changes every entry) but not eagerly (a pass per
    operation), where touching only the entries that change pays. `inductor`: settings of inductor's that
    this kernel compiles under besides the speed layer's own (compiler.compile_kernel), where its form
    needs them; never ones that change numbers."""
    if fn is None:
        return functools.partial(kernel, eager=eager, inductor=inductor)
    eager_fn = fn if eager is None else eager
    KERNELS[kernel_name(fn)] = fn

    @functools.wraps(fn)
    def run(*args: Any) -> Any:
        if not _fusing.get() or _unavailable or not torch_supported():
            return eager_fn(*args)
        from models.speed import compiler

        try:
            compiled = COMPILED.get(fn)
            if compiled is None:
                compiled = COMPILED[fn] = compiler.compile_kernel(fn, inductor or {})
            return compiled(*args)  # within fusing(), so within compiler.ours()
        except Exception as error:  # no C++ compiler, an inductor bug: eager gives the same numbers
            _give_up(fn, error)
            return eager_fn(*args)

    return run


def kernel_name(fn: Callable[..., Any]) -> str:
    """A kernel's name: its module's and its own, 'models.random_kernels.hashed_draws'."""
    return f"{fn.__module__}.{fn.__qualname__}"


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


def keep_compiled(kernels: str, device: torch.device | str) -> None:
    """After a fused batch's first round (every kernel of a round is compiled by its end): hand its engine's
    kernels (named `kernels`) to the compile cache, for later processes."""
    if compiling_works() and torch_supported():
        from models.speed import compile_cache, compiler

        with compiler.ours():
            compile_cache.save(kernels, device)
