"""`python -m studies ...`: run, check, list, query and export studies, list parameters, make figures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import polars as pl

from models.games import GAMES
from models.learners import LEARNERS
from models.params import ConfigError
from studies import store
from studies.config import load_study
from studies.runner import DEFAULT_BATCH_WORLDS, resolve_device, run_study

EPILOG = """examples:
  python -m studies run studies/publication_bias.toml
  python -m studies list
  python -m studies query "SELECT metric, avg(value) FROM final_metrics GROUP BY metric"
  python -m studies params publication

The database is data/results.duckdb unless --db PATH or the STUDIES_DB environment variable names another.
"""


def _print_frame(frame: pl.DataFrame, fmt: str = "table") -> None:
    if fmt == "csv":
        sys.stdout.write(frame.write_csv())
    elif fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=160):
            print(frame)


def cmd_run(args: argparse.Namespace) -> int:
    plan = load_study(args.file)
    device = resolve_device(args.device)
    db = store.database_path(args.db)
    print(
        f"study {plan.study_id}: {plan.design_points} design point(s) x {plan.replications} replication(s), "
        f"{plan.rounds} rounds, into {db}",
        file=sys.stderr,
    )
    report = run_study(plan, db, batch_worlds=args.batch_worlds, device=device, progress=not args.quiet)
    rate = report.completed * plan.rounds / report.wall_seconds if report.completed else 0.0
    print(
        f"done: {report.completed} run(s) completed, {report.skipped} already complete, "
        f"{report.wall_seconds:.1f} s ({rate:,.0f} world-rounds/s). "
        f'Explore with `make app` or `python -m studies query "SELECT * FROM final_metrics LIMIT 5"`.',
        file=sys.stderr,
    )
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    plan = load_study(args.file)
    print(
        f"{args.file}: ok — study {plan.study_id}, game {plan.game.name}, {plan.design_points} design "
        f"point(s) x {plan.replications} replication(s) = {len(plan.runs)} runs of {plan.rounds} rounds."
    )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    _print_frame(store.list_studies(store.database_path(args.db)), args.format)
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    _print_frame(store.query(store.database_path(args.db), args.sql), args.format)
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
    spaces.update({f"learner {name}": space for name, (space, _) in LEARNERS.items()})
    for title, space in spaces.items():
        print(f"[{title}]")
        for key, p in space.params.items():
            print(f"  {key} = {p.default!r:<18} {p.allowed()}: {p.doc}")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from studies.figures import make_report_figures

    for path in make_report_figures(store.database_path(args.db), Path(args.out)):
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

    run = sub.add_parser("run", parents=[db], help="run a study TOML file (resumes if interrupted)")
    run.add_argument("file")
    run.add_argument(
        "--batch-worlds",
        type=int,
        default=DEFAULT_BATCH_WORLDS,
        help="worlds stepped together (speed only; results do not depend on it)",
    )
    run.add_argument("--device", default="cpu", help="cpu or cuda")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.set_defaults(func=cmd_run)

    check = sub.add_parser("check", help="check a study file without running it")
    check.add_argument("file")
    check.set_defaults(func=cmd_check)

    sub.add_parser("list", parents=[db, output], help="list studies in the database").set_defaults(
        func=cmd_list
    )

    query = sub.add_parser("query", parents=[db, output], help="run a read-only SQL query")
    query.add_argument("sql")
    query.set_defaults(func=cmd_query)

    export = sub.add_parser("export", parents=[db], help="export a study's runs and metrics")
    export.add_argument("study", help="study name or id")
    export.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    export.add_argument("--out", default="data/exports")
    export.set_defaults(func=cmd_export)

    params = sub.add_parser("params", help="list game and learner parameters with their ranges")
    params.add_argument("game", nargs="?", choices=sorted(GAMES))
    params.set_defaults(func=cmd_params)

    figures = sub.add_parser("figures", parents=[db], help="regenerate the REPORT.md figures")
    figures.add_argument("--out", default="docs/figures")
    figures.set_defaults(func=cmd_figures)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if getattr(args, "batch_worlds", 1) < 1:
        print("error: --batch-worlds must be a whole number of at least 1.", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except (ConfigError, store.StoreError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: complete runs are saved; run the same command again to resume.", file=sys.stderr)
        return 130
