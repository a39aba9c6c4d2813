"""How a kernel is compiled: torch.compile with the settings under which it computes eager's numbers at
any size, and the compile cache and C++ mends applied only while this package's kernels compile and run.

Imported only when a batch is fused (models/speed/__init__.py), so an eager run imports no private torch API.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import torch
import torch._dynamo.config
import torch._inductor.config
import torch.fx.experimental._config

from models.speed import compile_cache, cpp_codegen

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

_ours: ContextVar[bool] = ContextVar("ours", default=False)


def in_our_kernels() -> bool:
    """Whether the code running now is one of this package's kernels compiling or running: the C++ mends
    and the compile cache apply only then."""
    return _ours.get()


@contextmanager
def ours() -> Iterator[None]:
    """Mark the block as this package's kernels at work: the process-wide settings they need hold within
    it, and are put back after, so another library's torch.compile in the same process never sees them.
    Entered once per fused block (models.speed.fusing), not per kernel call: set and put back directly,
    since config.patch costs about 50 us a time."""
    token = _ours.set(True)
    settings = [(torch.fx.experimental._config, "use_duck_shape", False)]
    # No "duck" shapes: sizes that happen to be equal at the first call (1,000 worlds of 1,000
    # researchers) would stay tied, and every batch where they differ would compile again.
    if compile_cache.enable():
        settings.append((torch._dynamo.config, "caching_precompile", True))
    before = [getattr(config, name) for config, name, _ in settings]
    try:
        for config, name, value in settings:
            setattr(config, name, value)
        yield
    finally:
        for (config, name, _), value in zip(settings, before, strict=True):
            setattr(config, name, value)
        _ours.reset(token)


def _known(options: dict[str, Any]) -> dict[str, Any]:
    """The inductor settings among `options` that the installed torch has (torch 2.11 and 2.13 have all)."""
    known = torch._inductor.config.get_config_copy()
    return {name: value for name, value in options.items() if name in known}


def compile_kernel(fn: Callable[..., Any], own: dict[str, Any] | None = None) -> Callable[..., Any]:
    """fn compiled for any sizes (dynamic shapes), with the settings above, the kernel's `own` inductor
    settings (models.speed.kernel's `inductor`) and the C++ mends' cache key. Dynamo traces at the first
    call (made within `ours()`), but looks for fn in the compile cache here, so this is done within `ours()`
    too."""
    ours_only = cpp_codegen.cache_key_options(in_our_kernels)
    options = {**_known({**EAGER_NUMERICS, **SIZE_FREE, **(own or {})}), **ours_only}
    with ours():
        return torch.compile(fn, dynamic=True, options=options)
