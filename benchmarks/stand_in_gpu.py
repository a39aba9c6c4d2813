"""A CUDA GPU that is not there: enough of one for inductor to write its Triton code and for Triton to compile
that code to the GPU's machine code, on a machine without a GPU, with a CUDA build of torch.

Used by benchmarks/triton_check.py only. Inductor asks the CUDA runtime for the device's properties, its
current stream and random state while it compiles, and Triton asks its driver for the target; here the
answers are an H100's (compute capability 9.0, 132 multiprocessors), given only within `stand_in()`, and
the compiled kernels are kept as machine code (cubin), never loaded. Tensors on the device are fake
(torch's FakeTensorMode: shapes, dtypes and strides, no data). A CPU build of torch cannot hold them: its
Python bindings refuse a CUDA tensor before any fake dispatch (indexing, out=). Every name patched here is
private to torch or Triton: written against torch 2.11 with Triton 3.6, what the lent GPU machines carry.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import types
from collections.abc import Callable, Iterator
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map

H100 = types.SimpleNamespace(
    name="NVIDIA H100 80GB HBM3 (stand-in)",
    major=9,
    minor=0,
    multi_processor_count=132,
    max_threads_per_multi_processor=2048,
    max_threads_per_block=1024,
    regs_per_multiprocessor=65536,
    warp_size=32,
    total_memory=80 * 2**30,
    L2_cache_size=50 * 2**20,
    shared_memory_per_block=49_152,
    shared_memory_per_block_optin=232_448,
    shared_memory_per_multiprocessor=233_472,
    gcnArchName="",
    is_integrated=False,
    is_multi_gpu_board=False,
)
TARGET = ("cuda", 90, 32)  # Triton's GPUTarget: backend, compute capability, warp size


def available() -> str:
    """Triton's version where this torch can stand in for a GPU (a CUDA build, with Triton), else a one-line
    error saying what is missing."""
    if torch.version.cuda is None:
        raise SystemExit(
            f"torch {torch.__version__} is a CPU build: the Triton check needs a CUDA build (no GPU needed), "
            "as `make triton-check` installs in .venv-cuda-<version>"
        )
    try:
        import triton
    except ImportError as error:
        raise SystemExit(f"triton is not importable ({error}): the Triton check needs it") from None
    return str(triton.__version__)


def _none(*_: Any, **__: Any) -> None:
    return None


def _zero(*_: Any, **__: Any) -> int:
    return 0


def _properties(*_: Any, **__: Any) -> types.SimpleNamespace:
    return H100


def _driver() -> Any:
    """Triton's CUDA driver answering for the stand-in: the target, device 0, stream 0. A subclass of
    Triton's own, since inductor's generated code checks that the active driver is one."""
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.driver import CudaDriver

    class StandIn(CudaDriver):
        def __init__(self) -> None:  # the real one loads libcuda
            pass

        def get_current_target(self) -> GPUTarget:
            return GPUTarget(*TARGET)

        def get_current_device(self) -> int:
            return 0

        def get_current_stream(self, device: int | None = None) -> int:
            return 0

        def get_active_torch_device(self) -> torch.device:
            return torch.device("cuda", 0)

        def get_device_interface(self) -> Any:
            return torch.cuda

        @staticmethod
        def is_active() -> bool:
            return True

    return StandIn()


class _OnTheCpu(TorchDispatchMode):
    """Runs on the CPU an operation asked of the GPU: inductor's constant folding computes a constant's
    value for real (a one-element tensor), which only its value leaves behind."""

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        def cpu(value: Any) -> Any:
            return torch.device("cpu") if isinstance(value, torch.device) and value.type == "cuda" else value

        args, kwargs = tree_map(cpu, (args, kwargs or {}))
        return func(*args, **kwargs)


def _folding_on_the_cpu(run_node: Callable[..., Any]) -> Callable[..., Any]:
    def run(self: Any, node: Any) -> Any:
        with _OnTheCpu():
            return run_node(self, node)

    return run


def _patches(compile_triton: Callable[..., Any]) -> list[tuple[Any, str, Any]]:
    """(object, attribute, stand-in) for every question inductor asks of CUDA while it compiles, and its
    Triton compile (`compile_triton` in place of AsyncCompile.triton)."""
    import torch._dynamo.device_interface as device_interface
    import torch._inductor.async_compile as async_compile
    import torch._inductor.constant_folding as constant_folding
    import torch._inductor.fx_passes.joint_graph as joint_graph
    import torch._inductor.scheduler as scheduler
    import torch.cuda.random

    cuda = {
        "is_available": lambda: True,
        "is_initialized": lambda: True,
        "device_count": lambda: 1,
        "current_device": _zero,
        "set_device": _none,
        "get_device_properties": _properties,
        "get_device_capability": lambda *_: (H100.major, H100.minor),
        "get_device_name": lambda *_: H100.name,
        "_lazy_init": _none,
        "_exchange_device": _zero,
        "_maybe_exchange_device": _zero,
        "synchronize": _none,
        "is_bf16_supported": lambda *_, **__: True,
        "memory_allocated": _zero,
    }
    rng = {"get_rng_state": lambda *_, **__: torch.zeros(16, dtype=torch.uint8), "set_rng_state": _none}
    # Inductor's device interface holds its own references to torch.cuda's functions: the same answers.
    interface = {name: cuda[name] for name in ("current_device", "set_device", "device_count", "synchronize")}
    interface |= {
        name: cuda[name] for name in ("get_device_properties", "is_bf16_supported", "memory_allocated")
    }
    interface |= {"exchange_device": _zero, "maybe_exchange_device": _zero, "get_raw_stream": _zero}
    lazy_init = joint_graph.lazy_init  # registers patterns by tracing examples on the device: on the CPU
    return [
        *((torch.cuda, name, value) for name, value in {**cuda, **rng}.items()),
        *((torch.cuda.random, name, value) for name, value in rng.items()),
        *((device_interface.CudaInterface, name, staticmethod(value)) for name, value in interface.items()),
        (scheduler, "has_triton", lambda: True),
        (joint_graph, "lazy_init", lambda *_: lazy_init(torch.device("cpu"))),
        (torch._C, "_cuda_getCurrentRawStream", _zero),
        (
            constant_folding.ConstantFolder,
            "run_node",
            _folding_on_the_cpu(constant_folding.ConstantFolder.run_node),
        ),
        (async_compile.AsyncCompile, "triton", compile_triton),
    ]


@contextlib.contextmanager
def _patched(patches: list[tuple[Any, str, Any]]) -> Iterator[None]:
    """Each (object, attribute, value) set within the block, and put back after (a class's own attribute as
    it was stored: a staticmethod stays one; an attribute that was missing is removed again)."""
    missing = object()
    saved = [
        (
            owner,
            name,
            owner.__dict__.get(name, missing) if isinstance(owner, type) else getattr(owner, name, missing),
        )
        for owner, name, _ in patches
    ]
    try:
        for owner, name, value in patches:
            setattr(owner, name, value)
        yield
    finally:
        for owner, name, value in reversed(saved):
            if value is missing:
                delattr(owner, name)
            else:
                setattr(owner, name, value)


def _empty_strided_cpu(size: Any, stride: Any, dtype: torch.dtype) -> torch.Tensor:
    return torch.empty_strided(size, stride, dtype=dtype, device="cpu")


class _InterpretedLibdevice(types.ModuleType):
    """CUDA's libdevice as Triton's interpreter can run it, which has no form of an external function:
    each function is its namesake of triton.language.math, which the interpreter runs in NumPy."""

    def __getattr__(self, name: str) -> Any:
        import triton.language as tl

        if hasattr(tl.math, name):
            return getattr(tl.math, name)
        raise AttributeError(f"libdevice.{name} has no form in Triton's interpreter (no tl.math.{name})")


@contextlib.contextmanager
def stand_in(compile_triton: Callable[..., Any], interpreting: bool = False) -> Iterator[None]:
    """Within this block CUDA answers as an H100 and inductor hands each Triton kernel it writes to
    `compile_triton(async_compile, kernel_name, source_code, device_str)`. The code inductor writes takes
    its buffers from the CPU, so that it can run there on the CPU's tensors (see `running`); `interpreting`
    (in a process with TRITON_INTERPRET=1), the kernels it loads call libdevice's functions in NumPy."""
    import torch._inductor.config as inductor_config
    import torch._inductor.runtime.triton_helpers as triton_helpers
    from triton.runtime.driver import driver

    patches = _patches(compile_triton)
    patches += [
        (driver, "_active", _driver()),
        (torch._C._dynamo.guards, "_empty_strided_cuda", _empty_strided_cpu),
    ]
    if interpreting:
        patches.append((triton_helpers, "libdevice", _InterpretedLibdevice("libdevice")))
    with _patched(patches), inductor_config.patch(compile_threads=1):
        yield


@contextlib.contextmanager
def running() -> Iterator[None]:
    """Within this block, code inductor wrote for the stand-in runs on the CPU's tensors: it selects no
    device, and its Triton kernels, loaded with TRITON_INTERPRET=1, run in Triton's interpreter."""
    patches = [
        (torch.cuda, "_DeviceGuard", contextlib.nullcontext),
        (torch.cuda, "set_device", _none),
        (torch.cuda, "synchronize", _none),
    ]
    with _patched(patches):
        yield


def fake_like(
    value: Any, mode: Any, back: dict[int, torch.Tensor] | None = None, memo: dict[int, Any] | None = None
) -> Any:
    """`value` with every tensor in it replaced by a fake one on the stand-in GPU (same shape, strides,
    offset and dtype; views of one storage become views of several) and every torch.device by the GPU:
    tensors, containers, dataclasses, and this project's objects (an engine, its rules and records),
    copied, never changed. Anything else is kept as it is. `back`, if given, gets each fake tensor's
    original, by the fake's id."""
    memo = {} if memo is None else memo
    if id(value) in memo:
        return memo[id(value)]

    def like(item: Any) -> Any:
        return fake_like(item, mode, back, memo)

    if isinstance(value, torch.Tensor):
        with mode:  # a view keeps its offset into its storage (inductor reads alignment off it)
            size = value.untyped_storage().nbytes() // value.element_size()
            storage = torch.empty(size, dtype=value.dtype, device="cuda")
            result: Any = storage.as_strided(tuple(value.shape), value.stride(), value.storage_offset())
        if back is not None:
            back[id(result)] = value
    elif isinstance(value, torch.device):
        result = torch.device("cuda", 0) if value.type == "cpu" else value
    elif isinstance(value, dict):
        result = type(value)((key, like(item)) for key, item in value.items())
    elif isinstance(value, tuple) and hasattr(value, "_fields"):
        result = type(value)(*(like(item) for item in value))
    elif isinstance(value, (list, tuple)):
        result = type(value)(like(item) for item in value)
    elif _ours(value):
        result = copy.copy(value)
        memo[id(value)] = result
        names = (
            [f.name for f in dataclasses.fields(value)]
            if dataclasses.is_dataclass(value)
            else list(getattr(value, "__dict__", {}))
        )
        for name in names:
            object.__setattr__(result, name, like(getattr(value, name)))
        return result
    else:
        return value
    memo[id(value)] = result
    return result


def _ours(value: Any) -> bool:
    """Whether `value` is an instance of a class of this project's (models/), whose tensors a kernel reads."""
    module = type(value).__module__
    if module.split(".")[0] != "models" or isinstance(value, type):
        return False
    return dataclasses.is_dataclass(value) or hasattr(value, "__dict__")
