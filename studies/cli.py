"""`python -m studies ...`: run, check, list, query and export studies, list parameters, make figures."""

from __future__ import annotations

import argparse
import json
import os
import sys
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path

import polars as pl

from models.games import GAMES
from models.learners import LEARNERS
from models.params import ConfigError
from studies import store, summaries
from studies.config import load_study
from studies.runner import DEFAULT_BATCH_WORLDS, resolve_device, run_study, schedule
from studies.version import code_label, code_version

# Commands other packages add (pyproject.toml's entry points): each is a function given the subcommand
# parsers and the --db parent parser, which adds its own subcommand.
COMMANDS = "reward_design_lab.commands"

EPILOG = """examples:
  python -m studies run studies/publication_bias.toml
  python -m studies list
  python -m studies query "SELECT metric, avg(value) FROM final_metrics GROUP BY metric"
  python -m studies params publication
  python -m studies bench

The database is data/results.duckdb unless --db PATH or the STUDIES_DB environment variable names another.
"""


def _json_text(value: pl.Series) -> str:
    return json.dumps(value.to_list(), default=lambda v: float(v) if isinstance(v, Decimal) else str(v))


def print_frame(frame: pl.DataFrame, fmt: str = "table") -> None:
    if fmt == "csv":  # CSV has no lists (voter_positions, swept_parameters): write them as JSON text
        nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
        as_json = [pl.col(name).map_elements(_json_text, return_dtype=pl.String) for name in nested]
        sys.stdout.write(frame.with_columns(as_json).write_csv())
    elif fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=160):
            print(frame)


def cmd_run(args: argparse.Namespace) -> int:
    plan = load_study(args.file)
    device = resolve_device(args.device)
    db = store.database_path(args.db)
    # Every check first (store, memory, disk), so that a refusal is the only line printed.
    planned = schedule(plan, db, args.batch_worlds, device, args.workers, args.backend)
    print(
        f"study {plan.study_id}: {plan.design_points} design point(s) x {plan.replications} replication(s), "
        f"{plan.rounds} rounds, into {db}",
        file=sys.stderr,
    )
    warn_about_other_code(db, plan.study_id)
    warn_about_workers(args.workers, args.backend)
    report = run_study(
        plan,
        db,
        batch_worlds=args.batch_worlds,
        device=device,
        progress=not args.quiet,
        workers=args.workers,
        backend=args.backend,
        address=args.address,
        planned=planned,
    )
    speed = ""
    if report.completed:  # with nothing simulated, the share of store work says nothing
        rate = report.completed * plan.rounds / report.wall_seconds
        speed = f" ({rate:,.0f} world-rounds/s; metrics and store writes {report.overhead_share:.0%} of it)"
    print(
        f"done: {report.completed} run(s) completed, {report.skipped} already complete, "
        f"{report.wall_seconds:.1f} s on {report.workers} worker(s){speed}.",
        file=sys.stderr,
    )
    if not args.quiet:
        print_summary(db, plan.study_id)
        print('Explore with `make app`, or query with `python -m studies query "SQL"`.', file=sys.stderr)
    return 0


def warn_about_workers(workers: int | None, backend: str) -> None:
    """More local workers than cores is allowed but slower: say so before the study starts."""
    cores = os.cpu_count() or 1
    if backend == "local" and workers is not None and workers > cores:
        print(
            f"warning: --workers {workers} is more than this machine's {cores} cores: the workers share "
            "them, each after starting its own torch (1-3 s), so the study runs slower than with "
            f"--workers {cores}. For more machines use --backend ray.",
            file=sys.stderr,
        )


def warn_about_other_code(db: Path, study_id: str) -> None:
    """Stored runs of this study from other code (another commit, or other uncommitted changes) are kept,
    not redone: say so, so that versions never mix unnoticed."""
    if not db.exists():
        return
    try:
        found = summaries.code_versions(db, study_id)
    except store.StoreError:  # not a store of ours, or no runs yet: nothing to compare
        return
    version = code_version()
    current = code_label(version["commit"], version["diff"])
    other = [f"{code} ({runs} runs)" for code, runs in found.iter_rows() if code != current]
    if other:
        print(
            f"warning: stored runs of this study were computed by other code: {', '.join(other)}; this code "
            f"is {current}. They are kept, not recomputed: to recompute, use a new --db.",
            file=sys.stderr,
        )


def print_summary(db: Path, study_id: str, metrics: list[str] | None = None) -> None:
    """Each metric's outcome per design point with its 95% interval; sensitivity indices if any."""
    info = summaries.study_info(db, study_id)
    names = metrics or summaries.metric_names(db, study_id)
    swept = list(info["swept_parameters"] or [])
    for metric in names:
        frame = summaries.outcome_by_design_point(db, study_id, metric)
        if info["design_points"] > 12:  # sampled designs: the outcome's spread over the design
            print(
                f"{metric}: over {frame.height} design points, mean {frame['mean'].mean():.4g}, "
                f"from {frame['mean'].min():.4g} to {frame['mean'].max():.4g}"
            )
            continue
        print(f"{metric} (mean over seeds, 95% CI):")
        print_frame(frame.select(*swept, "runs", "mean", "ci_low", "ci_high"))
    indices = summaries.sensitivity(db, study_id)
    if not indices.is_empty():
        print(f"sensitivity indices ({info['design']}, 95% CI):")
        print_frame(indices.filter(pl.col("metric").is_in(names)).drop("study_id", "method"))


def cmd_summary(args: argparse.Namespace) -> int:
    db = store.database_path(args.db)
    found = store.query(
        db,
        "SELECT study_id FROM studies WHERE study_id = ? OR name = ? ORDER BY created_at DESC",
        [args.study] * 2,
    )
    if found.is_empty():
        raise ConfigError(f"no study named {args.study!r} in {db}: `python -m studies list` shows them.")
    print_summary(db, found["study_id"][0], args.metric or None)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Every check `run` makes before it simulates, its warnings, and what it would do. Writes nothing to
    the database; like run, it creates the database's folder if missing, to know it can."""
    plan = load_study(args.file)
    db = store.database_path(args.db)
    warn_about_other_code(db, plan.study_id)
    warn_about_workers(args.workers, args.backend)
    planned = schedule(plan, db, args.batch_worlds, resolve_device(args.device), args.workers, args.backend)
    print(
        f"{args.file}: ok — study {plan.study_id}, game {plan.game.name}, {plan.design_points} design "
        f"point(s) x {plan.replications} replication(s) = {len(plan.runs)} runs of {plan.rounds} rounds; "
        f"in {db}, {len(planned.done)} already complete, {len(planned.pending)} to run in "
        f"{len(planned.tasks)} batch(es) on {planned.workers} worker(s)."
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    print_frame(store.list_studies(store.database_path(args.db)), args.format)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    if args.max_rows < 1:
        raise ConfigError(f"--max-rows {args.max_rows} is not allowed: use a whole number of at least 1.")
    if not 0 < args.timeout < 1e9:
        raise ConfigError(
            f"--timeout {args.timeout:g} is not allowed: use a number of seconds above 0 and below 1e9."
        )
    frame, more = store.user_query(store.database_path(args.db), args.sql, args.max_rows, args.timeout)
    print_frame(frame, args.format)
    if more:
        print(
            f"note: only the first {args.max_rows:,} rows are shown; --max-rows N shows more.",
            file=sys.stderr,
        )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    db = store.database_path(args.db)
    studies = store.query(db, "SELECT study_id FROM studies WHERE study_id = ? OR name = ?", [args.study] * 2)
    if studies.is_empty():
        raise ConfigError(f"no study named {args.study!r} in {db}: `python -m studies list` shows them.")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    ids = studies["study_id"].to_list()
    runs = store.query(db, "SELECT * FROM runs WHERE list_contains(?, study_id) ORDER BY run_id", [ids])
    metrics = store.query(
        db,
        "SELECT m.* FROM metrics m JOIN runs r USING (run_id) WHERE list_contains(?, r.study_id) "
        "ORDER BY m.run_id, m.step, m.metric",
        [ids],
    )
    for name, frame in (("runs", runs), ("metrics", metrics)):
        target = out / f"{args.study}_{name}.{args.format}"
        temporary = target.with_suffix(target.suffix + ".part")
        frame.write_parquet(temporary) if args.format == "parquet" else frame.write_csv(temporary)
        temporary.replace(target)
        print(f"wrote {target} ({frame.height} rows)")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    spaces = {f"game {name}": spec.params for name, spec in GAMES.items() if args.game in (None, name)}
    spaces.update({f"learner {name}": cls.params for name, cls in LEARNERS.items()})
    for title, space in spaces.items():
        print(f"[{title}]")
        for key, p in space.params.items():
            print(f"  {key} = {p.default!r:<18} {p.allowed()}: {p.doc}")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from studies.figures import make_report_figures

    for path in make_report_figures(store.database_path(args.db), Path(args.out), args.study):
        print(f"wrote {path}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="python -m studies",
        description="Run reward-design studies and query their results.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", help="results database (default: $STUDIES_DB or data/results.duckdb)")
    output = argparse.ArgumentParser(add_help=False)
    output.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sub = root.add_subparsers(dest="command", required=True)

    execution = argparse.ArgumentParser(add_help=False)  # how a study runs: speed only, never its numbers
    execution.add_argument(
        "--batch-worlds",
        type=int,
        default=None,
        help=f"worlds stepped together (default: {DEFAULT_BATCH_WORLDS} on the CPU; on a GPU as many as its "
        "memory holds); speed only, results do not depend on it",
    )
    execution.add_argument("--device", default="cpu", help="cpu or cuda")
    execution.add_argument(
        "--workers",
        type=int,
        default=None,
        help="processes (or Ray tasks) in parallel (default: every core, for studies large "
        "enough to repay starting them)",
    )
    execution.add_argument(
        "--backend",
        choices=("local", "ray"),
        default="local",
        help="local process pool, or Ray (an optional extra: pip install -e '.[ray]')",
    )

    run = sub.add_parser(
        "run", parents=[db, execution], help="run a study TOML file (resumes if interrupted)"
    )
    run.add_argument("file")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    run.add_argument("--address", help="address of an existing Ray cluster (default: start a local Ray)")
    run.set_defaults(func=cmd_run)

    summary = sub.add_parser("summary", parents=[db], help="a study's outcomes with 95%% intervals")
    summary.add_argument("study", help="study name (its latest version) or id")
    summary.add_argument("--metric", action="append", help="only this metric (repeatable)")
    summary.set_defaults(func=cmd_summary)

    check = sub.add_parser(
        "check",
        parents=[db, execution],
        help="check a study file, and that it can run here (store, memory, disk), without running it",
    )
    check.add_argument("file")
    check.set_defaults(func=cmd_check)

    sub.add_parser("list", parents=[db, output], help="list studies in the database").set_defaults(
        func=cmd_list
    )

    query = sub.add_parser(
        "query",
        parents=[db, output],
        help="run one read-only SQL query on the results (it cannot read or write any other file)",
    )
    query.add_argument("sql")
    query.add_argument(
        "--max-rows",
        type=int,
        default=store.QUERY_MAX_ROWS,
        help=f"rows shown at most (default: {store.QUERY_MAX_ROWS:,})",
    )
    query.add_argument(
        "--timeout",
        type=float,
        default=store.QUERY_TIMEOUT_S,
        help=f"seconds after which the query is stopped (default: {store.QUERY_TIMEOUT_S:g})",
    )
    query.set_defaults(func=cmd_query)

    export = sub.add_parser("export", parents=[db], help="export a study's runs and metrics")
    export.add_argument("study", help="study name or id")
    export.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    export.add_argument("--out", default="data/exports")
    export.set_defaults(func=cmd_export)

    params = sub.add_parser("params", help="list game and learner parameters with their ranges")
    params.add_argument("game", nargs="?", choices=sorted(GAMES))
    params.set_defaults(func=cmd_params)

    for command in entry_points(group=COMMANDS):  # `bench`, from the benchmarks package
        command.load()(sub, db)

    figures = sub.add_parser("figures", parents=[db], help="regenerate the REPORT.md figures")
    figures.add_argument(
        "--out", default="docs/figures", help="folder of the PNG files (default: docs/figures)"
    )
    figures.add_argument(
        "--study",
        action="append",
        help="only this study's figures (repeatable; default: every study of REPORT.md)",
    )
    figures.set_defaults(func=cmd_figures)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "batch_worlds", None) is not None and args.batch_worlds < 1:
        print("error: --batch-worlds must be a whole number of at least 1.", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except ConfigError as error:  # one line, whatever a value in the message held
        print(f"error: {' '.join(str(error).splitlines())}", file=sys.stderr)
        return 2
    except store.StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: complete runs are saved; run the same command again to resume.", file=sys.stderr)
        return 130
