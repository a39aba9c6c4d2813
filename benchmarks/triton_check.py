"""Every fused kernel compiled for a GPU, on a machine without one: inductor's Triton code for an H100,
compiled by Triton to the GPU's machine code.

    make triton                           # once: Triton into .triton/ (a CPU build of torch lacks it)
    python -m benchmarks.triton_check     # every bench scenario and voting rule; --json for the table

Why: a kernel that Triton refuses makes a GPU process run every kernel eagerly (issue 23: `_counts`), and
GPUs are lent to few sessions. This plays each bench scenario's batch fused for a few rounds on the CPU, and
at every kernel call traces the kernel again on stand-ins of its arguments on the GPU (fake tensors: the
same shapes, strides and dtypes, no data; stand_in_gpu.py), so that every branch a kernel takes by device
takes the GPU's. Inductor writes that graph's Triton code with the settings a fused batch compiles under
(models.speed.compiler) and Triton compiles each kernel of it, through ptxas, for compute capability 9.0.

What it cannot tell: whether the GPU's numbers equal eager's, and how fast they come (nothing runs on a
GPU): the device check does (benchmarks/gpu_check.py, docs/gpu.md).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from benchmarks import stand_in_gpu
from benchmarks.suite import SCENARIOS, Case, game_params, learner_configs, on_kernels
from models import speed
from models.games import GAMES, get_game
from models.learners import resolve_learner
from models.random import HASHING_DRAWS
from models.simulate import build_batch

AGENTS, WORLDS, ROUNDS = 200, 2, 3  # a batch's size (the scenarios' grants need 100 labs) and rounds


@dataclass
class Kernel:
    """One of the lab's kernels (models.speed.kernel) as the check found it: the cases that called it,
    the graphs inductor wrote for it (a graph per set of guards dynamo keeps, as on a GPU), the Triton
    kernels of those graphs that compiled, and the errors: Triton's, or inductor's where it wrote none."""

    name: str
    cases: list[str] = field(default_factory=list)
    graphs: int = 0
    compiled: int = 0
    errors: list[str] = field(default_factory=list)

    def note(self, error: str) -> None:
        if error not in self.errors:
            self.errors.append(error)

    @property
    def ok(self) -> bool:
        return not self.errors and self.compiled > 0


_calling: ContextVar[Kernel | None] = ContextVar("calling", default=None)


def _compile_triton(_: Any, kernel_name: str, source_code: str, device_str: str = "cuda") -> Any:
    """In place of inductor's AsyncCompile.triton: compile the kernel's every launch configuration for the
    stand-in, to machine code, without loading it; note the outcome on the lab's kernel being traced."""
    from torch._inductor.async_compile import _load_triton_kernel_from_source

    kernel = _calling.get()
    assert kernel is not None, "a Triton kernel outside the lab's kernels"
    compiled = _load_triton_kernel_from_source(kernel_name, source_code)
    try:
        compiled.precompile(warm_cache_only=True)
        kernel.compiled += 1
    except Exception as error:  # Triton's refusal is the finding
        kernel.note(f"{kernel_name}: {type(error).__name__}: {_lines(error, last=3)}")
    return compiled


def _lines(error: Exception, last: int = 0) -> str:
    """The error's text on one line: its last `last` lines (Triton's, which end with the reason), or its
    first two (inductor's, which begin with it)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " | ".join(lines[-last:] if last else lines[:2])[:600]


class Checker:
    """Stands in for models.speed.compiler.compile_kernel while cases play: each kernel runs eagerly on the
    CPU (the batch goes on with eager's numbers) after its GPU stand-in has been traced and compiled."""

    def __init__(self) -> None:
        from torch._subclasses.fake_tensor import FakeTensorMode

        self.mode = FakeTensorMode(allow_non_fake_inputs=True)  # module constants: CPU scalars, as on a GPU
        self.kernels: dict[str, Kernel] = {}
        self.case = ""

    def compile_kernel(self, fn: Callable[..., Any], own: dict[str, Any] | None = None) -> Callable[..., Any]:
        from torch._inductor.compile_fx import compile_fx

        from models.speed import compiler

        name = fn.__qualname__
        record = self.kernels.setdefault(name, Kernel(name))
        options = compiler._known({**compiler.EAGER_NUMERICS, **compiler.SIZE_FREE, **(own or {})})

        def backend(gm: torch.fx.GraphModule, inputs: list[Any]) -> Callable[..., Any]:
            record.graphs += 1
            with stand_in_gpu.stand_in(_compile_triton):
                compile_fx(gm, inputs, config_patches=options)
            return _examples(gm)

        traced = torch.compile(fn, dynamic=True, backend=backend)

        def run(*args: Any) -> Any:
            if self.case not in record.cases:
                record.cases.append(self.case)
            token = _calling.set(record)
            try:
                traced(*stand_in_gpu.fake_like(args, self.mode))
            except Exception as error:  # inductor's own refusal, before any Triton
                record.note(f"{type(error).__name__}: {_lines(error)}")
            finally:
                _calling.reset(token)
            return fn(*args)

        return run


def _examples(gm: torch.fx.GraphModule) -> Callable[..., Any]:
    """In place of the graph: its outputs as dynamo traced them (fake tensors). Running the graph on the
    stand-ins would fail where it reads a value (a module constant's item()), and gives nothing more."""
    output = next(node for node in gm.graph.nodes if node.op == "output")
    examples = torch.fx.node.map_arg(output.args[0], lambda node: node.meta.get("example_value"))
    return lambda *_: examples


@dataclass(frozen=True)
class Played:
    """A batch the check plays: a bench case, and learners by role in place of its own."""

    label: str
    case: Case
    learners: dict[str, dict[str, Any]] = field(default_factory=dict)


def cases(quick: bool = False) -> list[Played]:
    """Each game at its defaults, every voting rule, every bench scenario whose parameters run on the
    accelerated engines (the reference rules have no kernels), a batch large enough for its draws to be
    hashed by a kernel (models.random.HASHING_DRAWS) and the epsilon-greedy Q-learners no scenario holds;
    `quick`: each game's defaults and one scenario."""
    chosen: list[Played] = []
    for game in GAMES:
        spec = get_game(game)
        variants = spec.params.params[spec.variants].choices if spec.variants else (None,)
        for rule in variants[:1] if quick else variants:
            chosen.append(
                Played(f"{game}{' ' + rule if rule else ''}", Case(game, "engine", AGENTS, WORLDS, rule))
            )
    for name in SCENARIOS:
        case = Case(SCENARIOS[name].game, "engine", AGENTS, WORLDS, None, name)
        if on_kernels(case) and (not quick or name == "institutions"):
            chosen.append(Played(name, case))
    if not quick:
        large = Case("publication", "engine", AGENTS, HASHING_DRAWS // AGENTS + 1, None, "institutions")
        chosen.append(Played(f"institutions, {large.worlds} worlds (draws hashed by a kernel)", large))
        greedy = {"researcher": {"kind": "q_learning", "exploration": "epsilon_greedy"}}
        chosen.append(
            Played("publication, epsilon-greedy", Case("publication", "engine", AGENTS, WORLDS), greedy)
        )
    return chosen


def play(played: Played, rounds: int = ROUNDS) -> None:
    """The batch fused for `rounds` rounds, as a study would run it (its kernels compiled by whatever
    models.speed.compiler.compile_kernel is)."""
    case = played.case
    params = game_params(case)
    learners = learner_configs(case, params)
    for role, config in played.learners.items():
        learners[role] = resolve_learner(dict(config), f"learners.{role}")
    batch = build_batch(case.game, [params] * case.worlds, learners, list(range(case.worlds)))
    batch.fused = True
    batch.kept = True  # nothing for the compile cache: these kernels compiled for no device here
    for _ in range(rounds):
        batch.round()


def registered() -> set[str]:
    """Every kernel of the lab's: those of every game's accelerated engines and of the learners."""
    import models.learners  # noqa: F401  (their kernels register as they are imported)

    for game in GAMES:
        for engine in get_game(game).accelerated:
            importlib.import_module(engine.split(":")[0])
    return set(speed.KERNELS)


@contextlib.contextmanager
def compiling_with(compile_kernel: Callable[..., Any]) -> Iterator[None]:
    """The lab's kernels compiled by `compile_kernel` (compiler.compile_kernel's signature), and inductor's
    caches in a directory of their own (the GPU's code must not reach the lab's compile cache), within the
    block; after it, the kernels this process had compiled before."""
    from models.speed import compiler

    before, cache = compiler.compile_kernel, os.environ.get("TORCHINDUCTOR_CACHE_DIR")
    compiled = dict(speed.COMPILED)
    with tempfile.TemporaryDirectory(prefix="triton_check_") as directory:
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = directory
        compiler.compile_kernel = compile_kernel
        speed.COMPILED.clear()
        try:
            yield
        finally:
            compiler.compile_kernel = before
            speed.COMPILED.clear()
            speed.COMPILED.update(compiled)  # the process's own compiled kernels, as they were
            if cache is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache


def check(quick: bool = False, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Every case played, its kernels checked: what was found of each, and on what versions."""
    triton_version = stand_in_gpu.available()
    checker = Checker()
    begun = time.perf_counter()
    with compiling_with(checker.compile_kernel):
        for played in cases(quick):
            progress(f"{played.label} ...")
            checker.case = played.label
            play(played)
    return {
        "torch": torch.__version__,
        "triton": triton_version,
        "target": f"sm_{stand_in_gpu.TARGET[1]}",
        "seconds": round(time.perf_counter() - begun, 1),
        "kernels": [asdict(kernel) | {"ok": kernel.ok} for kernel in checker.kernels.values()],
        "not_reached": sorted(registered() - set(checker.kernels)),
    }


def table(report: dict[str, Any]) -> str:
    """The report as a Markdown table, a kernel a row."""
    lines = [
        f"torch {report['torch']}, Triton {report['triton']}, target {report['target']} "
        f"({report['seconds']} s)",
        "",
        "| kernel | graphs | Triton kernels compiled | outcome |",
        "| --- | --- | --- | --- |",
    ]
    for kernel in report["kernels"]:
        outcome = "compiles" if kernel["ok"] else "; ".join(kernel["errors"]) or "no Triton kernel"
        lines.append(f"| `{kernel['name']}` | {kernel['graphs']} | {kernel['compiled']} | {outcome} |")
    if report["not_reached"]:
        lines += ["", f"Not reached by any case: {', '.join(report['not_reached'])}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.triton_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="each game's defaults and one scenario")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    report = check(args.quick, progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(json.dumps(report, indent=1) if args.json else table(report))
    return 0 if passed(report) else 1


def passed(report: dict[str, Any]) -> bool:
    """Whether every kernel was reached and every one compiled."""
    kernels = report["kernels"]
    return bool(kernels) and all(kernel["ok"] for kernel in kernels) and not report["not_reached"]


if __name__ == "__main__":
    sys.exit(main())
