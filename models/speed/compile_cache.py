"""Compiled kernels kept on disk from one process to the next: a fused batch starts in seconds, not tens.

Why: inductor's own cache keeps the C++ it wrote, but each process still has dynamo trace every kernel with
symbolic shapes before it can look there, and that tracing is most of a first fused round: 10-13 s of it on
2 cores with inductor's cache warm. Dynamo's precompile cache (torch 2.13's `caching_precompile`) keeps the
traced kernels too, with their guards and compiled code, and a later process loads them: 2.6-3.7 s for the
publication round's six kernels, mostly importing inductor. So fusing pays for smaller batches once the
kernels are cached (models.speed.worth_fusing), which is the case from a machine's second fused run on.

That cache drops the guards on what a kernel finds in its module (the functions it calls), trusting that
the code has not changed since. So it is kept in a directory named by the code itself: a hash of every
source file of the `models` package (kernels, the code they call, the inductor patches of
models/speed/cpp_codegen.py), the Python and torch versions and the CPU's vector instructions. Any edit of
the models starts a new one.

The cache is switched on, and pointed at that directory, only while this package's kernels compile and run
(compiler.ours): another library's torch.compile in the same process neither reads nor writes it.

`save` marks an engine's kernels (named by its class) as cached on a device once a fused round of it has
run and its kernels are written; `holds` says whether they are. Where this torch has no such cache, nothing
is kept and fused batches compile as before: slower to start, the same numbers.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import platform
import secrets
import warnings
from collections.abc import Callable
from pathlib import Path

import torch

_DROPPED_GUARD = "is dropped with caching_precompile"


@functools.cache
def code_key() -> str:
    """16 hex digits naming the code whose compiled kernels a directory holds (see the module's docstring)."""
    digest = hashlib.sha256(f"{platform.python_version()}|{torch.__version__}".encode())
    digest.update(torch.backends.cpu.get_cpu_capability().encode())
    package = Path(__file__).resolve().parent.parent  # models/ (this is models/speed/compile_cache.py)
    for source in sorted(package.rglob("*.py")):
        digest.update(b"\0" + source.relative_to(package).as_posix().encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def _root() -> Path:
    """Beside inductor's own cache (TORCHINDUCTOR_CACHE_DIR where set), one directory per code version."""
    from torch._inductor.runtime.cache_dir_utils import cache_dir

    return Path(cache_dir()) / "reward-design-lab"


def directory() -> Path:
    return _root() / code_key()


class _QuietDroppedGuards(logging.Filter):
    """Dynamo warns of every guard it drops for the cache, a dozen lines a kernel: the module's docstring
    says why dropping them is sound for our kernels (another library's warnings are left alone)."""

    def __init__(self, ours: Callable[[], bool]) -> None:
        super().__init__()
        self.ours = ours

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.ours() and _DROPPED_GUARD in str(record.msg))


@functools.cache
def enable() -> bool:
    """Have dynamo keep and load this package's compiled kernels in `directory()`, once per process;
    False where this torch has no such cache. Called by compiler.ours, which switches the cache on (dynamo's
    `caching_precompile`) only within it, where `directory()` is where dynamo looks."""
    try:
        from torch._dynamo.package import DynamoCache
        from torch._dynamo.precompile_context import PrecompileContext  # noqa: F401  (used by save)
    except ImportError:
        return False
    if not hasattr(torch._dynamo.config, "caching_precompile") or not hasattr(DynamoCache, "path_prefix"):
        return False
    from torch._dynamo import bytecode_transformation

    from models.speed.compiler import in_our_kernels

    # The precompile cache is switched on only while this package's kernels compile (compiler.ours), and
    # points at this directory only then: another library's compiled code goes where torch puts it.
    original = DynamoCache.path_prefix
    DynamoCache.path_prefix = lambda: str(directory()) if in_our_kernels() else original()  # type: ignore[method-assign]
    # A loaded kernel brings the names its process gave its globals (`__builtins_dict___2`), and this
    # process numbers its own from 0: a kernel compiling again here (another role's shapes) would take a
    # loaded name and fail. Numbered from a random start, the names of two processes do not meet. (The
    # counter is process-wide: other compiled code's names start there too, still unique.)
    bytecode_transformation._unique_id_counter = itertools.count(secrets.randbits(48))
    logging.getLogger("torch._dynamo.guards").addFilter(_QuietDroppedGuards(in_our_kernels))
    return True


def _marker(kernels: str, device: torch.device | str) -> Path:
    return directory() / f"{kernels}-{torch.device(device).type}.cached"


def holds(kernels: str, device: torch.device | str = "cpu") -> bool:
    """Whether a fused round of the engine whose kernels are named `kernels` (its class's name) has run on
    this device type with this code and its kernels were kept: a process fusing it now loads them instead
    of tracing them again."""
    return _marker(kernels, device).exists()


def save(kernels: str, device: torch.device | str = "cpu") -> None:
    """Write the kernels compiled so far in this process (an engine's, after a fused round) and mark them,
    under the engine's name `kernels`, as cached. A cache that cannot be written only costs time, so that is
    a warning, not an error."""
    if not enable():
        return
    from torch._dynamo.precompile_context import PrecompileContext

    try:
        PrecompileContext.save_to_dynamo_cache()
        directory().mkdir(parents=True, exist_ok=True)  # where every kernel was loaded, nothing was written
        _marker(kernels, device).touch()
    except (OSError, RuntimeError) as error:
        warnings.warn(
            f"could not keep the compiled kernels in {directory()} ({error}); later processes compile "
            "them again: slower to start, the same numbers.",
            RuntimeWarning,
            stacklevel=2,
        )
