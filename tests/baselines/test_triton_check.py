"""The Triton check (benchmarks/triton_check.py): what can be checked of it without a GPU or a CUDA build of
torch. Its cases reach every kernel of the lab's, its stand-ins are the kernels' arguments on the GPU,
what it patches is put back, it compares numbers bit for bit, and its report fails where a kernel did in
either pass or was not reached. The passes themselves need a CUDA build of torch (`make triton-check`);
docs/gpu.md records their outcome."""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

from benchmarks import stand_in_gpu, triton_check
from models import speed


@dataclass
class _Record:  # fake_like copies the objects of models/' modules; this one pretends to be one
    values: torch.Tensor
    device: torch.device


_Record.__module__ = "models.example"


class _Pair(NamedTuple):
    first: torch.Tensor
    second: int


def test_the_cases_reach_every_kernel_of_the_lab() -> None:
    """Played as the check plays them (fused, each kernel handed to the compile function), the cases call
    every kernel the games' engines and the learners mark: a kernel added later without a case that reaches
    it fails here, before a GPU finds it refused. The process's own compiled kernels are left as they were."""
    reached: set[str] = set()

    def recording(fn: Any, own: dict[str, Any] | None = None) -> Any:
        reached.add(speed.kernel_name(fn))
        return fn

    before = dict(speed.COMPILED)
    with triton_check.compiling_with(recording):
        for played in triton_check.cases():
            triton_check.play(played, rounds=triton_check.ROUNDS)
    assert triton_check.registered() - reached == set()
    assert before == speed.COMPILED
    named = {name.rsplit(".", 1)[-1] for name in reached}
    assert {"_counts", "pairwise_counts", "hashed_draws", "value_update"} <= named


def test_stand_ins_are_the_arguments_on_the_gpu_without_their_data() -> None:
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    values = torch.arange(12, dtype=torch.int32).view(3, 4).t()  # strided, not contiguous
    shared = torch.zeros(5, dtype=torch.float64)
    offset = torch.arange(10.0)[3:7]
    record = _Record(values, torch.device("cpu"))
    arguments = (record, {"a": shared, "b": [shared, 3]}, _Pair(shared, 7), "name", offset)
    back: dict[int, torch.Tensor] = {}

    record_, mapping, pair, name, offset_ = stand_in_gpu.fake_like(arguments, mode, back)

    assert isinstance(record_.values, FakeTensor) and record_.values.device.type == "cuda"
    assert (record_.values.shape, record_.values.stride(), record_.values.dtype) == (
        values.shape,
        values.stride(),
        torch.int32,
    )
    assert (offset_.shape, offset_.storage_offset()) == ((4,), 3)
    assert record_.device == torch.device("cuda", 0)
    assert mapping["a"] is mapping["b"][0] is pair.first  # one stand-in per tensor, as aliases
    assert (mapping["b"][1], pair.second, name) == (3, 7, "name")
    assert back[id(record_.values)] is values and back[id(offset_)] is offset  # each stand-in's original
    assert record.values is values and record.device.type == "cpu"  # the originals untouched


class _Owner:
    @staticmethod
    def kept() -> str:
        return "kept"


def test_what_the_stand_in_patches_is_put_back_as_it_was() -> None:
    """A class's staticmethod stays one, a missing attribute goes again, a module's attribute comes back,
    after the block and after a failure in it: the process's own compiling finds torch as it was."""
    module = types.ModuleType("owner")
    module.value = 1  # type: ignore[attr-defined]
    stored = _Owner.__dict__["kept"]
    patches = [(_Owner, "kept", staticmethod(lambda: "patched")), (_Owner, "added", 2), (module, "value", 3)]
    with stand_in_gpu._patched(patches):
        assert (_Owner.kept(), _Owner.added, module.value) == ("patched", 2, 3)  # type: ignore[attr-defined]
    assert _Owner.__dict__["kept"] is stored and _Owner.kept() == "kept"
    assert not hasattr(_Owner, "added") and module.value == 1
    with pytest.raises(RuntimeError), stand_in_gpu._patched(patches):
        raise RuntimeError("a compile that fails")
    assert _Owner.__dict__["kept"] is stored and not hasattr(_Owner, "added") and module.value == 1


def test_inductors_constant_folding_runs_on_the_cpu_what_it_asks_of_the_gpu() -> None:
    with stand_in_gpu._OnTheCpu():
        folded = torch.ops.aten.full.default([1], 3, dtype=torch.int32, device=torch.device("cuda"))
    assert folded.device.type == "cpu" and folded.item() == 3


def test_a_cpu_build_of_torch_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(SystemExit, match="CPU build: the Triton check needs a CUDA build") as refused:
        stand_in_gpu.available()
    assert "\n" not in str(refused.value)


def test_the_numbers_are_compared_bit_for_bit() -> None:
    nan = torch.tensor([float("nan"), 0.0, 1.0])
    count = {"count": torch.tensor([3], dtype=torch.int32)}
    assert triton_check._difference((nan.clone(), count), (nan.clone(), count), {}) == ""
    assert "1 of 3 values" in triton_check._difference((torch.tensor([float("nan"), -0.0, 1.0]),), (nan,), {})
    widened = triton_check._difference((torch.tensor([3]),), (torch.tensor([3], dtype=torch.int32),), {})
    assert "torch.int64" in widened
    stand_in = torch.empty(3)  # an output dynamo passed through: its original is compared
    assert triton_check._difference((stand_in,), (nan,), {id(stand_in): nan}) == ""


def _pass(name: str, **kernel: Any) -> dict[str, Any]:
    found = {"name": "models.k", "cases": ["publication"], "graphs": 1, "compiled": 0, "calls": 0, "equal": 0}
    found |= {"errors": [], **kernel}
    found["passed"] = triton_check.Kernel(**found).passed(numbers=name == "numbers")
    return {
        "pass": name,
        "torch": "2.11.0+cu130",
        "triton": "3.6.0",
        "target": "sm_90",
        "seconds": 1.0,
        "kernels": [found],
        "not_reached": [],
    }


def test_a_kernel_passes_where_it_compiled_and_gave_eagers_numbers_at_each_call() -> None:
    compiled, equal = _pass("compile", compiled=2), _pass("numbers", calls=3, equal=3)
    report = triton_check.merge(compiled, equal)
    assert triton_check.passed(report)
    assert "| `k` | 1 | 2 | 3 / 3 | compiles; eager's numbers |" in triton_check.table(report)

    refused = _pass("compile", errors=["triton_red_0: CompilationError: Loop-carried variable _tmp6 ..."])
    assert not triton_check.passed(triton_check.merge(refused, equal))
    assert "Loop-carried variable _tmp6" in triton_check.table(triton_check.merge(refused, equal))
    assert not triton_check.passed(triton_check.merge(_pass("compile"), equal))  # Triton was given nothing
    differ = _pass("numbers", calls=3, equal=2, errors=["numbers differ from eager's: output 0 ..."])
    assert not triton_check.passed(triton_check.merge(compiled, differ))
    assert not triton_check.passed(triton_check.merge(compiled, _pass("numbers")))  # never run
    uncalled = triton_check.merge(compiled, _pass("numbers") | {"kernels": []})
    assert not triton_check.passed(uncalled)
    assert "not called in the numbers pass" in triton_check.table(uncalled)
    unreached = triton_check.merge(compiled, equal | {"not_reached": ["models.random_kernels.hashed_draws"]})
    assert not triton_check.passed(unreached)
    assert "Not reached by any case: models.random_kernels.hashed_draws" in triton_check.table(unreached)
