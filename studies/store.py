"""The results store: one DuckDB file with tables `studies`, `runs`, `metrics`, `sensitivity` and
`benchmarks`, and a view `final_metrics`.

DuckDB allows one read-write process or many read-only ones, never both. So nobody holds the file longer
than one query or one write, and opening retries while another process holds the lock: a study and the
explorer (or `python -m studies query`) can then share the file. A writer waits for the lock as long as it
takes (a reader holding the file, such as an open `duckdb -readonly`, pauses a study; it never fails it);
a reader gives up after LOCK_TIMEOUT_S. The file is attached to a process-wide
in-memory DuckDB for each query or write and detached after: attaching takes about 1 ms where a new
connection takes 15-30 ms, which was a fifth of the default study's store time and of every explorer query.

A batch of runs is written in one transaction, so a run is either complete in the database or absent:
an interrupted study loses at most the batch in flight, and rerunning it redoes just that. A new store is
made whole under a temporary name and linked into place, its schema in one transaction, so a kill while it
is created leaves no half-made file; one that an older version left half-made (an empty `store_info` and
nothing else) is recognised and finished.

Nothing read from a file is run as SQL: the tool's queries take values as parameters, quote identifiers,
and run one statement at a time; a user's query (`python -m studies query`) runs on a connection that
cannot reach outside the file (`user_query`).
"""

from __future__ import annotations

import contextlib
import glob
import json
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from studies.config import StudyPlan
from studies.version import code_version
from studies.worker import Shard, parameter_columns

DEFAULT_DB = Path("data") / "results.duckdb"
SCHEMA_VERSION = "1"
LOCK_TIMEOUT_S = 60.0  # how long a reader waits for a writer; writers wait as long as it takes
# `python -m studies query`: at most this many rows come back, and a query is stopped after this long (so
# that it never holds the file, and a waiting study, for more); --max-rows and --timeout change them.
QUERY_MAX_ROWS = 10_000
QUERY_TIMEOUT_S = 60.0
# Files stay readable by DuckDB 1.3 (May 2025) and later, such as the plain `duckdb` CLI on PyPI (1.5),
# which cannot open DuckDB 2.0's own format; 1.3's is the first with DICT_FSST strings, which make the
# default study's write 22% faster (73 -> 57 ms) and its file 15% smaller than 1.0's. Writes run on one
# thread and checkpoint at commit: every write is one transaction of a file detached right after, so a
# write-ahead log would be written only to be checkpointed at detach (113 ms against 90, measured with 1.0).
WRITE_CONFIG = {"storage_compatibility_version": "v1.3.0", "threads": 1, "checkpoint_threshold": "1KB"}
RESERVED_CATALOGS = {"memory", "system", "temp", "main"}
CATALOG_TABLES = "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database()"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS store_info (key VARCHAR PRIMARY KEY, value VARCHAR);
INSERT OR IGNORE INTO store_info
    VALUES ('schema_version', '{SCHEMA_VERSION}'), ('created_by', 'reward-design-lab');
CREATE TABLE IF NOT EXISTS studies (
    study_id VARCHAR PRIMARY KEY,
    name VARCHAR NOT NULL,
    description VARCHAR,
    game VARCHAR NOT NULL,
    swept_parameters VARCHAR[],
    design VARCHAR,
    design_points INTEGER,
    replications INTEGER,
    rounds INTEGER,
    record_every INTEGER,
    study_seed UBIGINT,
    config JSON,
    source_file VARCHAR,
    created_at TIMESTAMPTZ,
    code_commit VARCHAR
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY,
    study_id VARCHAR NOT NULL,
    game VARCHAR NOT NULL,
    design_point INTEGER NOT NULL,
    replicate INTEGER NOT NULL,
    seed UBIGINT NOT NULL,
    rounds INTEGER NOT NULL,
    record_every INTEGER NOT NULL,
    learner VARCHAR,
    config JSON,
    code_commit VARCHAR,
    code_dirty BOOLEAN,
    code_diff VARCHAR,
    package_versions JSON,
    status VARCHAR NOT NULL,
    device VARCHAR,
    batch_worlds INTEGER,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    wall_seconds DOUBLE
);
CREATE TABLE IF NOT EXISTS sensitivity (
    study_id VARCHAR NOT NULL,
    method VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    parameter VARCHAR NOT NULL,
    statistic VARCHAR NOT NULL,
    value DOUBLE,
    ci_low DOUBLE,
    ci_high DOUBLE,
    design_points INTEGER,
    computed_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS metrics (run_id VARCHAR NOT NULL, step INTEGER NOT NULL, metric VARCHAR NOT NULL,
                                    value DOUBLE NOT NULL);
-- `python -m studies bench`: one row per measured case (see benchmarks/suite.py).
CREATE TABLE IF NOT EXISTS benchmarks (
    bench_id VARCHAR NOT NULL,
    measured_at TIMESTAMPTZ,
    game VARCHAR NOT NULL,
    rule VARCHAR,
    scenario VARCHAR,
    method VARCHAR NOT NULL,
    agents INTEGER,
    agents_per_world INTEGER,
    worlds INTEGER,
    rounds INTEGER,
    decisions BIGINT,
    seconds DOUBLE,
    decisions_per_second DOUBLE,
    peak_bytes_per_agent DOUBLE,
    state_bytes_per_agent DOUBLE,
    overhead_share DOUBLE,
    fused BOOLEAN,
    threads INTEGER,
    device VARCHAR,
    code_commit VARCHAR,
    code_dirty BOOLEAN,
    code_diff VARCHAR,
    package_versions JSON,
    machine JSON
);
-- Stores written before code_diff (the fingerprint of uncommitted code changes) get the column, empty.
ALTER TABLE runs ADD COLUMN IF NOT EXISTS code_diff VARCHAR;
ALTER TABLE benchmarks ADD COLUMN IF NOT EXISTS code_diff VARCHAR;
-- and before the engine's kernels could be fused (models/speed): unknown, empty.
ALTER TABLE benchmarks ADD COLUMN IF NOT EXISTS fused BOOLEAN;
-- and before the bench measured named scenarios (benchmarks/suite.py SCENARIOS): the game's defaults, empty.
ALTER TABLE benchmarks ADD COLUMN IF NOT EXISTS scenario VARCHAR;
-- A run's outcome: its last tenth of rounds, or at least its last recorded round when recording is sparse.
CREATE OR REPLACE VIEW final_metrics AS
    SELECT m.run_id, m.metric, avg(m.value) AS value, count(*) AS steps_averaged
    FROM metrics m JOIN runs r USING (run_id)
    WHERE m.step >= least(r.rounds - greatest(r.rounds // 10, 1),
                          (r.rounds - 1) // r.record_every * r.record_every)
    GROUP BY m.run_id, m.metric;
"""

STORE_TABLES = {"store_info", "studies", "runs", "sensitivity", "metrics", "benchmarks"}
# What a user's query may be: one statement that reads (DESCRIBE, SHOW, SUMMARIZE and PIVOT parse as SELECT).
QUERY_KINDS = {
    duckdb.StatementType.SELECT: "SELECT",
    duckdb.StatementType.EXPLAIN: "EXPLAIN",
    duckdb.StatementType.PRAGMA: "PRAGMA",
    duckdb.StatementType.CALL: "CALL",
}

SQL_TYPES = {int: "BIGINT", float: "DOUBLE", str: "VARCHAR", bool: "BOOLEAN", list: "DOUBLE[]"}


class StoreError(RuntimeError):
    """The results database cannot be used as asked; the message says why and what to do."""


class QueryTimeout(StoreError):
    """A user's query stopped at its time limit."""


class QueryError(StoreError):
    """A query the database refused (bad SQL, a write on a read-only connection, a missing table)."""


def database_path(option: str | os.PathLike | None = None) -> Path:
    """--db PATH, else the STUDIES_DB environment variable, else data/results.duckdb."""
    return Path(option or os.environ.get("STUDIES_DB") or DEFAULT_DB)


# Told, while a block waits for another process's lock, how long it has waited and who holds the file.
OnWait = Callable[[float, str], None]


@contextlib.contextmanager
def connect(
    path: Path, read_only: bool = False, timeout: float | None = None, on_wait: OnWait | None = None
) -> Iterator[Any]:
    """A connection to the store, the file held only for the block. While another process holds the file's
    lock it waits: a reader up to `timeout` (LOCK_TIMEOUT_S by default), a writer as long as it takes, so
    that a reader never fails a study; `on_wait` hears of the wait. One block at a time per process (the
    hosts are shared): blocks must not nest."""
    if timeout is None:
        timeout = LOCK_TIMEOUT_S if read_only else math.inf
    if read_only and not path.exists():
        raise StoreError(
            f"there is no results database at {path}: run a study first, for example "
            "`python -m studies run studies/publication_bias.toml`."
        )
    if not read_only:
        check_writable(path)
    if not _HOSTS.lock.acquire(timeout=-1 if math.isinf(timeout) else timeout):
        raise StoreError(f"cannot open the results database {path}: another thread kept it {timeout:.0f} s.")
    try:
        con = _HOSTS.get(read_only)
        _HOSTS.spoiled = False
        try:
            catalog = _attach(con, path, read_only, timeout, on_wait)
        except BaseException:
            _HOSTS.drop(read_only)  # whatever the failed attempt left attached goes with it
            raise
        try:
            yield con
        except BaseException:
            _HOSTS.drop(read_only)  # closing it rolls back what the block left open and frees the file
            raise
        _HOSTS.release(read_only, catalog)
    finally:
        _HOSTS.lock.release()


def _attach(con: Any, path: Path, read_only: bool, timeout: float, on_wait: OnWait | None) -> str:
    """Attach the file as the connection's current database, named as DuckDB names a file it opens
    (`results` for results.duckdb); return that name. Retries while another process holds the lock."""
    catalog = path.name.split(".")[0] or "store"
    if catalog.lower() in RESERVED_CATALOGS:
        catalog += "_db"
    options = " (READ_ONLY)" if read_only else ""
    _retry_while_locked(
        lambda: con.execute(f"ATTACH {quote_literal(path)} AS {quote_identifier(catalog)}{options}"),
        path,
        timeout,
        on_wait,
    )
    con.execute(f"USE {quote_identifier(catalog)}")
    # Large queries spill next to the database, as a connection of its own would, not into the cwd.
    con.execute(f"SET temp_directory = {quote_literal(path.with_name(path.name + '.tmp'))}")
    return catalog


def _retry_while_locked(
    open_file: Callable[[], Any], path: Path, timeout: float, on_wait: OnWait | None
) -> Any:
    """open_file(), again and again while another process holds the file's lock, for up to `timeout` s."""
    begun, pause = time.monotonic(), 0.02
    while True:
        try:
            return open_file()
        except duckdb.Error as error:
            if "not a valid DuckDB database" in str(error):
                raise StoreError(
                    f"{path} is not a DuckDB database (or it is damaged): choose another file with --db "
                    "or STUDIES_DB; this one was left as it was."
                ) from None
            waited = time.monotonic() - begun
            if "lock" not in str(error).lower() or waited > timeout:
                raise StoreError(f"cannot open the results database {path}: {error}") from None
            if on_wait is not None:
                on_wait(waited, lock_holder(str(error)))
            time.sleep(pause * random.uniform(0.5, 1.5))  # jitter: waiting processes do not retry in step
            pause = min(pause * 2, 0.1)


def lock_holder(message: str) -> str:
    """Who holds the file, from DuckDB's lock error ('... lock is held in /usr/bin/duckdb (PID 42) ...')."""
    found = re.search(r"held in (\S+) \(PID (\d+)\)", message)
    return f"{Path(found[1]).name} (PID {found[2]})" if found else "another process"


class _Hosts:
    """The process's two in-memory DuckDB connections the store file is attached to: one configured for
    writes, one for reads (DuckDB's settings, threads included, belong to a database instance).

    A host that a block may have changed (an error, a user's SQL, a temporary table) is dropped and made
    anew on next use. Before a fork both are closed (a child cannot use the parent's DuckDB threads, and
    would crash at exit), and the child gets its own lock.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._connections: dict[bool, Any] = {}
        self.spoiled = False  # set by a block whose SQL may have changed its host: dropped after it
        self._forking_with_lock = False
        self._inherited: list[Any] = []  # a parent's hosts, kept unclosed: closing them in a child crashes
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(
                before=self._before_fork, after_in_parent=self._after_fork, after_in_child=self._in_child
            )

    def get(self, read_only: bool) -> Any:
        if read_only not in self._connections:
            self._connections[read_only] = duckdb.connect(
                ":memory:", config={} if read_only else WRITE_CONFIG
            )
        return self._connections[read_only]

    def release(self, read_only: bool, catalog: str) -> None:
        """Detach the file and forget the frames registered for a write; drop the host instead if the
        block left anything else behind (a temporary table, another attached database)."""
        con = self._connections[read_only]
        try:
            if hasattr(con, "complete"):  # duckdb 2 refuses other work while a result is unread
                con.complete()
            with contextlib.suppress(duckdb.Error):
                con.rollback()  # an open transaction would keep the file attached past the DETACH
            con.execute("USE memory")
            con.execute(f"DETACH {quote_identifier(catalog)}")
            views, leftovers = con.execute(
                "SELECT (SELECT list(view_name) FROM duckdb_views() WHERE temporary AND NOT internal), "
                "(SELECT count(*) FROM duckdb_tables()) + (SELECT count(*) FROM duckdb_databases() "
                "WHERE database_name NOT IN ('memory', 'system', 'temp'))"
            ).fetchall()[0]
            for view in views or []:
                con.unregister(view)
        except Exception:
            leftovers = 1
        if leftovers or self.spoiled:
            self.drop(read_only)

    def drop(self, read_only: bool) -> None:
        self._connections.pop(read_only).close()

    def _before_fork(self) -> None:
        # A fork from inside a block (this thread holds the lock) cannot wait for it; its hosts stay.
        self._forking_with_lock = self.lock.acquire(timeout=LOCK_TIMEOUT_S)
        if self._forking_with_lock:
            for read_only in list(self._connections):
                self.drop(read_only)

    def _after_fork(self) -> None:
        if self._forking_with_lock:
            self.lock.release()

    def _in_child(self) -> None:
        self.lock = threading.Lock()
        self._inherited += self._connections.values()
        self._connections = {}


_HOSTS = _Hosts()


def quote_identifier(name: str) -> str:
    """A name as one SQL identifier, whatever it holds (`a"b` is `"a""b"`): never SQL of its own."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str | os.PathLike) -> str:
    """Text as one SQL string literal, whatever it holds."""
    return "'" + str(text).replace("'", "''") + "'"


def check_writable(path: Path) -> None:
    """Refuse, with the reason, a database path whose folder cannot be created or written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        probe = path.parent / f".{path.name}.probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as error:
        raise StoreError(
            f"cannot write the results database at {path}: {error.strerror or error}; choose a writable "
            "path with --db or STUDIES_DB."
        ) from None


def check_database(path: Path) -> None:
    """Refuse a file that is not this tool's results store (another program's DuckDB, another schema)
    before anything writes to it, so it is left exactly as it was."""
    if not path.exists():
        check_writable(path)
        return
    with connect(path, read_only=True) as con:
        _store_tables(con, path)


def _store_tables(con: Any, path: Path) -> list[str]:
    """The tables of an open database, after refusing one that is not this tool's store; none for a store
    that an older version left half-made (it is finished by the next write)."""
    tables = sorted(row[0] for row in con.execute(CATALOG_TABLES).fetchall())
    if not tables:
        return tables
    info = dict(con.execute("SELECT key, value FROM store_info").fetchall()) if "store_info" in tables else {}
    if not info and _half_made(con, tables):
        return []
    if info.get("created_by") != "reward-design-lab":
        raise StoreError(
            f"{path} is a DuckDB database of something else (tables: {', '.join(tables[:6])}): choose "
            "another file with --db or STUDIES_DB; this one was left as it was."
        )
    if info.get("schema_version") != SCHEMA_VERSION:
        raise StoreError(
            f"{path} holds results in store schema {info.get('schema_version')}, and this code writes schema "
            f"{SCHEMA_VERSION}: write to a new file with --db (the old one was left as it was)."
        )
    return tables


def _half_made(con: Any, tables: list[str]) -> bool:
    """A store whose creation was cut short before it said whose it is: an empty `store_info` and at most
    others of this store's tables, all empty. Nothing in it can be lost by finishing it."""
    if "store_info" not in tables or not set(tables) <= STORE_TABLES:
        return False
    counts = " + ".join(f"(SELECT count(*) FROM {quote_identifier(table)})" for table in tables)
    return con.execute(f"SELECT {counts}").fetchone()[0] == 0


def _create(path: Path) -> None:
    """Make a missing store whole under a temporary name, then link it into place: a kill at any moment
    leaves no store or a complete one (and perhaps the temporary file, removed by a later creation)."""
    _remove_abandoned(path)
    if path.exists():
        return
    temporary = path.with_name(f".{path.name}.new-{os.getpid()}-{threading.get_ident()}")
    try:
        with connect(temporary) as con:
            con.begin()
            _write_schema(con)
            con.commit()
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass  # another process made it meanwhile: theirs serves as well
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(temporary, path)
    finally:
        for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
            leftover.unlink(missing_ok=True)


def _remove_abandoned(path: Path) -> None:
    """Temporary stores of processes that were killed while creating this one."""
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.new-*"):
        pid = leftover.name.rsplit(".new-", 1)[1].split("-")[0]
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if os.name == "nt":  # there, os.kill would end the process: keep its file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # another user's
    return True


@contextlib.contextmanager
def _writing(path: Path, on_wait: OnWait | None = None) -> Iterator[Any]:
    """One write transaction on the store, which is created if missing; the schema's statements run first
    in the same transaction, so a half-made or older store is finished by the write, or not at all."""
    _create(path)
    with connect(path, on_wait=on_wait) as con:
        _store_tables(con, path)  # refuses a foreign file that appeared since the first look
        con.begin()
        _write_schema(con)
        yield con
        con.commit()


def _write_schema(con: Any) -> None:
    """The schema's statements, one at a time, in the caller's transaction: a store has its whole schema or
    none of it."""
    for statement in con.extract_statements(SCHEMA):
        con.execute(statement.query)


def ensure_schema(path: Path) -> None:
    """An empty results store: the tables and views, no study."""
    with _writing(path):
        pass


def column_name(sweep_key: str) -> str:
    """The runs column of a parameter: `base_rate`, or `researcher_temperature` for a learner's."""
    parts = sweep_key.split(".")
    return parts[0] if len(parts) == 1 else f"{parts[1]}_{parts[2]}"


def _column_types(plan: StudyPlan) -> dict[str, str]:
    """The runs columns of the plan's parameters: those of every design point, which differ where a study
    sweeps a role's learner family (each family has its own parameters)."""
    types: dict[str, str] = {}
    for run in plan.runs:
        if run.replicate == 0:
            for name, value in parameter_columns(run).items():
                types.setdefault(name, SQL_TYPES[type(value)])
    return types


def register_study(path: Path, plan: StudyPlan, on_wait: OnWait | None = None) -> None:
    """Create the store if needed and record the study (once; rerunning keeps the first record), in one
    transaction."""
    version = code_version()
    with _writing(path, on_wait) as con:
        for name, sql_type in _column_types(plan).items():
            con.execute(f"ALTER TABLE runs ADD COLUMN IF NOT EXISTS {quote_identifier(name)} {sql_type}")
        con.execute(
            "INSERT OR IGNORE INTO studies VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                plan.study_id,
                plan.name,
                plan.description,
                plan.game.name,
                [column_name(key) for key in plan.swept],
                plan.design["kind"],
                plan.design_points,
                plan.replications,
                plan.rounds,
                plan.record_every,
                plan.seed,
                json.dumps(plan.config, sort_keys=True),
                plan.source,
                datetime.now(UTC),
                version["commit"],
            ],
        )


def completed_run_ids(path: Path, study_id: str) -> set[str]:
    """The study's complete runs, after refusing a database that is not this tool's store (as
    check_database does, in the same block)."""
    if not path.exists():
        check_writable(path)
        return set()
    with connect(path, read_only=True) as con:
        if "runs" not in _store_tables(con, path):
            return set()
        rows = con.execute(
            "SELECT run_id FROM runs WHERE study_id = ? AND status = 'complete'", [study_id]
        ).fetchall()
    return {row[0] for row in rows}


def ingest(path: Path, shard: Shard, on_wait: OnWait | None = None) -> int:
    """Add a shard's complete runs in one transaction, skipping runs already stored; return how many."""
    runs, metrics = shard.runs, shard.metrics
    with connect(path, on_wait=on_wait) as con:
        con.begin()
        try:
            stored = {
                row[0]
                for row in con.execute(
                    "SELECT run_id FROM runs WHERE list_contains(?, run_id)", [shard.run_ids]
                ).fetchall()
            }
            fresh_runs, fresh_metrics = runs, metrics
            if stored:
                fresh_runs = runs.filter(~pl.col("run_id").is_in(list(stored)))
                fresh_metrics = metrics.filter(~pl.col("run_id").is_in(list(stored)))
            con.register("shard_runs", ArrowStream(fresh_runs))
            con.register("shard_metrics", ArrowStream(fresh_metrics))
            con.execute("INSERT INTO runs BY NAME SELECT * FROM shard_runs")
            con.execute("INSERT INTO metrics SELECT * FROM shard_metrics")
            con.commit()
        except Exception:
            con.rollback()
            raise
    return fresh_runs.height


class ArrowStream:
    """A polars frame as DuckDB should read it: through the Arrow C stream interface. Registering the frame
    itself makes DuckDB convert it with pyarrow, whose import costs 30-70 ms in every new process."""

    def __init__(self, frame: pl.DataFrame) -> None:
        # A column of nulls only (polars' Null type) is sent typed: DuckDB refuses an Arrow null array.
        self.frame = frame.with_columns(pl.col(pl.Null).cast(pl.String))

    def __arrow_c_stream__(self, requested_schema: object = None) -> object:
        return self.frame.__arrow_c_stream__(requested_schema)


def write_benchmark(path: Path, row: dict[str, Any]) -> None:
    """Add one measured benchmark case (creating the store if missing)."""
    with _writing(path) as con:
        con.register("bench_row", ArrowStream(pl.DataFrame([row], infer_schema_length=None)))
        con.execute("INSERT INTO benchmarks BY NAME SELECT * FROM bench_row")


def write_sensitivity(path: Path, study_id: str, frame: pl.DataFrame, on_wait: OnWait | None = None) -> None:
    """Replace a study's sensitivity indices with a fresh analysis."""
    with connect(path, on_wait=on_wait) as con:
        con.begin()
        con.execute("DELETE FROM sensitivity WHERE study_id = ?", [study_id])
        con.register("indices", ArrowStream(frame))
        con.execute("INSERT INTO sensitivity BY NAME SELECT * FROM indices")
        con.commit()


def query(path: Path, sql: str, parameters: list[Any] | None = None) -> pl.DataFrame:
    """Run one of the tool's read-only queries and return its result: one statement (a second, however it
    got there, is refused rather than run); refuses writes, and ATTACH and DETACH, through which SQL could
    reach the file (or another) for writing. A user's SQL goes to `user_query` instead."""
    with connect(path, read_only=True) as con:
        try:
            statements = con.extract_statements(sql)
            kinds = {statement.type for statement in statements}
            if kinds & {duckdb.StatementType.ATTACH, duckdb.StatementType.DETACH}:
                raise QueryError(
                    "the query failed: ATTACH and DETACH are not allowed here, where the results store is "
                    "open read-only: open another database with the duckdb CLI; query this one with SELECT."
                )
            if len(statements) != 1:
                raise QueryError(
                    f"the query failed: it holds {len(statements)} statements, and one is allowed: run them "
                    "one at a time."
                )
            # SET, USE, CREATE TEMP, BEGIN ... outlive the query on the host: a fresh host after them.
            _HOSTS.spoiled = not kinds <= {duckdb.StatementType.SELECT, duckdb.StatementType.EXPLAIN}
            relation = con.sql(sql, params=parameters or None)
            return relation.pl() if relation is not None else pl.DataFrame()
        except duckdb.Error as error:
            raise QueryError(f"the query failed: {error}") from None


def user_query(
    path: Path, sql: str, max_rows: int = QUERY_MAX_ROWS, timeout_s: float = QUERY_TIMEOUT_S
) -> tuple[pl.DataFrame, bool]:
    """Run a user's SQL, confined to reading the store: the first `max_rows` rows of its result, and
    whether there were more. Users share results files and paste queries, so the query runs on a
    connection of its own that DuckDB itself keeps from every file but the store (enable_external_access
    off: no COPY TO, EXPORT, read_csv, read_text, glob, ATTACH, extensions), whose settings the query
    cannot change back (lock_configuration); it must be one statement that reads, and it is interrupted
    after `timeout_s` seconds so that it never holds the file (and a waiting study) for longer."""
    try:
        # Parsed on a DuckDB of its own, closed at once: the module's default one would outlive the call
        # and hang a forked child at exit.
        with duckdb.connect(":memory:") as parser:
            statements = parser.extract_statements(sql)
    except duckdb.Error as error:
        raise QueryError(f"the query failed: {error}") from None
    if len(statements) != 1:
        raise QueryError(
            f"the query holds {len(statements)} statements: allowed is exactly one (run them one at a time)."
        )
    kind = statements[0].type
    if kind not in QUERY_KINDS:
        article = "an" if kind.name[0] in "AEIOU" else "a"
        raise QueryError(
            f"the query is {article} {kind.name} statement, which is not allowed here: allowed is one query "
            f"that reads ({', '.join(QUERY_KINDS.values())}); the store is read-only, and nothing outside it "
            "can be read or written."
        )
    if not path.exists():
        raise StoreError(
            f"there is no results database at {path}: run a study first, for example "
            "`python -m studies run studies/publication_bias.toml`."
        )
    confined = {
        "enable_external_access": False,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
        "lock_configuration": True,
    }
    con = _retry_while_locked(
        lambda: duckdb.connect(str(path), read_only=True, config=confined), path, LOCK_TIMEOUT_S, None
    )

    def stop() -> None:
        with contextlib.suppress(duckdb.Error):  # the query may have ended, and the connection closed
            con.interrupt()

    timer = threading.Timer(timeout_s, stop)
    timer.daemon = True
    try:
        timer.start()
        relation = con.sql(sql)
        frame = relation.limit(max_rows + 1).pl() if relation is not None else pl.DataFrame()
    except duckdb.InterruptException:
        raise QueryTimeout(
            f"the query ran past its time limit of {timeout_s:g} s and was stopped: narrow it, or allow more "
            "time with --timeout SECONDS."
        ) from None
    except duckdb.Error as error:
        raise QueryError(f"the query failed: {error}") from None
    except (pl.exceptions.PolarsError, ValueError, TypeError) as error:  # a type polars cannot hold
        reason = str(error).split(". ")[0].rstrip(".")
        raise QueryError(
            f"the result has a column of a type that cannot be shown ({reason}): cast it to text with "
            "CAST(column AS VARCHAR)."
        ) from None
    finally:
        timer.cancel()
        con.close()
    return frame.head(max_rows), frame.height > max_rows


def list_studies(path: Path) -> pl.DataFrame:
    """Every study with its progress, oldest first; empty for a database that holds no study table yet."""
    with connect(path, read_only=True) as con:
        tables = {row[0] for row in con.execute(CATALOG_TABLES).fetchall()}
        if not {"studies", "runs", "metrics"} <= tables:
            return pl.DataFrame()
        return con.sql(
            """
            SELECT s.name, s.study_id, s.game, array_to_string(s.swept_parameters, ', ') AS swept,
                   count(r.run_id) AS runs_complete, s.design_points * s.replications AS runs_planned,
                   s.rounds, strftime(s.created_at, '%Y-%m-%d %H:%M') AS created
            FROM studies s LEFT JOIN runs r ON r.study_id = s.study_id AND r.status = 'complete'
            GROUP BY ALL ORDER BY max(s.created_at), s.study_id
            """
        ).pl()
