"""The device check of issue 23, as one short script: what a session lent a GPU runs, in a few minutes.

    make gpu-wheels                                            # here, once: the packages the GPU image lacks
    python -m benchmarks.gpu_check --out "$OUT"                # there (within docs/gpu.md's command)
    python -m benchmarks.gpu_check --device cpu --quick        # here: the same steps, small

Steps, each in a process of its own (a kernel that fails to compile makes its process run every kernel
eagerly, which must not hide whether the other game's compile), each within what is left of `--budget`:

1. the machine: GPU, torch, Triton;
2. the CUDA tests (the fused kernels bit for bit against eager, CPU against GPU);
3. the fusion probe of each game: publication at 1,000 x 1,000 and at the largest batch that fits (up to
   1,000 x 100,000), every voting rule at 1,000 x 1,000; decisions per second eager and fused, the ratio,
   whether the numbers are equal and whether the kernels compiled;
4. a whole study, 10,000 runs of 1,000 researchers for 600 rounds with every metric every 10 rounds, from
   `python -m studies run --device cuda` to a DuckDB file that answers a query, timed, with the store's
   share of the time.

Against the issue's targets: publication at 1,000 x 100,000 at least 3 billion decisions per second fused,
every voting rule at 1,000 x 1,000 at least 250 million, the study under 60 s with the store under 20%. It
prints a table and writes gpu_check.json and gpu_check.md (and, where a game's kernels did not compile, the
generated code of a small fused run, for the diagnosis) into `--out`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGETS = {"publication_fused": 3e9, "voting_rule": 2.5e8, "study_seconds": 60.0, "store_share": 0.20}
CUDA_TESTS = [
    "tests/models/test_fusion.py",
    "tests/models/test_study_kernels.py",
    "tests/models/test_devices.py",
    "tests/models/test_actor_critic.py",
]
STUDY = """[study]
name = "gpu_scale"
description = "The GPU check's whole study: many runs of 1,000 researchers, every metric every 10 rounds."
game = "publication"
rounds = {rounds}
record_every = 10
replications = {runs}
seed = 23

[game]
n_researchers = {researchers}
"""


# Seconds a step may take at most, whatever is left of the budget: the study must not starve.
STEP_SECONDS = {"tests": 180, "probe": 150, "study": 150, "code": 60}
MIN_STEP_SECONDS = 20  # a step with less time than this left is not started


class Budget:
    """Seconds left of the whole check; each step gets what is left (at most its own cap), less a reserve
    for the report."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def left(self) -> float:
        return self.deadline - time.monotonic() - 10


def _text(output: str | bytes | None) -> str:
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def _run(command: list[str], budget: Budget, step: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """A step's process: its exit code ('timeout' if stopped), seconds, and its output, what it printed
    before a timeout included; or why it did not run."""
    seconds = min(budget.left(), STEP_SECONDS[step])
    if seconds < MIN_STEP_SECONDS:
        return {"skipped": "no time left in the budget"}
    begun = time.monotonic()
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds, env={**os.environ, **(env or {})}
        )
        code, out = done.returncode, done.stdout + done.stderr
    except subprocess.TimeoutExpired as expired:
        code, out = "timeout", _text(expired.stdout) + _text(expired.stderr)
    return {"returncode": code, "seconds": round(time.monotonic() - begun, 1), "output": out}


def machine(device: str) -> dict[str, Any]:
    import torch

    facts: dict[str, Any] = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": device,
    }
    try:
        import triton

        facts["triton"] = triton.__version__
    except ImportError:
        facts["triton"] = None
    if device == "cuda" and torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        facts["gpu"] = properties.name
        facts["gpu_memory_gib"] = round(properties.total_memory / 2**30, 1)
    elif device == "cuda":
        facts["gpu"] = None  # torch sees none: every step below will say so
    return facts


def _lines(output: str) -> list[dict[str, Any]]:
    """The JSON objects among a process's output lines."""
    found = []
    for line in output.splitlines():
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                found.append(json.loads(line))
    return found


def _probe_command(game: str, worlds: int, agents: int, rounds: int, device: str) -> list[str]:
    sizes = ["--worlds", str(worlds), "--agents", str(agents), "--rounds", str(rounds)]
    return [sys.executable, "-m", "benchmarks.fusion_probe", "--game", game, *sizes, "--device", device]


def probes(
    game: str, worlds: int, agents: int, rules: list[str], device: str, budget: Budget, rounds: int
) -> list[dict[str, Any]]:
    """One fusion probe process for a game, its rules in turn (its kernels compiled once): a result for
    each rule asked, an error entry for each that gave none (the process stopped, or never ran)."""
    command = [*_probe_command(game, worlds, agents, rounds, device), "--json"]
    for rule in rules:
        command += ["--rule", rule]
    step = _run(command, budget, "probe")
    results = _lines(step.get("output", ""))
    got = {result.get("rule") for result in results}
    missing = [rule for rule in rules or [None] if rule not in got]
    why = f"exit {step.get('returncode', '-')}: {_tail(step, 1500)}"
    return results + [
        {"game": game, "rule": rule, "worlds": worlds, "agents": agents, "error": why} for rule in missing
    ]


def largest_publication_batch(device: str, quick: bool) -> tuple[int, int]:
    """The largest publication batch up to 1,000 x 100,000 that fits half the device's memory (as the bench
    sizes its batches)."""
    if quick:
        return 10, 1_000
    from benchmarks.suite import Case, fits

    for worlds in (1_000, 500, 250, 100):
        if fits(Case("publication", "engine", 100_000, worlds), device):
            return worlds, 100_000
    return 10, 100_000


def dump_generated_code(game: str, device: str, out: Path, budget: Budget) -> str | None:
    """Where a game's kernels did not compile: a small fused run with inductor's output code logged, kept
    as <game>_output_code.log (at most 16 MiB) for the diagnosis."""
    command = _probe_command(game, 4, 64, 3, device)
    step = _run(command, budget, "code", {"TORCH_LOGS": "output_code"})
    if "output" not in step:
        return None
    path = out / f"{game}_output_code.log"
    path.write_text(step["output"][-16 * 2**20 + 1024 :])
    return path.name


def whole_study(device: str, quick: bool, budget: Budget) -> dict[str, Any]:
    """Step 4: the study from the command line to a queryable file, timed as a whole (the process's start
    and imports included) and as the run it reports, with the store's share of it."""
    runs, researchers, rounds = (20, 100, 100) if quick else (10_000, 1_000, 600)
    with tempfile.TemporaryDirectory() as scratch:
        toml, db = Path(scratch) / "gpu_scale.toml", Path(scratch) / "gpu_scale.duckdb"
        toml.write_text(STUDY.format(rounds=rounds, runs=runs, researchers=researchers))
        command = [
            sys.executable,
            "-m",
            "studies",
            "run",
            str(toml),
            "--db",
            str(db),
            "--device",
            device,
            "--quiet",
        ]
        step = _run(command, budget, "study")
        result: dict[str, Any] = {"runs": runs, "researchers": researchers, "rounds": rounds, **step}
        done = re.search(r"done: .*?([\d.]+) s on .*?metrics and store writes (\d+)%", step.get("output", ""))
        if step.get("returncode") == 0 and done:
            result["run_seconds"], result["store_share"] = float(done[1]), int(done[2]) / 100
            query = [
                sys.executable,
                "-m",
                "studies",
                "query",
                "SELECT count(*) AS metric_rows FROM metrics",
                "--db",
                str(db),
            ]
            asked = _run(query, budget, "code")
            result["query"] = _tail(asked, 400)
            result["queryable"] = asked.get("returncode") == 0
        result["output"] = _tail(step)
    return result


def _tail(step: dict[str, Any], size: int = 3000) -> str:
    return step.get("skipped") or str(step.get("output", ""))[-size:]


def _label(probe: dict[str, Any]) -> str:
    rule = f" {probe['rule']}" if probe.get("rule") else ""
    return f"{probe['game']}{rule} {probe['worlds']:,} x {probe['agents']:,}"


def verdicts(report: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """Each target of the issue: what it asks, what was measured, and whether it was met (None: not
    measured in a quick run, where the sizes are not the issue's)."""
    quick = report["quick"]
    out: list[tuple[str, str, bool | None]] = []
    for probe in report["probes"]:
        if "error" in probe:
            out.append((f"{_label(probe)}: the probe runs", probe["error"][-300:], False))
            continue
        out.append(
            (
                f"{_label(probe)}: compiled, the same numbers fused",
                f"{probe['compiled']}, {probe['same_numbers']}",
                probe["compiled"] and probe["same_numbers"],
            )
        )
        best = max(probe["eager_decisions_per_second"], probe["fused_decisions_per_second"])
        if probe["game"] == "publication" and (probe["agents"] >= 100_000 or quick):
            rate = probe["fused_decisions_per_second"]
            out.append(
                (
                    f"{_label(probe)}: fused at least 3e9 a second",
                    f"{rate:.3g}",
                    None if quick else rate >= TARGETS["publication_fused"],
                )
            )
        if probe["game"] == "election":
            out.append(
                (
                    f"{_label(probe)}: at least 2.5e8 a second",
                    f"{best:.3g}",
                    None if quick else best >= TARGETS["voting_rule"],
                )
            )
    study = report["study"]
    if "run_seconds" in study:
        out.append(
            (
                "the study: in under 60 s, queryable",
                f"{study['seconds']} s ({study['run_seconds']} s the run), queryable {study['queryable']}",
                None if quick else study["seconds"] < TARGETS["study_seconds"] and study["queryable"],
            )
        )
        out.append(
            (
                "the study: the store under 20% of it",
                f"{study['store_share']:.0%}",
                None if quick else study["store_share"] < TARGETS["store_share"],
            )
        )
    else:
        out.append(("the study runs", study.get("output", "")[-300:], False))
    tests = report["cuda_tests"]
    if "returncode" in tests:
        last = tests["output"].strip().splitlines()[-1:] or [""]
        if report["machine"].get("device") == "cuda":
            out.append(("the CUDA tests pass", last[0], tests["returncode"] == 0))
        else:  # no GPU: the tests are collected and skip
            out.append(("the CUDA tests are collected", last[0], tests["returncode"] == 0))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.gpu_check",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    parser.add_argument("--out", default=".", help="where gpu_check.json and gpu_check.md go")
    parser.add_argument("--budget", type=float, default=540, help="seconds for the whole check")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke test of the steps")
    args = parser.parse_args(argv)
    from models.games.election.voting import RULES

    out, budget = Path(args.out), Budget(args.budget)
    out.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"machine": machine(args.device), "quick": args.quick}
    print(json.dumps(report["machine"]), flush=True)
    # Every test that needs a GPU, by its name or id; on a CPU they are collected (their imports checked
    # against this environment's packages) and skipped.
    selection = ["-k", "cuda or gpu", *CUDA_TESTS]
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    tests = _run([*pytest, *selection], budget, "tests")
    report["cuda_tests"] = {**tests, "output": _tail(tests)}
    print(f"CUDA tests: {tests.get('returncode', tests.get('skipped'))}", flush=True)
    worlds, agents, timed = (10, 100, 6) if args.quick else (1_000, 1_000, 30)
    big_worlds, big_agents = largest_publication_batch(args.device, args.quick)
    report["probes"] = [
        *probes("publication", worlds, agents, [], args.device, budget, timed),
        *probes("publication", big_worlds, big_agents, [], args.device, budget, max(timed // 3, 3)),
    ]
    report["study"] = whole_study(args.device, args.quick, budget)  # before the rules: the headline
    print(json.dumps({k: v for k, v in report["study"].items() if k != "output"}), flush=True)
    report["probes"] += probes("election", worlds, agents, list(RULES), args.device, budget, timed)
    for probe in report["probes"]:
        print(json.dumps({k: v for k, v in probe.items() if k != "error"}), flush=True)
    for game in ("publication", "election"):
        compiled = [p.get("compiled", False) for p in report["probes"] if p.get("game") == game]
        if compiled and not all(compiled):
            report.setdefault("generated_code", {})[game] = dump_generated_code(
                game, args.device, out, budget
            )
    report["verdicts"] = verdicts(report)
    table = ["| target | measured | met |", "| --- | --- | --- |"]
    table += [
        f"| {what} | {value} | {'yes' if ok else 'no' if ok is False else '?'} |"
        for what, value, ok in report["verdicts"]
    ]
    (out / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
    (out / "gpu_check.md").write_text("\n".join(table) + "\n")
    print("\n".join(table))
    return 0 if all(ok is not False for _, _, ok in report["verdicts"]) else 1


if __name__ == "__main__":
    raise SystemExit(main())
