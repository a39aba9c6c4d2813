"""Nothing lost, nothing let in: a store that survives a kill at any statement and any reader, files whose
contents are never run as SQL, and `studies query` confined to reading the store.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from helpers import run_python, tiny_config

from studies import runner, store, summaries
from studies.cli import main
from studies.config import plan_study

# A study whose creation and first ingests are killed, statement by statement, in forked children of one
# process (which imports torch once): each kill is followed by a rerun in a fresh child, and the store it
# leaves must hold exactly what an uninterrupted run writes.
KILL_AT_EVERY_STATEMENT = """
import json, os, sys
from pathlib import Path

import duckdb
import torch

torch.set_num_threads(1)
from studies import store
from studies.config import plan_study
from studies.runner import run_study
from studies.version import code_version

code_version()  # once, before the forks: the children inherit it
plan = plan_study({
    "study": {"name": "kills", "rounds": 4, "replications": 1, "seed": 3},
    "game": {"n_researchers": 6},
    "sweep": {"publish_null_prob": [0.0, 1.0]},
})
folder = Path(sys.argv[1])
KILL_AT = None  # the statement before which a child dies, as under SIGKILL: no cleanup, no rollback
count = [0]


class Killing:
    # The store's DuckDB host, counting the statements it runs and dying before the KILL_AT-th.
    STATEMENTS = {"execute", "sql", "begin", "commit", "rollback", "register"}

    def __init__(self, con):
        self._con = con

    def __getattr__(self, name):
        found = getattr(self._con, name)
        if name not in self.STATEMENTS:
            return found

        def statement(*args, **kwargs):
            if count[0] == KILL_AT:
                os._exit(137)
            count[0] += 1
            return found(*args, **kwargs)

        return statement


plain_get = store._Hosts.get


def get(self, read_only):
    con = plain_get(self, read_only)
    if not isinstance(con, Killing):
        con = self._connections[read_only] = Killing(con)
    return con


store._Hosts.get = get


def in_child(db, kill_at):
    pid = os.fork()
    if pid == 0:
        global KILL_AT
        KILL_AT = kill_at
        run_study(plan, db, batch_worlds=1, progress=False)  # two shards: two ingests
        (folder / "statements").write_text(str(count[0]))
        os._exit(0)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])


def contents(db):
    with duckdb.connect(str(db), read_only=True) as con:
        return {
            "studies": con.sql("SELECT study_id, name, swept_parameters, config FROM studies").fetchall(),
            "store_info": con.sql("SELECT * FROM store_info ORDER BY key").fetchall(),
            "runs": con.sql(
                "SELECT run_id, status, seed, config, publish_null_prob FROM runs ORDER BY run_id"
            ).fetchall(),
            "metrics": con.sql("SELECT * FROM metrics ORDER BY run_id, step, metric").fetchall(),
            "final": con.sql("SELECT * FROM final_metrics ORDER BY run_id, metric").fetchall(),
        }


reference = folder / "reference.duckdb"
assert in_child(reference, None) == 0
statements = int((folder / "statements").read_text())
expected = contents(reference)
failures = []
for kill_at in range(statements):
    db = folder / f"killed_{kill_at}.duckdb"
    killed = in_child(db, kill_at)
    rerun = in_child(db, None)
    if killed != 137 or rerun != 0:
        failures.append((kill_at, killed, rerun))
    elif contents(db) != expected:
        failures.append((kill_at, "differs"))
    elif list(folder.glob(f".{db.name}.new-*")):
        failures.append((kill_at, "a temporary store was left behind"))
print(json.dumps({"statements": statements, "failures": failures, "runs": len(expected["runs"])}))
"""


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_kill_before_any_statement_of_creation_or_ingest_is_finished_by_the_next_run(tmp_path):
    found = run_python(KILL_AT_EVERY_STATEMENT, str(tmp_path))
    assert found["runs"] == 2 and found["statements"] > 40  # creation, registration, two ingests
    assert found["failures"] == []


def test_a_half_made_store_from_an_older_version_is_finished(tmp_path, capsys):
    """The issue's repro: a kill after the first of the schema's statements, when each committed alone."""
    reference = tmp_path / "reference.duckdb"
    runner.run_study(plan_study(tiny_config()), reference, progress=False)
    db = tmp_path / "results.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE store_info(key VARCHAR PRIMARY KEY, value VARCHAR)")
    study = tmp_path / "tiny.toml"
    study.write_text(
        '[study]\nname = "tiny"\nrounds = 40\nreplications = 2\nseed = 7\n[game]\nn_researchers = 20\n'
        "[sweep]\npublish_null_prob = [0.0, 1.0]\n"
    )
    assert main(["check", str(study), "--db", str(db)]) == 0
    assert main(["run", str(study), "--db", str(db), "--quiet"]) == 0
    sql = "SELECT run_id, m.step, m.metric, m.value FROM metrics m JOIN runs USING (run_id) ORDER BY ALL"
    assert store.query(db, sql).equals(store.query(reference, sql))
    assert store.query(db, "SELECT count(*) AS n FROM store_info")["n"][0] == 2


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE patients (id INTEGER)",  # another program's empty table
        "CREATE TABLE store_info(key VARCHAR, value VARCHAR); CREATE TABLE runs (run_id VARCHAR);"
        "INSERT INTO runs VALUES ('x')",  # not empty: someone's data, not a cut-short creation
    ],
)
def test_what_is_not_a_half_made_store_is_still_refused_and_untouched(tiny_plan, tmp_path, sql):
    db = tmp_path / "other.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(sql)
    before = digest(db)
    with pytest.raises(store.StoreError, match="a DuckDB database of something else"):
        runner.run_study(tiny_plan, db, progress=False)
    assert digest(db) == before


HOLD_READ_ONLY = """
import sys, time
import duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_reader_holding_the_file_pauses_a_study_and_loses_nothing(tiny_plan, db, monkeypatch, capsys):
    """As `duckdb -readonly` left open while a study writes: the study waits, saying so, then completes."""
    monkeypatch.setattr(store, "LOCK_TIMEOUT_S", 0.5)  # a writer waits past any reader's patience
    store.ensure_schema(db)
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_ONLY, str(db), "3"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "holding"
        begun = time.monotonic()
        report = runner.run_study(tiny_plan, db, progress=True)
        waited = time.monotonic() - begun
    finally:
        reader.wait(timeout=30)
    assert report.completed == 4 and waited > 1.5
    err = capsys.readouterr().err
    assert "waiting" in err and "holds it" in err  # on the progress line
    runs = store.query(db, "SELECT count(*) AS n FROM runs WHERE status = 'complete'")["n"][0]
    assert runs == 4


def test_a_quiet_study_says_once_that_it_waits(tiny_plan, db, capsys):
    store.ensure_schema(db)
    reader = subprocess.Popen(
        [sys.executable, "-c", HOLD_READ_ONLY, str(db), "2"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout.readline().strip() == "holding"
        assert runner.run_study(tiny_plan, db, progress=False).completed == 4
    finally:
        reader.wait(timeout=30)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("waiting")]
    assert len(lines) == 1 and "python" in lines[0] and "holds it" in lines[0]


CRAFTED = "design_point\" FROM runs r; COPY (SELECT 'x') TO 'pwned.txt'; SELECT r.\"publish_null_prob"


def crafted_store(db: Path) -> None:
    """A results file as someone might share it: its swept_parameters hold SQL."""
    runner.run_study(plan_study(tiny_config()), db, progress=False)
    with duckdb.connect(str(db)) as con:
        con.execute("UPDATE studies SET swept_parameters = [?]", [CRAFTED])


def test_a_crafted_file_runs_nothing_in_summary(tmp_path, monkeypatch, capsys):
    db = tmp_path / "shared.duckdb"
    crafted_store(db)
    before = digest(db)
    monkeypatch.chdir(tmp_path)
    assert main(["summary", "tiny", "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: study 'tiny-") and "not columns of its runs" in err and err.count("\n") == 1
    study_id = store.query(db, "SELECT study_id FROM studies")["study_id"][0]
    for read in (summaries.outcome_by_design_point, summaries.time_course):
        with pytest.raises(store.StoreError, match="not columns of its runs"):
            read(db, study_id, "mean_rigor")
    assert not list(tmp_path.glob("pwned*")) and not Path("pwned.txt").exists()
    assert digest(db) == before


def test_identifiers_are_quoted_and_a_second_statement_is_never_run(db, tmp_path, monkeypatch):
    """Even past the schema check, a name is one identifier and a query one statement."""
    runner.run_study(plan_study(tiny_config()), db, progress=False)
    monkeypatch.chdir(tmp_path)
    name = store.quote_identifier(CRAFTED)
    with pytest.raises(store.QueryError, match=r"not found|does not have a column"):
        store.query(db, f"SELECT {name} FROM runs")
    with pytest.raises(store.QueryError, match="it holds 3 statements, and one is allowed"):
        store.query(db, f'SELECT r."{CRAFTED}" FROM runs r')
    assert not list(tmp_path.glob("pwned*"))


REFUSED = {
    "copy_to_csv": "COPY (SELECT * FROM runs) TO 'leak.csv'",
    "copy_over_another_store": "COPY (SELECT * FROM runs) TO 'other_results.duckdb' (FORMAT csv)",
    "export_database": "EXPORT DATABASE 'exported'",
    "read_csv": "SELECT * FROM read_csv('/etc/passwd')",
    "read_text": "SELECT * FROM read_text('/etc/passwd')",
    "read_blob": "SELECT * FROM read_blob('/etc/passwd')",
    "glob": "SELECT * FROM glob('/root/*')",
    "second_statement": "SELECT 1; COPY (SELECT 1) TO 'leak.csv'",
    "replacement_scan": "SELECT * FROM '/etc/passwd'",
    "attach": "ATTACH 'other_results.duckdb' AS other",
    "install": "INSTALL httpfs",
    "load": "LOAD httpfs",
    "setting": "SET enable_external_access = true",
    "delete": "DELETE FROM runs",
}


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("query") / "results.duckdb"
    runner.run_study(plan_study(tiny_config()), db, progress=False)
    return db


@pytest.mark.parametrize("sql", REFUSED.values(), ids=REFUSED.keys())
def test_studies_query_refuses_what_reaches_outside_the_store(
    sql, small_store, tmp_path, monkeypatch, capsys
):
    other = tmp_path / "other_results.duckdb"
    other.write_bytes(small_store.read_bytes())
    before, files = digest(small_store), set(tmp_path.iterdir())
    monkeypatch.chdir(tmp_path)
    assert main(["query", sql, "--db", str(small_store)]) == 2
    assert capsys.readouterr().err.startswith("error: the query")
    assert set(tmp_path.iterdir()) == files and digest(other) == digest(small_store) == before


@pytest.mark.parametrize("sql", [REFUSED[key] for key in ("copy_to_csv", "export_database", "attach")])
def test_duckdb_itself_refuses_what_the_statement_check_would_let_through(
    sql, small_store, tmp_path, monkeypatch
):
    """The statement check is the first wall; the connection's own settings are the second."""
    every_kind = {kind: kind.name for kind in duckdb.StatementType.__members__.values()}
    monkeypatch.setattr(store, "QUERY_KINDS", every_kind)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(store.QueryError, match=r"disabled (by|through) configuration"):
        store.user_query(small_store, sql)
    assert list(tmp_path.iterdir()) == []


def test_studies_query_stops_a_long_query_within_its_time_limit(small_store, capsys):
    cross_join = "SELECT sum(a.range * b.range) FROM range(1000000) a, range(1000000) b"
    begun = time.monotonic()
    assert main(["query", cross_join, "--db", str(small_store), "--timeout", "1"]) == 2
    assert time.monotonic() - begun < 5
    assert "ran past its time limit of 1 s and was stopped" in capsys.readouterr().err
    assert main(["query", "SELECT 1 AS one", "--db", str(small_store), "--format", "csv"]) == 0  # file free


def test_studies_query_shows_at_most_its_row_limit(small_store, capsys):
    assert main(["query", "SELECT * FROM range(50)", "--db", str(small_store), "--format", "json",
                 "--max-rows", "10"]) == 0  # fmt: skip
    out, err = capsys.readouterr()
    assert len(json.loads(out)) == 10 and "only the first 10 rows are shown" in err
    assert main(["query", "SELECT * FROM range(50) ORDER BY 1 DESC", "--db", str(small_store)]) == 0
    assert "only the first" not in capsys.readouterr().err
    frame, more = store.user_query(small_store, "SELECT * FROM range(50) ORDER BY 1 DESC", max_rows=3)
    assert frame["range"].to_list() == [49, 48, 47] and more
    assert main(["query", "SELECT 1", "--db", str(small_store), "--max-rows", "0"]) == 2
    assert "--max-rows 0 is not allowed" in capsys.readouterr().err
