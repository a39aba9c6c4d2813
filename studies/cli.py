"""`python -m studies ...`: run, check, list, query and export studies, list parameters, make figures."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from dataclasses import dataclass, fields
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, NoReturn

import polars as pl
import torch

from models.extensions import load_extensions
from models.game import GameSpec
from models.games import GAMES
from models.learners import LEARNERS
from models.metrics import compute_rounds
from models.params import ConfigError
from models.simulate import build_batch
from studies import store, summaries
from studies.config import StudyPlan, load_study
from studies.names import did_you_mean, unknown_name, with_suggestion
from studies.runner import (
    DEFAULT_BATCH_WORLDS,
    Schedule,
    _batch_key,
    agents_per_world,
    resolve_device,
    run_study,
    schedule,
)
from studies.version import code_label, code_version
from studies.worker import BatchTask

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


# `export --format`: each writes nested columns (lists such as voter_positions, structs) as its format can.
EXPORT_FORMATS = ("parquet", "csv", "json")


def _json_default(value: object) -> object:
    return float(value) if isinstance(value, Decimal) else str(value)


def nested_as_json(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with every nested column (list, array, struct) as JSON text, nulls kept null: CSV has no
    nested values, and polars refuses to write them ("CSV format does not support nested data")."""
    nested = [name for name, dtype in frame.schema.items() if dtype.is_nested()]
    as_json = [
        pl.Series(
            name,
            [None if v is None else json.dumps(v, default=_json_default) for v in frame[name].to_list()],
            dtype=pl.String,
        )
        for name in nested
    ]
    return frame.with_columns(as_json) if as_json else frame


def write_frame(frame: pl.DataFrame, target: Path, fmt: str) -> None:
    """Write a frame as parquet (nested types kept), JSON (nested values as JSON arrays and objects) or CSV
    (nested values as JSON text), under a temporary name renamed into place, so that a file is whole or
    absent."""
    temporary = target.with_name(target.name + ".part")
    try:
        if fmt == "parquet":
            frame.write_parquet(temporary)
        elif fmt == "json":
            frame.write_json(temporary)
        else:
            nested_as_json(frame).write_csv(temporary)
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)


def print_frame(frame: pl.DataFrame, fmt: str = "table") -> None:
    if fmt == "csv":  # CSV has no lists (voter_positions, swept_parameters): write them as JSON text
        sys.stdout.write(nested_as_json(frame).write_csv())
    elif fmt == "json":
        sys.stdout.write(frame.write_json() + "\n")
    else:
        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=160):
            print(frame)


def cmd_run(args: argparse.Namespace) -> int:
    plan = load_study(args.file)
    metrics = key_metrics(plan.game, args.metric)
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
        stored = set(summaries.metric_names(db, plan.study_id))
        for line in outcome_table(db, plan.study_id, [m for m in metrics if m in stored]):
            print(line)
        print(
            f"Every metric: `python -m studies summary {plan.name}`. Explore with `make app`, or query with "
            '`python -m studies query "SQL"`.',
            file=sys.stderr,
        )
    return 0


# The outcomes `run` ends with: the game's headline metric and the next ones it declares, this many, in a
# table at most TABLE_WIDTH characters wide with a row per design point (up to TABLE_ROWS of them).
KEY_OUTCOMES = 3
TABLE_WIDTH = 110
TABLE_ROWS = 100
CELL_CHARS = 24  # a longer parameter value (a list of positions) is cut to this many characters


def key_metrics(game: GameSpec, asked: list[str] | None = None) -> list[str]:
    """The metrics `run` shows: those asked for (refusing unknown ones before anything runs), else the
    game's headline metric, its key metrics and the next ones it declares, KEY_OUTCOMES in all."""
    declared = [metric.name for metric in game.metrics]
    for name in asked or []:
        if name not in declared:
            raise unknown_name("--metric", name, declared, f"for the {game.name} game")
    if asked:
        return list(dict.fromkeys(asked))
    first = [name for name in (game.headline, *game.key_metrics) if name in declared]
    return list(dict.fromkeys([*first, *declared]))[:KEY_OUTCOMES]


def format_value(value: Any) -> str:
    """A value as a table shows it: numbers to 4 significant digits, undefined ones as n/a."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return "n/a" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list | dict):
        value = json.dumps(value, default=_json_default)
    text = str(value)
    return text if len(text) <= CELL_CHARS else text[: CELL_CHARS - 1] + "…"


def with_interval(mean: float | None, low: float | None, high: float | None) -> str:
    """'0.412 ± 0.031': the mean and the half-width of its 95% interval (one seed: the mean alone)."""
    if mean is None or math.isnan(mean):
        return "n/a"
    if low is None or high is None or math.isnan(low):
        return f"{mean:.3g}"
    return f"{mean:.3g} ± {(high - low) / 2:.2g}"


def plain_table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Aligned columns of text, two spaces apart: numbers right-aligned, text left-aligned; no frame, so
    that it reads in any terminal, log or e-mail."""
    widths = [max([len(name), *(len(row[i]) for row in rows)]) for i, name in enumerate(header)]

    def numeric(column: int) -> bool:
        cells = [row[column] for row in rows if row[column] not in ("", "n/a")]
        return bool(cells) and all(_is_number(cell.split(" ± ")[0]) for cell in cells)

    right = [numeric(i) for i in range(len(header))]
    lines = [
        [name.rjust(w) if r else name.ljust(w) for name, w, r in zip(header, widths, right, strict=True)]
    ]
    lines += [
        [c.rjust(w) if r else c.ljust(w) for c, w, r in zip(row, widths, right, strict=True)] for row in rows
    ]
    return ["  ".join(line).rstrip() for line in lines]


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def frame_lines(frame: pl.DataFrame) -> list[str]:
    """A polars frame as a plain aligned table (see plain_table)."""
    return plain_table(frame.columns, [[format_value(v) for v in row] for row in frame.iter_rows()])


def outcome_table(db: Path, study_id: str, metrics: list[str]) -> list[str]:
    """The lines `run` ends with: a title, then per design point its swept parameters, runs, and each
    metric's mean ± the half-width of its 95% interval over seeds, in at most TABLE_WIDTH characters
    (dropping the last metrics, then the parameters for the design point's number, until it fits). A
    sampled design, or a grid of more than TABLE_ROWS points, gets each metric's spread over its points."""
    info = summaries.study_info(db, study_id)  # refuses swept parameters that are not columns of the runs
    if not metrics:
        return [f"{info['name']}: no metric has values yet."]
    swept = list(info["swept_parameters"] or [])
    outcomes = {metric: summaries.outcome_by_design_point(db, study_id, metric) for metric in metrics}
    title = f"{info['name']}: each run's last tenth of rounds, mean ± 95% interval over seeds"
    if info["design"] != "grid" or info["design_points"] > TABLE_ROWS:
        lines = [
            f"{info['name']}: each run's last tenth of rounds, over {info['design_points']} design points"
        ]
        for metric, frame in outcomes.items():
            means = frame["mean"].drop_nans().drop_nulls()
            if means.is_empty():
                lines.append(f"  {metric}: n/a")
                continue
            lines.append(
                f"  {metric}: mean {means.mean():.3g}, from {means.min():.3g} to {means.max():.3g} "
                f"({means.len()} design points)"
            )
        return lines
    columns = ", ".join(["design_point", *(store.quote_identifier(name) for name in swept)])
    points = store.query(
        db,
        f"SELECT {columns}, count(*) AS runs FROM runs WHERE study_id = ? AND status = 'complete' "
        "GROUP BY ALL ORDER BY design_point",
        [study_id],
    )
    cells = {
        metric: {
            row["design_point"]: with_interval(row["mean"], row["ci_low"], row["ci_high"])
            for row in frame.iter_rows(named=True)
        }
        for metric, frame in outcomes.items()
    }

    def table(labels: list[str], shown: list[str]) -> list[str]:
        rows = [
            [
                *(format_value(row[name]) for name in labels),
                str(row["runs"]),
                *(cells[m].get(row["design_point"], "n/a") for m in shown),
            ]
            for row in points.iter_rows(named=True)
        ]
        return plain_table([*labels, "runs", *shown], rows)

    labels, shown = swept or ["design_point"], list(metrics)
    lines = table(labels, shown)
    while max(map(len, lines)) > TABLE_WIDTH and len(shown) > 1:
        shown.pop()
        lines = table(labels, shown)
    if max(map(len, lines)) > TABLE_WIDTH and labels != ["design_point"]:
        lines = table(["design_point"], shown)
    return [title, *lines]


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
        for line in frame_lines(frame.select(*swept, "runs", "mean", "ci_low", "ci_high")):
            print("  " + line)
    indices = summaries.sensitivity(db, study_id).filter(pl.col("metric").is_in(names))
    if not indices.is_empty():
        print(f"sensitivity indices ({info['design']}, 95% CI):")
        for line in frame_lines(indices.drop("study_id", "method")):
            print("  " + line)


def find_study(db: Path, name: str) -> list[str]:
    """The ids of the studies named `name` (or of the one with that id), newest first; a name that is no
    study's is refused with the closest names."""
    if not db.exists():
        raise store.StoreError(
            f"there is no results database at {db}: run a study first, for example "
            "`python -m studies run studies/publication_bias.toml`."
        )
    known = store.list_studies(db).reverse()  # empty for a store with no study table yet
    if known.is_empty():
        raise ConfigError(f"study {name!r} is not known: {db} holds no study yet; run one first.")
    found = known.filter((pl.col("study_id") == name) | (pl.col("name") == name))["study_id"].to_list()
    if not found:
        names = sorted(set(known["name"]))
        raise unknown_name("study", name, names, f"in {db}", "`python -m studies list` shows them")
    return found


def cmd_summary(args: argparse.Namespace) -> int:
    db = store.database_path(args.db)
    study_id = find_study(db, args.study)[0]
    info = summaries.study_info(db, study_id)  # a shared file's swept parameters are checked first
    if args.metric:
        stored = summaries.metric_names(db, study_id)
        game = GAMES.get(info["game"])
        for name in args.metric:
            if name not in stored and game and name in {metric.name for metric in game.metrics}:
                raise ConfigError(
                    f"--metric {name!r} has no values in study {args.study}: it is undefined in every round "
                    f"of its runs; allowed are the metrics with values: {', '.join(stored)}."
                )
            if name not in stored:
                raise unknown_name(
                    "--metric",
                    name,
                    stored,
                    f"in study {args.study}",
                    f"`python -m studies summary {args.study}` shows them",
                )
    print_summary(db, study_id, list(dict.fromkeys(args.metric)) if args.metric else None)
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Every check `run` makes before it simulates, its warnings, what it would do, and about how long it
    would take. Writes nothing to the database; like run, it creates the database's folder if missing, to
    know it can."""
    plan = load_study(args.file)
    db = store.database_path(args.db)
    device = resolve_device(args.device)
    warn_about_other_code(db, plan.study_id)
    warn_about_workers(args.workers, args.backend)
    planned = schedule(plan, db, args.batch_worlds, device, args.workers, args.backend)
    print(
        f"{args.file}: ok — study {plan.study_id}, game {plan.game.name}, {plan.design_points} design "
        f"point(s) x {plan.replications} replication(s) = {len(plan.runs)} runs of {plan.rounds} rounds; "
        f"in {db}, {len(planned.done)} already complete, {len(planned.pending)} to run in "
        f"{len(planned.tasks)} batch(es) on {planned.workers} worker(s)."
    )
    print(estimate_run_time(plan, planned, device).describe())
    return 0


# `check`'s run-time estimate: it times a few rounds of the study's own batches here, within about
# CALIBRATION_SECONDS in all (at most CALIBRATION_ROUNDS rounds of each of the first CALIBRATION_SHAPES
# batch shapes, on at most CALIBRATION_AGENTS agents), and scales that by the agents, rounds and batches to
# run over the workers. A pool's workers each start their own torch first (WORKER_START_SECONDS on an idle
# machine); on a busy one (a load above its cores, from other programs) they start slower and share the
# cores with the others: both are scaled by load / cores (measured: 2 workers on 2 cores at load 5 ran a
# study slower than 1, and each took about 4.5 s to start).
CALIBRATION_SECONDS = 0.8
CALIBRATION_ROUNDS = 50
CALIBRATION_SHAPES = 4
CALIBRATION_AGENTS = 250_000
WORKER_START_SECONDS = 2.0
# The store's part, not timed by the check (it writes nothing): recording the study on a new file, then per
# batch a transaction of its metrics (measured on a loaded 2-core machine: 0.25 s, 0.05 s + 4 M values/s).
STORE_SECONDS = 0.25
STORE_SECONDS_PER_BATCH = 0.05
STORE_VALUES_PER_SECOND = 4e6


@dataclass(frozen=True)
class Timing:
    """Seconds per agent of one batch shape, measured here: building its worlds and learners, one round,
    and the metrics of one recorded round."""

    build: float
    round: float
    metrics: float


@dataclass(frozen=True)
class RunTimeEstimate:
    seconds: float
    workers: int
    pending: int
    timed_rounds: int
    timed_worlds: int
    load: float = 0.0

    def describe(self) -> str:
        if not self.pending:
            return "estimated run time: none, every run is already complete."
        cores = os.cpu_count() or 1
        busy = f"; busy, load {self.load:.1f}" if self.load > cores else ""
        return (
            f"estimated run time: about {human_duration(self.seconds)} on this machine ({cores} cores, "
            f"{self.workers} worker(s){busy}); an estimate, from {self.timed_rounds} round(s) of "
            f"{self.timed_worlds} world(s) timed here and scaled to the study's agents, rounds and runs."
        )


def human_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{max(seconds, 0.01):.2f} s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def batch_agents(plan: StudyPlan, task: BatchTask) -> int:
    return sum(agents_per_world(plan, run) for run in task.runs)


def time_batch(plan: StudyPlan, task: BatchTask, budget: float) -> tuple[Timing, int, int]:
    """Time the first rounds of (the first CALIBRATION_AGENTS agents' worlds of) a batch, as run_batch
    would run it, for about `budget` seconds; the first round, which warms caches up, only if it is all.
    Returns the timing per agent, the rounds timed and the worlds."""
    per_world = agents_per_world(plan, task.runs[0])
    runs = task.runs[: max(1, CALIBRATION_AGENTS // max(per_world, 1))]
    agents = sum(agents_per_world(plan, run) for run in runs)
    threads = torch.get_num_threads()
    torch.set_num_threads(task.threads)
    load_extensions(task.extensions)

    def now() -> float:
        if task.device != "cpu":
            torch.cuda.synchronize()
        return time.perf_counter()

    try:
        begun = now()
        batch = build_batch(
            task.game,
            [run.game for run in runs],
            {role: [run.learners[role] for run in runs] for role in runs[0].learners},
            [run.seed for run in runs],
            task.device,
        )
        built = now()
        rounds, recorded = [], []
        with torch.inference_mode():
            while len(rounds) < min(task.rounds, CALIBRATION_ROUNDS):
                start = now()
                result = batch.round()
                rounds.append(now() - start)
                if (len(rounds) - 1) % task.record_every == 0:
                    recorded.append(result.tallies)
                if now() - begun > budget and len(rounds) >= min(task.rounds, 3):
                    break
            start = now()
            compute_rounds(GAMES[task.game].metrics, recorded)
            metrics = (now() - start) / len(recorded)
    finally:
        torch.set_num_threads(threads)
    warm = rounds[1:] or rounds
    return (
        Timing((built - begun) / agents, sum(warm) / len(warm) / agents, metrics / agents),
        len(rounds),
        len(runs),
    )


def estimate_run_time(plan: StudyPlan, planned: Schedule, device: str) -> RunTimeEstimate:
    """About how long `run` would take here: the pending batches' agents x rounds at the seconds per agent
    and round of their shape timed here (a shape not timed, beyond CALIBRATION_SHAPES, at the timed ones'
    mean), spread over the workers, plus the workers' start and the store's writes. Not the start of Python
    and torch (a few seconds), which `run` does not count either."""
    if not planned.tasks:
        return RunTimeEstimate(0.0, planned.workers, 0, 0, 0)
    shapes: dict[str, list[BatchTask]] = {}
    for task in planned.tasks:
        shapes.setdefault(_batch_key(plan, task.runs[0]), []).append(task)
    timed = list(shapes)[:CALIBRATION_SHAPES]
    timings: dict[str, Timing] = {}
    timed_rounds = timed_worlds = 0
    for key in timed:
        largest = max(shapes[key], key=lambda task: batch_agents(plan, task))
        timings[key], rounds, worlds = time_batch(plan, largest, CALIBRATION_SECONDS / len(timed))
        timed_rounds, timed_worlds = timed_rounds + rounds, timed_worlds + worlds
    mean = Timing(*(sum(getattr(t, f.name) for t in timings.values()) / len(timings) for f in fields(Timing)))
    recorded = math.ceil(plan.rounds / plan.record_every)
    seconds = [
        batch_agents(plan, task) * (t.build + plan.rounds * t.round + recorded * t.metrics)
        for key, tasks in shapes.items()
        for task in tasks
        for t in [timings.get(key, mean)]
    ]
    cores, load = os.cpu_count() or 1, machine_load()
    busy = max(1.0, load / cores)
    parallel = max(1.0, min(planned.workers, cores, len(seconds)) / busy)
    wall = max(sum(seconds) / parallel, max(seconds))
    if planned.workers > 1:
        wall += WORKER_START_SECONDS * busy
    values = len(planned.pending) * recorded * len(plan.game.metrics)
    wall += STORE_SECONDS + len(seconds) * STORE_SECONDS_PER_BATCH + values / STORE_VALUES_PER_SECOND
    return RunTimeEstimate(wall, planned.workers, len(planned.pending), timed_rounds, timed_worlds, load)


def machine_load() -> float:
    """Processes running or waiting for a core, over the last minute (0 where the system does not say)."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


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
    ids = find_study(db, args.study)
    out = Path(args.out)
    runs = store.query(db, "SELECT * FROM runs WHERE list_contains(?, study_id) ORDER BY run_id", [ids])
    metrics = store.query(
        db,
        "SELECT m.* FROM metrics m JOIN runs r USING (run_id) WHERE list_contains(?, r.study_id) "
        "ORDER BY m.run_id, m.step, m.metric",
        [ids],
    )
    out.mkdir(parents=True, exist_ok=True)
    for name, frame in (("runs", runs), ("metrics", metrics)):
        target = out / f"{args.study}_{name}.{args.format}"
        write_frame(frame, target, args.format)
        print(f"wrote {target} ({frame.height} rows)")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    if args.game is not None and args.game not in GAMES:
        raise unknown_name("game", args.game, GAMES)
    spaces = {f"game {name}": spec.params for name, spec in GAMES.items() if args.game in (None, name)}
    spaces.update({f"learner {name}": cls.params for name, cls in LEARNERS.items()})
    for title, space in spaces.items():
        print(f"[{title}]")
        for key, p in space.params.items():
            print(f"  {key} = {p.default!r:<18} {p.allowed()}: {p.doc}")
    return 0


def cmd_figures(args: argparse.Namespace) -> int:
    from studies.figures import FIGURES, make_report_figures

    for name in args.study or []:
        if name not in FIGURES:
            raise unknown_name("--study", name, FIGURES, "among the REPORT.md figures")
    for path in make_report_figures(store.database_path(args.db), Path(args.out), args.study):
        print(f"wrote {path}")
    return 0


class Parser(argparse.ArgumentParser):
    """argparse's parser, whose refusals are one line, as the CLI's others are, with the closest known name
    for a misspelled command, choice or option ("did you mean ...?")."""

    def error(self, message: str) -> NoReturn:
        if message.startswith("unrecognized arguments: "):
            options = {option for action in self._every_action() for option in action.option_strings}
            given = [word.split("=")[0] for word in message.split(": ", 1)[1].split() if word.startswith("-")]
            hints = [hint for word in given if (hint := did_you_mean(word, options))]
            message += f": {' '.join(hints)}" if hints else ""
        else:
            message = with_suggestion(message)
        self.exit(2, f"error: {message.rstrip('.')} (`{self.prog} --help` shows the usage).\n")

    def _every_action(self) -> list[argparse.Action]:
        """This parser's arguments and its subcommands' (an unrecognized option is reported by the root)."""
        found = list(self._actions)
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    found += sub._actions
        return found


def parser() -> argparse.ArgumentParser:
    root = Parser(
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
    execution.add_argument("--device", default="cpu", choices=("cpu", "cuda"), help="cpu or cuda")
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
    run.add_argument(
        "--metric",
        action="append",
        help="show this metric in the summary it ends with (repeatable; default: the game's headline "
        f"metric and the next ones it declares, {KEY_OUTCOMES} in all)",
    )
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
    export.add_argument(
        "--format",
        choices=EXPORT_FORMATS,
        default="parquet",
        help="parquet (default) and json keep list columns such as voter_positions; csv writes them as JSON "
        "text",
    )
    export.add_argument("--out", default="data/exports")
    export.set_defaults(func=cmd_export)

    params = sub.add_parser("params", help="list game and learner parameters with their ranges")
    params.add_argument("game", nargs="?", help=f"only this game's parameters: {', '.join(GAMES)}")
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
        print(f"error: {with_suggestion(' '.join(str(error).splitlines()))}", file=sys.stderr)
        return 2
    except store.StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: complete runs are saved; run the same command again to resume.", file=sys.stderr)
        return 130
