"""Two mends of inductor's C++ code for a CPU: compiled integer kernels at the speed their arithmetic allows.

**Whole-vector loads.** Inductor's C++ code loads each vector as `Vectorized<T>::loadu(ptr, count)`, with
count the number of lanes even where the vector is whole. ATen's float vectors then take a plain load, but
its integer ones (torch 2.13, AVX2) always go through a stack buffer: fill it, memcpy into it, load it.
Written in two halves and read as one, the buffer stalls the CPU's store forwarding on every load. On 2
EPYC cores, one thread, `x + 1` of a million int32 took 1.05 ms compiled against 0.14 eagerly; with whole
loads, 0.23. The round's kernels read int32 counters, actions and outcomes, so the publication round at
1,000 x 1,000 took 45 ms fused as inductor writes it and 32 with whole loads. `use_whole_vector_loads`
has inductor write `loadu(ptr)` where the vector is whole and holds 32- or 64-bit values: the same lanes
are read, so the numbers are the same; tails, masked loads and narrower types keep their count (a whole
vector of int8 would read past the 8 lanes asked for).

**Integer sums.** A reduction ends by adding its vector accumulator's lanes, with ATen's
`vec_reduce_all`, whose only fast form is for float: for integers (and doubles) it goes lane by lane,
each step storing an array and loading it back as a vector, about 50 ns for one sum. A kernel summing
each of many short rows pays that per row and per sum: the publication tallies of 1,000 worlds of 100
researchers took 345 us, of which 7,000 lane sums made nearly all (74 us without them, 2 threads on
AVX-512). `use_plain_lane_sums` has inductor add
an integer accumulator's lanes as plain integers instead: integer addition is exact in any order, so the
numbers are the same. Float and double sums are left as they are (no kernel sums floats: compiled,
their order is not eager's).

`compiler.compile_kernel` compiles with `cache_key_options`, which applies both and keys the graphs apart,
so that graphs compiled without them, by an earlier version or another program, are never taken from
inductor's cache. The patched code generator writes the mended lines only while `applies()` is true (while
this package's kernels compile): another library's torch.compile in the same process gets stock C++.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch

# The torch releases whose inductor C++ code generator these mends were written against (major.minor): they
# rewrite lines of its output, so elsewhere they stay off (the speed layer as a whole supports more).
WRITTEN_FOR = ("2.13",)


def written_for(version: str) -> bool:
    """Whether the mends were written for this torch version."""
    return ".".join(version.split("+")[0].split(".")[:2]) in WRITTEN_FOR


_patched: dict[str, bool] = {}  # CppVecKernel method -> whether it is patched in this process
_applies: list[Callable[[], bool]] = [lambda: False]  # whether the mends apply to the code being written


def _patch_codegen(method: str, wrap: Callable[[Callable[..., Any]], Callable[..., Any]]) -> bool:
    """Replace inductor's CppVecKernel.<method> by wrap(original), once per process; False where this
    torch has no such code generator (kernels then compile as inductor writes them: slower, the same
    numbers)."""
    if method not in _patched:
        try:
            from torch._inductor.codegen import cpp
        except ImportError:
            cpp = None
        kernel_class = getattr(cpp, "CppVecKernel", None)
        original = getattr(kernel_class, method, None)
        _patched[method] = original is not None and hasattr(cpp, "cexpr_index")
        if _patched[method]:
            setattr(kernel_class, method, wrap(original))
    return _patched[method]


def use_whole_vector_loads() -> bool:
    """Have inductor load whole vectors without a count (see the module docstring), once per process."""

    def wrap(original: Callable[..., str]) -> Callable[..., str]:
        from torch._inductor.codegen.cpp import cexpr_index

        def vec_load_line(self: Any, var: str, index: Any, dtype: torch.dtype, load_mask: Any = None) -> str:
            line = original(self, var, index, dtype, load_mask)
            if not _applies[0]():
                return line
            count = f", {cexpr_index(self.num_elems)})"
            bits = self.num_elems * dtype.itemsize * 8
            whole = bits == self._get_num_vectors(dtype) * self.vec_isa.bit_width()
            if (
                self.tail_size is None
                and not load_mask
                and whole
                and "::loadu(" in line
                and line.endswith(count)
            ):
                return line[: -len(count)] + ")"
            return line

        return vec_load_line

    return _patch_codegen("_get_vec_load_line", wrap)


_LANE_SUM = re.compile(
    r"at::vec::vec_reduce_all<(?P<type>int32_t|int64_t), \d+>"
    r"\(\[\]\([^)]*\) \{ return x \+ y; \}, (?P<vector>.*)\);$"
)


def _plain_lane_sum(line: str) -> str:
    """A line ending with an integer vec_reduce_all of x + y, rewritten to add the lanes as integers."""
    match = _LANE_SUM.search(line)
    if match is None:
        return line
    kind, vector = match["type"], match["vector"]
    plain = (
        f"[&] {{ auto lanes_vec = {vector}; __at_align__ std::array<{kind}, decltype(lanes_vec)::size()> "
        f"lanes; lanes_vec.store(lanes.data()); {kind} sum = 0; for (auto lane : lanes) sum += lane; "
        "return sum; }()"
    )
    return line[: match.start()] + plain + ";"


def use_plain_lane_sums() -> bool:
    """Have inductor add integer accumulators' lanes as plain integers (see the module docstring), once
    per process."""

    def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
        def reduction(self: Any, *args: Any, **kwargs: Any) -> Any:
            lines = self.reduction_suffix._lines
            written = len(lines)
            result = original(self, *args, **kwargs)
            if not _applies[0]():
                return result
            for k in range(written, len(lines)):
                if isinstance(lines[k], str):
                    lines[k] = _plain_lane_sum(lines[k])
            return result

        return reduction

    return _patch_codegen("reduction", wrap)


def _cache_key_pass(mends: str) -> Any:
    """An empty post-grad pass whose uuid, naming the mends in use, keys inductor's cache apart from stock
    inductor's."""
    from torch._inductor.custom_graph_pass import CustomGraphPass

    class CppMends(CustomGraphPass):
        def __call__(self, graph: torch.fx.graph.Graph) -> None:
            """Changes nothing: the code is changed where C++ is written, not in the graph."""

        def uuid(self) -> str:
            return f"reward-design-lab: {mends}"

    return CppMends()


def cache_key_options(applies: Callable[[], bool]) -> dict[str, Any]:
    """The inductor options that key compiled graphs to the mends in use: {} where none is. The mends
    apply to the code inductor writes while `applies()` is true."""
    _applies[0] = applies
    if not written_for(torch.__version__):
        return {}  # stock C++: slower integer kernels, the same numbers
    applied = [
        ("whole vector loads, v1", use_whole_vector_loads()),
        ("plain lane sums, v1", use_plain_lane_sums()),
    ]
    mends = "; ".join(name for name, used in applied if used)
    if not mends:
        return {}
    try:
        return {"post_grad_custom_post_pass": _cache_key_pass(mends)}
    except ImportError:
        return {}
