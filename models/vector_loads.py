"""Whole-vector loads in inductor's C++ kernels: compiled integer arithmetic at the speed of eager's.

Inductor's C++ code loads each vector as `Vectorized<T>::loadu(ptr, count)`, with count the number of lanes
even where the vector is whole. ATen's float vectors then take a plain load, but its integer ones (torch
2.13, AVX2) always go through a stack buffer: fill it, memcpy into it, load it. Written in two halves and
read as one, the buffer stalls the CPU's store forwarding on every load. On 2 EPYC cores, one thread,
`x + 1` of a million int32 took 1.05 ms compiled against 0.14 eagerly; with whole loads, 0.23. The
round's kernels read int32 counters, actions and outcomes, so the publication round at 1,000 x 1,000
took 45 ms fused as inductor writes it and 32 with whole loads.

`use_whole_vector_loads` has inductor write `loadu(ptr)` where the vector is whole and holds 32- or
64-bit values: the same lanes are read, so the numbers are the same; tails, masked loads and narrower
types keep their count (a whole vector of int8 would read past the 8 lanes asked for). `kernel` compiles
with `cache_key_options`, which applies them and keys the graphs apart, so that graphs compiled without
whole loads, by an earlier version or another program, are never taken from inductor's cache.
"""

from __future__ import annotations

from typing import Any

import torch

_applied: list[bool] = []


def use_whole_vector_loads() -> bool:
    """Patch inductor's C++ vector loads once per process; False where this torch has no such code
    generator (kernels then compile as inductor writes them: slower, the same numbers)."""
    if _applied:
        return _applied[0]
    try:
        from torch._inductor.codegen import cpp
    except ImportError:
        _applied.append(False)
        return False
    kernel_class = getattr(cpp, "CppVecKernel", None)
    original = getattr(kernel_class, "_get_vec_load_line", None)
    if original is None or not hasattr(cpp, "cexpr_index"):
        _applied.append(False)
        return False

    def vec_load_line(self: Any, var: str, index: Any, dtype: torch.dtype, load_mask: Any = None) -> str:
        line = original(self, var, index, dtype, load_mask)
        count = f", {cpp.cexpr_index(self.num_elems)})"
        whole = self.num_elems * dtype.itemsize * 8 == self._get_num_vectors(dtype) * self.vec_isa.bit_width()
        if self.tail_size is None and not load_mask and whole and "::loadu(" in line and line.endswith(count):
            return line[: -len(count)] + ")"
        return line

    kernel_class._get_vec_load_line = vec_load_line
    _applied.append(True)
    return True


def _cache_key_pass() -> Any:
    """An empty post-grad pass whose uuid keys inductor's cache apart from stock inductor's."""
    from torch._inductor.custom_graph_pass import CustomGraphPass

    class WholeVectorLoads(CustomGraphPass):
        def __call__(self, graph: torch.fx.graph.Graph) -> None:
            """Changes nothing: the loads are changed where C++ is written, not in the graph."""

        def uuid(self) -> str:
            return "reward-design-lab: whole vector loads, v1"

    return WholeVectorLoads()


def cache_key_options() -> dict[str, Any]:
    """The inductor options that key compiled graphs to whole loads: {} unless they are in use."""
    if not use_whole_vector_loads():
        return {}
    try:
        return {"post_grad_custom_post_pass": _cache_key_pass()}
    except ImportError:
        return {}
