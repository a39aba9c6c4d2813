"""What torch.compile pays for the engine: one batch played eagerly and the same batch compiled, side by side.

    python -m benchmarks.compile_probe --worlds 1000 --agents 1000 [--device cuda]

The product runs eagerly. This probe is how that choice was made and how to revisit it on other hardware:
it compiles the whole round (`Batch.round`: choices, outcomes, pay-offs, learning; dynamo splits it where
the round's shapes depend on data), times both ways after the compilation rounds, and reports how far
the compiled numbers drift from the eager ones (fused reductions add in another order).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import torch
import torch._dynamo

from benchmarks.suite import Case, default_batch
from models.simulate import Batch

COMPILE_ROUNDS = 5  # rounds that absorb compilation and the recompilations as data-dependent sizes vary
RECOMPILE_LIMIT = 64  # dynamo's default (8) is spent on the random streams' per-name key caches


def _sync(device: str) -> None:
    if device != "cpu":
        torch.cuda.synchronize()


def _ms_per_round(step: Any, rounds: int, device: str) -> float:
    begun = time.perf_counter()
    for _ in range(rounds):
        step()
    _sync(device)
    return (time.perf_counter() - begun) / rounds * 1e3


def _drift(eager: Batch, compiled: Batch) -> float:
    """Largest difference between the two batches' action values: 0 when the numbers are the same."""
    a, b = eager.learners["researcher"].values, compiled.learners["researcher"].values
    return float((a - b).abs().max())


def probe(
    worlds: int, agents: int, rounds: int = 20, device: str = "cpu", backend: str = "inductor"
) -> dict[str, Any]:
    """Eager and compiled ms per round of the publication game, the compilation's seconds, and the drift.

    Both batches play the same rounds (the compiled one first its COMPILE_ROUNDS, then the eager one as
    many untimed), so their states stay comparable; `backend="eager"` traces without generating code.
    """
    case = Case("publication", "engine", agents, worlds)
    eager, compiled = default_batch(case, device), default_batch(case, device)
    with torch.inference_mode(), torch._dynamo.config.patch(recompile_limit=RECOMPILE_LIMIT):
        compiled_round = torch.compile(compiled.round, dynamic=True, backend=backend)
        begun = time.perf_counter()
        for _ in range(COMPILE_ROUNDS):
            compiled_round()
        _sync(device)
        compile_seconds = time.perf_counter() - begun
        for _ in range(COMPILE_ROUNDS):
            eager.round()
        eager_ms = _ms_per_round(eager.round, rounds, device)
        compiled_ms = _ms_per_round(compiled_round, rounds, device)
        torch._dynamo.reset()
    return {
        "worlds": worlds,
        "agents": agents,
        "device": device,
        "backend": backend,
        "rounds": COMPILE_ROUNDS + rounds,
        "compile_seconds": compile_seconds,
        "eager_ms_per_round": eager_ms,
        "compiled_ms_per_round": compiled_ms,
        "compiled_speedup": eager_ms / compiled_ms,
        "value_drift": _drift(eager, compiled),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compile_probe", description=__doc__)
    parser.add_argument("--worlds", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=1000, help="researchers per world")
    parser.add_argument("--rounds", type=int, default=20, help="timed rounds of each way")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch's threads (default: every core)")
    parser.add_argument("--backend", default="inductor", help="torch.compile's; eager: capture only, a check")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"{args.worlds} x {args.agents}: compiling the round ({COMPILE_ROUNDS} rounds, 15-45 s on 2 cores), "
        f"then {args.rounds} rounds each way...",
        file=sys.stderr,
    )
    result = probe(args.worlds, args.agents, args.rounds, args.device, args.backend)
    for key, value in result.items():
        print(f"{key:>22}: {value:.4g}" if isinstance(value, float) else f"{key:>22}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
