"""Every fused kernel compiled for a GPU, and its GPU code run against eager's numbers, on a machine
without a GPU: inductor's Triton code for an H100, compiled by Triton to the GPU's machine code, then run
by Triton's interpreter on the CPU.

    make triton-check                     # a CUDA build of torch into .venv-cuda-<version>, then this
    python -m benchmarks.triton_check     # (in such a venv) both passes; --json for the report

Why: a kernel that Triton refuses makes a GPU process run every kernel eagerly (issue 23: `_counts`), and
GPUs are lent to few sessions. This plays each game, voting rule and bench scenario fused for a few rounds
on the CPU, and at every kernel call traces the kernel again on stand-ins of its arguments on the GPU
(fake tensors: the same shapes, strides, offsets and dtypes, no data; stand_in_gpu.py), so that every
branch a kernel takes by device takes the GPU's. Inductor writes that graph's code for the GPU with the
settings a fused batch compiles under (models.speed.compiler). Two passes, each in a process of its own:

- compile: Triton compiles each kernel of it, every launch configuration, through ptxas, for compute
  capability 9.0, never loaded;
- numbers (TRITON_INTERPRET=1): the code inductor wrote runs on the call's own CPU tensors, its Triton
  kernels in Triton's interpreter at their first launch configuration (NumPy, with the kernels' dtypes
  and operations; libdevice's functions as NumPy's; any aten call among them as the CPU's), and its
  outputs are compared bit for bit with those of the kernel's function run eagerly.

What it cannot tell: how fast the GPU is, and whether the GPU's own arithmetic (its exp2, its reductions'
order across threads) gives the interpreter's numbers: the device check does (benchmarks/gpu_check.py,
docs/gpu.md).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import types
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch.utils._pytree import tree_flatten

from benchmarks import stand_in_gpu
from benchmarks.suite import SCENARIOS, Case, default_batch, on_kernels
from models import speed
from models.games import GAMES, get_game
from models.learners import resolve_learner
from models.random import HASHING_DRAWS

AGENTS, WORLDS, ROUNDS = 200, 2, 3  # a batch's size (the scenarios' grants need 100 labs) and rounds


@dataclass
class Kernel:
    """One of the lab's kernels (models.speed.kernel) as the check found it: the cases that called it,
    the graphs inductor wrote for it (a graph per set of guards dynamo keeps, as on a GPU), the Triton
    kernels of those graphs that compiled, the calls whose interpreted Triton code gave eager's numbers
    bit for bit, and the errors: Triton's, inductor's, or the numbers that differed."""

    name: str
    cases: list[str] = field(default_factory=list)
    graphs: int = 0
    compiled: int = 0  # the compiling pass's
    calls: int = 0  # the numbers pass's: calls run, and those that gave eager's numbers
    equal: int = 0
    errors: list[str] = field(default_factory=list)

    def note(self, error: str) -> None:
        if error not in self.errors:
            self.errors.append(error)

    def passed(self, numbers: bool) -> bool:
        """Whether its pass found nothing wrong: each Triton kernel compiled (and there was one), or each
        call gave eager's numbers."""
        return not self.errors and (
            self.calls > 0 and self.equal == self.calls if numbers else self.compiled > 0
        )


_calling: ContextVar[Kernel | None] = ContextVar("calling", default=None)


def _compile_triton(_: Any, kernel_name: str, source_code: str, device_str: str = "cuda") -> Any:
    """In place of inductor's AsyncCompile.triton. Compiling: compile the kernel's every launch
    configuration for the stand-in, to machine code, never loaded, and note the outcome on the lab's kernel
    being traced. Interpreting (TRITON_INTERPRET=1): the kernel as inductor loads it there, which runs in
    Triton's interpreter, on the CPU, in NumPy, with the kernel's dtypes and operations."""
    from torch._inductor.async_compile import _load_triton_kernel_from_source

    kernel = _calling.get()
    assert kernel is not None, "a Triton kernel outside the lab's kernels"
    loaded = _load_triton_kernel_from_source(kernel_name, source_code)
    if interpreting():
        return loaded
    try:
        loaded.precompile(warm_cache_only=True)
        kernel.compiled += 1
    except Exception as error:  # Triton's refusal is the finding
        kernel.note(f"{kernel_name}: {type(error).__name__}: {_lines(error, last=3)}")
    return loaded


def interpreting() -> bool:
    """Whether this process's Triton functions run in Triton's interpreter: TRITON_INTERPRET=1, which must
    be set before Triton is imported (its own library's functions are made then)."""
    return os.environ.get("TRITON_INTERPRET", "0").lower() in ("1", "true", "on", "yes")


def _lines(error: Exception, last: int = 0) -> str:
    """The error's text on one line: its last `last` lines (Triton's, which end with the reason), or its
    first two (inductor's, which begin with it)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return " | ".join(lines[-last:] if last else lines[:2])[:600]


class Checker:
    """Stands in for models.speed.compiler.compile_kernel while cases play. At each call of a kernel, its
    GPU stand-in is traced and compiled (the first time, and again where dynamo's guards ask); in the
    numbers pass, the code inductor wrote for the GPU then runs on the call's own CPU tensors with its
    Triton kernels interpreted, and its outputs are held against the kernel's eager ones. The batch goes on
    with eager's."""

    def __init__(self) -> None:
        from torch._subclasses.fake_tensor import FakeTensorMode

        self.mode = FakeTensorMode(allow_non_fake_inputs=True)  # module constants: CPU scalars, as on a GPU
        self.numbers = interpreting()
        self.kernels: dict[str, Kernel] = {}
        self.case = ""
        self.back: dict[int, torch.Tensor] = {}  # the call's fake tensors' originals, by the fake's id

    def compile_kernel(self, fn: Callable[..., Any], own: dict[str, Any] | None = None) -> Callable[..., Any]:
        from torch._inductor.compile_fx import compile_fx

        from models.speed import compiler

        record = self.kernels.setdefault(speed.kernel_name(fn), Kernel(speed.kernel_name(fn)))
        # Every graph written anew (a graph met before would come from the cache, its kernels unchecked).
        options = {
            **compiler._known({**compiler.EAGER_NUMERICS, **compiler.SIZE_FREE, **(own or {})}),
            "fx_graph_cache": False,
        }

        def backend(gm: torch.fx.GraphModule, inputs: list[Any]) -> Callable[..., Any]:
            record.graphs += 1
            with stand_in_gpu.stand_in(_compile_triton, self.numbers):
                compiled = compile_fx(gm, inputs, config_patches=options)
            if not self.numbers:
                return _examples(gm)

            def on_the_cpu(*args: Any) -> Any:  # dynamo hands it the stand-ins: it runs their originals
                with stand_in_gpu.running():
                    return compiled(*(self.back.get(id(arg), arg) for arg in args))

            return on_the_cpu

        # A copy of the function's code, so that dynamo keeps these graphs apart from the process's own
        # compiled kernels (it caches, and limits recompiles, by code object). One graph a call: a graph
        # break would leave part of a kernel eager, and the numbers pass would trace its rest on the CPU.
        traced = torch.compile(_copy(fn), dynamic=True, fullgraph=True, backend=backend)

        def run(*args: Any) -> Any:
            if self.case not in record.cases:
                record.cases.append(self.case)
            expected = fn(*args)  # what the batch goes on with: eager's numbers, whatever is found
            token, outer = _calling.set(record), self.back
            self.back = {}
            try:
                got = traced(*stand_in_gpu.fake_like(args, self.mode, self.back))
                if self.numbers:
                    record.calls += 1
                    difference = _difference(got, expected, self.back)
                    if difference:
                        record.note(f"numbers differ from eager's: {difference}")
                    else:
                        record.equal += 1
            except Exception as error:  # inductor's refusal, a graph break, the interpreter's
                record.note(f"{type(error).__name__}: {_lines(error)}")
            finally:
                _calling.reset(token)
                self.back = outer
            return expected

        return run


def _copy(fn: Callable[..., Any]) -> Callable[..., Any]:
    """The function again, with a code object of its own."""
    copied = types.FunctionType(
        fn.__code__.replace(), fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__
    )
    copied.__kwdefaults__ = fn.__kwdefaults__
    copied.__qualname__ = fn.__qualname__
    return copied


def _examples(gm: torch.fx.GraphModule) -> Callable[..., Any]:
    """In place of the graph, in the compiling pass: its outputs as dynamo traced them (fake tensors)."""
    output = next(node for node in gm.graph.nodes if node.op == "output")
    examples = torch.fx.node.map_arg(output.args[0], lambda node: node.meta.get("example_value"))
    return lambda *_: examples


def _difference(got: Any, expected: Any, back: dict[int, torch.Tensor]) -> str:
    """Where the interpreted GPU code's outputs differ from eager's ('' where they are the same bits): a
    stand-in dynamo passed through is its original."""
    got_leaves, got_shape = tree_flatten(got)
    expected_leaves, expected_shape = tree_flatten(expected)
    if got_shape != expected_shape:
        return f"outputs shaped {got_shape}, eager's {expected_shape}"
    for place, (a, b) in enumerate(zip(got_leaves, expected_leaves, strict=True)):
        a = back.get(id(a), a)
        if not isinstance(b, torch.Tensor):
            if a != b:
                return f"output {place}: {a!r}, eager's {b!r}"
        elif (a.dtype, a.shape) != (b.dtype, b.shape):
            return f"output {place}: {a.dtype} {tuple(a.shape)}, eager's {b.dtype} {tuple(b.shape)}"
        elif not torch.equal(_bits(a), _bits(b)):
            wrong = (_bits(a) != _bits(b)).sum().item()
            return f"output {place} ({b.dtype} {tuple(b.shape)}): {wrong} of {b.numel()} values"
    return ""


def _bits(x: torch.Tensor) -> torch.Tensor:
    """The tensor's bits as integers, so that equal means the same bits (NaNs and signed zeros too)."""
    if not x.is_floating_point():
        return x
    return x.contiguous().view({8: torch.int64, 4: torch.int32, 2: torch.int16}[x.element_size()])


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
    learners = {role: resolve_learner(dict(c), f"learners.{role}") for role, c in played.learners.items()}
    batch = default_batch(played.case, learners=learners)
    batch.fused = True
    batch.kept = True  # nothing for the compile cache: these kernels compiled for no device here
    for _ in range(rounds):
        batch.round()


def registered() -> set[str]:
    """Every kernel of the lab's: those of every game's accelerated engines and of the learners."""
    import models.learners  # noqa: F401  (their kernels register as they are imported)

    for game in GAMES:
        get_game(game).accelerated_engines()
    return {name for name in speed.KERNELS if name.startswith("models.")}


@contextlib.contextmanager
def compiling_with(compile_kernel: Callable[..., Any]) -> Iterator[None]:
    """The lab's kernels compiled by `compile_kernel` (compiler.compile_kernel's signature), in inductor's
    caches of their own (the GPU's code must not reach the lab's compile cache), within the block; after
    it, the kernels this process had compiled before, and its compiling as it was."""
    from torch._inductor.utils import fresh_cache

    from models.speed import compiler

    before, compiled, unavailable = compiler.compile_kernel, dict(speed.COMPILED), list(speed._unavailable)
    # A kernel past dynamo's recompile limit, or whose compile fails, raises (where dynamo would otherwise
    # run it eagerly, unchecked, on the stand-ins).
    strict = torch._dynamo.config.patch(fail_on_recompile_limit_hit=True, suppress_errors=False)
    with fresh_cache(), strict:
        compiler.compile_kernel = compile_kernel
        speed.COMPILED.clear()
        speed._unavailable.clear()
        try:
            yield
        finally:
            compiler.compile_kernel = before
            speed.COMPILED.clear()
            speed.COMPILED.update(compiled)
            speed._unavailable[:] = unavailable


PASSES = ("compile", "numbers")


def check(quick: bool = False, progress: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """This process's pass (numbers where `interpreting()`, else compile) over every case: what was found
    of each kernel, and on what versions."""
    triton_version = stand_in_gpu.available()
    checker = Checker()
    begun = time.perf_counter()
    with compiling_with(checker.compile_kernel):
        for played in cases(quick):
            progress(f"{played.label} ...")
            checker.case = played.label
            play(played)
    return {
        "pass": PASSES[checker.numbers],
        "torch": torch.__version__,
        "triton": triton_version,
        "target": f"sm_{stand_in_gpu.TARGET[1]}",
        "seconds": round(time.perf_counter() - begun, 1),
        "kernels": [
            asdict(kernel) | {"passed": kernel.passed(checker.numbers)} for kernel in checker.kernels.values()
        ],
        "not_reached": sorted(registered() - set(checker.kernels)),
    }


def both(quick: bool = False) -> dict[str, Any]:
    """The two passes, each in a process of its own (the interpreter is chosen before Triton is imported),
    their progress on stderr, merged: a kernel passes where it passed both."""
    reports = {}
    for name in PASSES:
        env = {key: value for key, value in os.environ.items() if key != "TRITON_INTERPRET"}
        if name == "numbers":
            env["TRITON_INTERPRET"] = "1"
        command = [
            sys.executable,
            "-m",
            "benchmarks.triton_check",
            "--pass",
            name,
            *(["--quick"] * quick),
        ]
        done = subprocess.run(command, env=env, stdout=subprocess.PIPE, text=True, check=False)
        try:
            reports[name] = json.loads(done.stdout)
        except json.JSONDecodeError:
            reports[name] = None
        if done.returncode != 0 or not isinstance(reports[name], dict):
            raise SystemExit(
                f"the Triton check's {name} pass did not finish (exit {done.returncode}): see above"
            )
    return merge(reports["compile"], reports["numbers"])


def merge(compiling: dict[str, Any], numbers: dict[str, Any]) -> dict[str, Any]:
    """One report of the two passes' (check's), a kernel a row."""
    kernels: dict[str, dict[str, Any]] = {}
    for report in (compiling, numbers):
        for found in report["kernels"]:
            row = kernels.setdefault(
                found["name"], {**asdict(Kernel(found["name"])), "passes": [], "seen": []}
            )
            row["cases"] = sorted(set(row["cases"]) | set(found["cases"]))
            row["graphs"] = max(row["graphs"], found["graphs"])
            for key in ("compiled", "calls", "equal"):
                row[key] += found[key]
            row["errors"] += [f"{report['pass']}: {error}" for error in found["errors"]]
            if found["passed"]:
                row["passes"].append(report["pass"])
            row["seen"].append(report["pass"])
    for row in kernels.values():
        row["errors"] += [f"not called in the {name} pass" for name in PASSES if name not in row["seen"]]
        row["ok"] = set(row.pop("passes")) == set(PASSES)
        del row["seen"]
    return {
        "torch": compiling["torch"],
        "triton": compiling["triton"],
        "target": compiling["target"],
        "seconds": {report["pass"]: report["seconds"] for report in (compiling, numbers)},
        "kernels": list(kernels.values()),
        "not_reached": sorted(set(compiling["not_reached"]) | set(numbers["not_reached"])),
    }


def table(report: dict[str, Any]) -> str:
    """The merged report as a Markdown table, a kernel a row."""
    seconds = ", ".join(f"{name} {value} s" for name, value in report["seconds"].items())
    lines = [
        f"torch {report['torch']}, Triton {report['triton']}, target {report['target']} ({seconds})",
        "",
        "| kernel | graphs | Triton kernels compiled | calls interpreted: eager's numbers / all | outcome |",
        "| --- | --- | --- | --- | --- |",
    ]
    for kernel in report["kernels"]:
        outcome = (
            "compiles; eager's numbers"
            if kernel["ok"]
            else "; ".join(kernel["errors"]) or "no Triton kernel written"
        )
        name = kernel["name"].removeprefix("models.")
        lines.append(
            f"| `{name}` | {kernel['graphs']} | {kernel['compiled']} | "
            f"{kernel['equal']} / {kernel['calls']} | {outcome} |"
        )
    if report["not_reached"]:
        lines += ["", f"Not reached by any case: {', '.join(report['not_reached'])}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.triton_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="each game's defaults and one scenario")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--pass",
        dest="one",
        choices=PASSES,
        help="only this pass, in this process (numbers: TRITON_INTERPRET=1): its report as JSON, the exit "
        "status 0 once it is printed",
    )
    args = parser.parse_args(argv)
    if args.one is not None and (args.one == "numbers") != interpreting():
        parser.error("the numbers pass, and only it, runs with TRITON_INTERPRET=1 set")
    if args.one is not None:
        report = check(
            args.quick, progress=lambda line: print(f"{args.one}: {line}", file=sys.stderr, flush=True)
        )
        print(json.dumps(report, indent=1))
        return 0
    report = both(args.quick)
    print(json.dumps(report, indent=1) if args.json else table(report))
    return 0 if passed(report) else 1


def passed(report: dict[str, Any]) -> bool:
    """Whether every kernel was reached and passed both passes."""
    kernels = report["kernels"]
    return bool(kernels) and all(kernel["ok"] for kernel in kernels) and not report["not_reached"]


if __name__ == "__main__":
    sys.exit(main())
