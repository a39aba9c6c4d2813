"""`python -m studies`: run, check, list, query, export, params, and clear refusals."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from studies import store
from studies.cli import main
from studies.version import code_version

TINY_TOML = """
[study]
name = "cli_tiny"
rounds = 30
replications = 2
seed = 3

[game]
n_researchers = 15

[sweep]
publish_null_prob = [0.0, 1.0]
"""


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(TINY_TOML)
    return path


def test_run_list_query_export(study_file, db, tmp_path, capsys):
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "4 run(s) completed" in err and "world-rounds/s; metrics and store writes" in err
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0  # nothing left: no speed to tell
    err = capsys.readouterr().err
    assert "0 run(s) completed, 4 already complete" in err and "store writes" not in err

    assert main(["list", "--db", str(db), "--format", "csv"]) == 0
    listing = capsys.readouterr().out
    assert "cli_tiny" in listing and ",4,4," in listing

    assert main(["query", "SELECT count(*) AS n FROM runs", "--db", str(db), "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "4"]
    # List columns (CSV has none) come out as JSON text.
    listed = "SELECT swept_parameters, [1.5, 2.0] AS xs FROM studies"
    assert main(["query", listed, "--db", str(db), "--format", "csv"]) == 0
    rows = pl.read_csv(io.StringIO(capsys.readouterr().out))
    assert json.loads(rows["xs"][0]) == [1.5, 2.0]
    assert isinstance(json.loads(rows["swept_parameters"][0]), list)

    out = tmp_path / "exports"
    assert main(["export", "cli_tiny", "--db", str(db), "--out", str(out)]) == 0
    runs = pl.read_parquet(out / "cli_tiny_runs.parquet")
    metrics = pl.read_parquet(out / "cli_tiny_metrics.parquet")
    assert runs.height == 4 and set(metrics["run_id"]) == set(runs["run_id"])
    assert not list(out.glob("*.part"))


def test_the_environment_variable_names_the_database(study_file, db, monkeypatch, capsys):
    monkeypatch.setenv("STUDIES_DB", str(db))
    assert main(["run", str(study_file), "--quiet"]) == 0
    assert db.exists()
    assert main(["query", "SELECT count(*) AS n FROM studies", "--format", "csv"]) == 0
    assert capsys.readouterr().out.split() == ["n", "1"]


def test_a_bad_config_is_refused_in_one_line_and_writes_nothing(tmp_path, db, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(TINY_TOML.replace("n_researchers = 15", "n_researchers = -3"))
    assert main(["run", str(bad), "--db", str(db)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: game.n_researchers = -3") and error.count("\n") == 1
    assert not db.exists()


def test_queries_are_read_only_and_errors_are_explained(study_file, db, capsys):
    main(["run", str(study_file), "--db", str(db), "--quiet"])
    capsys.readouterr()
    assert main(["query", "DELETE FROM runs", "--db", str(db)]) == 2
    assert "the query is a DELETE statement, which is not allowed here" in capsys.readouterr().err
    assert main(["query", "SELECT * FROM no_such_table", "--db", str(db)]) == 2
    assert "the query failed" in capsys.readouterr().err
    assert main(["query", "SELECT count(*) FROM runs", "--db", str(db), "--format", "csv"]) == 0
    assert capsys.readouterr().out.split()[-1] == "4"


def test_check_and_params(study_file, db, capsys):
    assert main(["check", str(study_file), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "2 design point(s) x 2 replication(s) = 4 runs" in out and "0 already complete, 4 to run" in out
    assert not db.exists()  # checking writes nothing
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    assert main(["check", str(study_file), "--db", str(db)]) == 0
    assert "4 already complete, 0 to run" in capsys.readouterr().out
    assert main(["params", "publication"]) == 0
    listing = capsys.readouterr().out
    assert "publish_null_prob" in listing and "exploration" in listing


def test_the_module_entry_point_runs():
    done = subprocess.run(
        [sys.executable, "-m", "studies", "--help"], capture_output=True, text=True, check=True
    )
    assert "run" in done.stdout and "STUDIES_DB" in done.stdout


def test_runs_from_other_code_are_reported_not_silently_mixed(study_file, db, capsys, monkeypatch):
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(
        "studies.cli.code_version", lambda: {"commit": "f" * 40, "dirty": False, "diff": None, "packages": {}}
    )
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    assert "computed by other code" in capsys.readouterr().err


def test_runs_from_other_uncommitted_changes_are_reported(study_file, db, capsys, monkeypatch):
    """The same commit with other uncommitted changes to the model is other code; the same changes are not."""
    current = {**code_version(), "dirty": True, "diff": "0123456789abcdef"}
    for module in ("studies.runner", "studies.cli"):
        monkeypatch.setattr(f"{module}.code_version", lambda: current)
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    assert store.query(db, "SELECT DISTINCT code_diff FROM runs")["code_diff"].to_list() == [current["diff"]]
    capsys.readouterr()
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    assert "other code" not in capsys.readouterr().err
    current["diff"] = "fedcba9876543210"
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    assert "other code: " + current["commit"][:10] + "+01234567 (" in capsys.readouterr().err


def test_check_refuses_what_run_would_refuse(tmp_path, db, capsys, monkeypatch):
    """A study too large for the machine's memory is refused by check, as by run, before anything runs."""
    monkeypatch.setattr("studies.runner.available_memory", lambda: 8 * 2**30)
    huge = tmp_path / "huge.toml"
    huge.write_text(TINY_TOML.replace("= 15", "= 10_000_000\nstudies_per_round = 16"))  # 50 GiB a world
    assert main(["check", str(huge), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert "GiB of memory" in err and "available per worker" in err
    assert main(["check", str(huge), "--db", str(db), "--workers", "0"]) == 2
    assert "--workers 0 is not allowed" in capsys.readouterr().err
    assert not db.exists()


def test_more_workers_than_cores_is_allowed_with_a_warning(study_file, db, capsys):
    cores = os.cpu_count() or 1
    assert main(["check", str(study_file), "--db", str(db), "--workers", str(cores + 1)]) == 0
    assert f"is more than this machine's {cores} cores" in capsys.readouterr().err
    assert main(["check", str(study_file), "--db", str(db), "--workers", str(cores)]) == 0
    assert "warning" not in capsys.readouterr().err


def test_a_store_from_before_code_diff_still_reports_other_code(study_file, db, capsys, monkeypatch):
    import duckdb

    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    with duckdb.connect(str(db)) as con:  # as a store written before the column existed
        con.execute("ALTER TABLE runs DROP COLUMN code_diff")
    capsys.readouterr()
    monkeypatch.setattr("studies.cli.code_version", lambda: {**code_version(), "commit": "f" * 40})
    assert main(["run", str(study_file), "--db", str(db), "--quiet"]) == 0
    assert "computed by other code" in capsys.readouterr().err
