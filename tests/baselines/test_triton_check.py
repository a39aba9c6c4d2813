"""The Triton check (benchmarks/triton_check.py): what it can be trusted for without a GPU or a CUDA build of
torch here. Its cases reach every kernel of the lab's, its stand-ins hold the kernels' arguments' shapes on
the GPU, and its report fails where a kernel failed or was not reached. The compiling itself needs a CUDA
build of torch (`make triton-check`); docs/gpu.md records its outcome."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode

from benchmarks import stand_in_gpu, triton_check
from models import speed


@dataclass
class _Record:  # a module of models/ is what fake_like copies; this one pretends to be
    values: torch.Tensor
    device: torch.device


_Record.__module__ = "models.example"


class _Pair(NamedTuple):
    first: torch.Tensor
    second: int


def test_the_cases_reach_every_kernel_of_the_lab() -> None:
    """Played as the check plays them (fused, each kernel handed to the compile function), the cases call
    every kernel the games' engines and the learners mark: a kernel added later without a case that reaches
    it fails here, before a GPU finds it refused."""
    reached: set[str] = set()

    def recording(fn: Any, own: dict[str, Any] | None = None) -> Any:
        reached.add(fn.__qualname__)
        return fn

    before = dict(speed.COMPILED)
    with triton_check.compiling_with(recording):
        for played in triton_check.cases():
            triton_check.play(played, rounds=triton_check.ROUNDS)
    assert triton_check.registered() - reached == set()
    assert before == speed.COMPILED  # the process's later fused batches compile for real
    assert {"PublicationKernels._counts", "pairwise_counts", "hashed_draws", "value_update"} <= reached


def test_stand_ins_are_the_arguments_on_the_gpu_without_their_data() -> None:
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    values = torch.arange(12, dtype=torch.int32).view(3, 4).t()  # strided, not contiguous
    shared = torch.zeros(5, dtype=torch.float64)
    record = _Record(values, torch.device("cpu"))
    arguments = (record, {"a": shared, "b": [shared, 3]}, _Pair(shared, 7), "name")

    record_, mapping, pair, name = stand_in_gpu.fake_like(arguments, mode)

    assert isinstance(record_.values, FakeTensor) and record_.values.device.type == "cuda"
    assert (record_.values.shape, record_.values.stride(), record_.values.dtype) == (
        values.shape,
        values.stride(),
        torch.int32,
    )
    assert record_.device == torch.device("cuda", 0)
    assert mapping["a"] is mapping["b"][0] is pair.first  # one stand-in per tensor, as aliases
    assert (mapping["b"][1], pair.second, name) == (3, 7, "name")
    assert record.values is values and record.device.type == "cpu"  # the originals untouched


def test_inductors_constant_folding_runs_on_the_cpu_what_it_asks_of_the_gpu() -> None:
    with stand_in_gpu._OnTheCpu():
        folded = torch.ops.aten.full.default([1], 3, dtype=torch.int32, device=torch.device("cuda"))
    assert folded.device.type == "cpu" and folded.item() == 3


def test_a_cpu_build_of_torch_is_refused_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.version, "cuda", None)
    with pytest.raises(SystemExit, match="CPU build: the Triton check needs a CUDA build") as refused:
        stand_in_gpu.available()
    assert "\n" not in str(refused.value)


def _report(**kernel: Any) -> dict[str, Any]:
    found = {"name": "k", "cases": ["publication"], "graphs": 1, "compiled": 2, "errors": [], **kernel}
    found["ok"] = triton_check.Kernel(**{k: v for k, v in found.items() if k != "ok"}).ok
    return {
        "torch": "2.11.0+cu130",
        "triton": "3.6.0",
        "target": "sm_90",
        "seconds": 1.0,
        "kernels": [found],
        "not_reached": [],
    }


def test_the_report_fails_on_a_refused_or_unreached_kernel() -> None:
    assert triton_check.passed(_report())
    refused = _report(errors=["triton_red_0: CompilationError: Loop-carried variable _tmp6 ..."])
    assert not triton_check.passed(refused)
    assert "Loop-carried variable _tmp6" in triton_check.table(refused)
    assert not triton_check.passed(_report(compiled=0))  # traced, but Triton was given nothing
    unreached = _report() | {"not_reached": ["hashed_draws"]}
    assert not triton_check.passed(unreached)
    assert "Not reached by any case: hashed_draws" in triton_check.table(unreached)
