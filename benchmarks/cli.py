"""`python -m studies bench`: the bench as a command of the studies CLI, added through the entry point
`reward_design_lab.commands` (pyproject.toml), so that the studies package never imports the benchmarks."""

from __future__ import annotations

import argparse
import sys

import polars as pl

from benchmarks import suite
from studies import store
from studies.cli import print_frame
from studies.runner import resolve_device
from studies.version import code_version


def add_command(sub: argparse._SubParsersAction, db: argparse.ArgumentParser) -> None:
    """Add `bench` to the studies CLI's subcommands."""
    bench = sub.add_parser(
        "bench",
        parents=[db],
        help="benchmark the batched engine against a per-agent PettingZoo loop and a Mesa model",
    )
    bench.add_argument("--quick", action="store_true", help="small sizes only: a smoke test of the suite")
    bench.add_argument("--game", action="append", choices=suite.GAMES, help="only this game")
    bench.add_argument(
        "--scenario",
        action="append",
        choices=list(suite.SCENARIOS),
        metavar="NAME",
        help=f"only this named scenario (repeatable): {', '.join(suite.SCENARIOS)}",
    )
    bench.add_argument(
        "--threads", type=int, default=None, help="torch threads for the engine (default: every core)"
    )
    bench.add_argument("--device", default="cpu", help="cpu or cuda")
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    db = store.database_path(args.db)
    store.check_database(db)
    device = resolve_device(args.device)
    if args.scenario:
        cases = [case for name in args.scenario for case in suite.scenario_cases(name, args.quick, device)]
    else:
        cases = suite.plan(quick=args.quick, games=tuple(args.game or suite.GAMES), device=device)
        if not args.game:  # the whole bench: every game, learner family and acting role measured
            try:
                suite.check_coverage(cases)
            except suite.UnbenchedError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
    shared = suite.provenance(code_version())
    print(f"{shared['bench_id']}: {len(cases)} cases, each in a fresh process, into {db}", file=sys.stderr)

    def compiling(kernels: str) -> None:
        print(f"compiling the {kernels} kernels once for this code (kept for later runs)", file=sys.stderr)

    for compiled in suite.cache_kernels(cases, device, compiling):
        print(f"  {compiled['kernels']}: {compiled['seconds']:.1f} s", file=sys.stderr)
    rows: list[dict] = []

    def record(row: dict) -> None:
        row = {**shared, **row}
        store.write_benchmark(db, row)
        rows.append(row)

    with tqdm(total=len(cases), unit="case", disable=args.quiet, file=sys.stderr) as bar:
        suite.run(
            cases,
            lambda row: (record(row), bar.update()),
            threads=args.threads,
            device=device,
            on_group=lambda group: bar.set_postfix_str(suite.group_label(group)),
        )
    if not args.quick and not args.scenario and suite.MESA_GAME in (args.game or suite.GAMES):
        record(suite.median_study_overhead(suite.DEFAULT_STUDY))
    frame = pl.DataFrame(rows, infer_schema_length=None)
    print_frame(
        frame.select(
            "game",
            "rule",
            "scenario",
            "method",
            "agents_per_world",
            "worlds",
            "decisions_per_second",
            "peak_bytes_per_agent",
            "state_bytes_per_agent",
        )
    )
    print("Speed-ups, engine (a) over the PettingZoo loop (b) and Mesa (c), decisions per second:")
    print_frame(suite.ratios(frame.filter(pl.col("method") != "study_overhead")))
    overhead = frame.filter(pl.col("method") == "study_overhead")
    if overhead.height:
        print(
            f"Metrics and store writes: {overhead['overhead_share'][0]:.1%} of the default study's time "
            f"(the median of {suite.OVERHEAD_RUNS} fresh runs)."
        )
    return 0
