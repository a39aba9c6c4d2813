"""What fusing pays: one batch played eagerly and the same batch fused (models.speed), side by side.

    python -m benchmarks.fusion_probe --worlds 1000 --agents 1000 [--device cuda]
    python -m benchmarks.fusion_probe --game election --rule plurality --rule borda --json
    python -m benchmarks.fusion_probe --scenario institutions   # a bench scenario's setting and learners

Studies fuse a batch when its agents x rounds pay for compiling; this probe is how that threshold was set and
how to revisit it on other hardware. It times the first fused round (the compiling), then blocks of rounds
of each way in turn, keeping each way's fastest, and checks that both batches end with the same numbers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import torch

from benchmarks.suite import SCENARIOS, Case, default_batch
from models.games import GAMES
from models.params import ConfigError
from models.simulate import Batch
from models.speed import compiling_works

BLOCKS = 3


def _seconds(batch: Batch, rounds: int, device: str) -> float:
    begun = time.perf_counter()
    for _ in range(rounds):
        batch.round()
    if device != "cpu":
        torch.cuda.synchronize()
    return time.perf_counter() - begun


def _same_state(a: Batch, b: Batch) -> bool:
    """Whether the two batches hold the same numbers: every learner's and the engine's tensors."""
    pairs = [(a.engine, b.engine), *zip(a.learners.values(), b.learners.values(), strict=True)]
    return all(
        torch.equal(value, getattr(y, name))
        for x, y in pairs
        for name, value in vars(x).items()
        if isinstance(value, torch.Tensor)
    )


def probe(
    game: str,
    worlds: int,
    agents: int,
    rounds: int = 20,
    device: str = "cpu",
    rule: str | None = None,
    scenario: str | None = None,
) -> dict[str, Any]:
    """Seconds of the first fused round, eager and fused ms per round (each the fastest of BLOCKS blocks
    taken in turn), the speed-up, agent-decisions per second each way, whether the two batches still hold
    the same numbers, and whether the kernels compiled (else the fused batch ran them eagerly). At the
    game's defaults, or in a bench scenario's setting with its learners."""
    case = Case(game, "engine", agents, worlds, rule, scenario)
    eager, fused = default_batch(case, device), default_batch(case, device)
    fused.fused = True
    with torch.inference_mode():
        compile_seconds = _seconds(fused, 1, device)
        _seconds(eager, 1, device)
        per_block = max(rounds // BLOCKS, 1)
        eager_s = fused_s = float("inf")
        for _ in range(BLOCKS):
            eager_s = min(eager_s, _seconds(eager, per_block, device))
            fused_s = min(fused_s, _seconds(fused, per_block, device))
    decisions = eager.agents_per_world * worlds
    return {
        "game": game,
        "rule": rule,
        "scenario": scenario,
        "kernels": fused.kernels,
        "worlds": worlds,
        "agents": agents,
        "device": device,
        "threads": torch.get_num_threads(),
        "rounds": 1 + BLOCKS * per_block,
        "first_fused_round_seconds": compile_seconds,
        "eager_ms_per_round": eager_s / per_block * 1e3,
        "fused_ms_per_round": fused_s / per_block * 1e3,
        "fused_speedup": eager_s / fused_s,
        "eager_decisions_per_second": decisions * per_block / eager_s,
        "fused_decisions_per_second": decisions * per_block / fused_s,
        "same_numbers": _same_state(eager, fused),
        "compiled": compiling_works(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fusion_probe", description=__doc__)
    parser.add_argument("--game", default="publication", choices=tuple(GAMES))
    parser.add_argument("--rule", action="append", help="a voting rule (repeatable; default: the game's)")
    parser.add_argument(
        "--scenario", choices=tuple(SCENARIOS), help="a bench scenario's setting and learners (sets the game)"
    )
    parser.add_argument("--worlds", type=int, default=1000)
    parser.add_argument("--agents", type=int, default=1000, help="researchers or voters per world")
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds of each way")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch's threads (default: every core)")
    parser.add_argument("--json", action="store_true", help="one JSON object a line instead of a table")
    args = parser.parse_args(argv)
    if args.scenario:
        args.game = SCENARIOS[args.scenario].game
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"{args.scenario or args.game}, {args.worlds} x {args.agents}: compiling the kernels (seconds), then "
        f"{args.rounds} rounds each way, in turn...",
        file=sys.stderr,
    )
    for rule in args.rule or [None]:  # the rules of one game in one process: its kernels compiled once
        try:
            result = probe(args.game, args.worlds, args.agents, args.rounds, args.device, rule, args.scenario)
        except ConfigError as error:  # a size the setting refuses (a scenario's 100 grants need 100 labs)
            print(f"error: {error}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps(result), flush=True)
            continue
        for key, value in result.items():
            print(f"{key:>26}: {value:.4g}" if isinstance(value, float) else f"{key:>26}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
