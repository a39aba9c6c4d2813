"""The command line mended: export of nested columns in every format, "did you mean" for misspelled names,
the compact table `run` ends with, and `check`'s run-time estimate."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest

from studies import store
from studies.cli import TABLE_WIDTH, main, nested_as_json, outcome_table
from studies.names import close_matches, with_suggestion

POSITIONS = [-1.0, -0.5, 0.0, 0.25, 1.5]  # a given electorate: nested in the runs table (DOUBLE[])

PUBLICATION_TOML = """
[study]
name = "mend_publication"
rounds = 20
replications = 2
seed = 3

[game]
n_researchers = 10

[sweep]
publish_null_prob = [0.0, 1.0]
"""

ELECTION_TOML = f"""
[study]
name = "mend_election"
game = "election"
rounds = 20
replications = 2
seed = 5

[game]
n_voters = 5
n_candidates = 3
voter_distribution = "given"
voter_positions = {POSITIONS}

[sweep]
rule = ["plurality", "borda"]
"""


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """main(argv)'s exit code, stdout and stderr; argparse's refusals exit, and count as returns here."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def both_games(tmp_path_factory) -> dict:
    """One database holding a tiny publication study and a tiny election study, run by the CLI; with what
    each run printed."""
    folder = tmp_path_factory.mktemp("both_games")
    db = folder / "results.duckdb"
    files = {"publication": folder / "publication.toml", "election": folder / "election.toml"}
    files["publication"].write_text(PUBLICATION_TOML)
    files["election"].write_text(ELECTION_TOML)
    printed = {
        "publication": run_cli(["run", str(files["publication"]), "--db", str(db)]),
        "election": run_cli(
            [
                "run",
                str(files["election"]),
                "--db",
                str(db),
                "--metric",
                "turnout",
                "--metric",
                "voter_welfare",
            ]
        ),
    }
    assert [code for code, _, _ in printed.values()] == [0, 0], printed
    return {"db": db, "folder": folder, "files": files, "printed": printed}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("fmt", ["parquet", "csv", "json"])
def test_every_study_exports_in_every_format_with_nested_columns(both_games, fmt, tmp_path):
    db = both_games["db"]
    assert store.query(db, "SELECT * FROM runs LIMIT 1").schema["voter_positions"] == pl.List(pl.Float64)
    read = {"parquet": pl.read_parquet, "csv": pl.read_csv, "json": pl.read_json}[fmt]
    for study in ("mend_publication", "mend_election"):
        code, out, err = run_cli(["export", study, "--db", str(db), "--out", str(tmp_path), "--format", fmt])
        assert code == 0, err
        assert f"{study}_runs.{fmt} (4 rows)" in out
        runs = read(tmp_path / f"{study}_runs.{fmt}")
        metrics = read(tmp_path / f"{study}_metrics.{fmt}")
        stored = store.query(
            db,
            "SELECT count(*) AS n FROM metrics JOIN runs USING (run_id) JOIN studies s USING (study_id) "
            "WHERE s.name = ?",
            [study],
        )["n"][0]
        assert runs.height == 4 and metrics.height == stored > 0
        assert set(metrics["run_id"]) == set(runs["run_id"])
        positions = runs["voter_positions"].to_list()
        if study == "mend_election":  # the nested column round-trips: as JSON text in CSV, as a list else
            decoded = [json.loads(text) for text in positions] if fmt == "csv" else positions
            assert decoded == [POSITIONS] * 4
            assert runs.schema["voter_positions"] == (pl.String if fmt == "csv" else pl.List(pl.Float64))
        else:  # another game's column: empty, and still no crash
            assert positions == [None] * 4
    assert not list(tmp_path.glob("*.part"))


def test_csv_writes_lists_structs_and_arrays_as_json_text(both_games):
    frame = pl.DataFrame(
        {
            "xs": [[1.5, 2.0], None],
            "s": [{"a": 1, "b": [1, 2]}, {"a": None, "b": []}],
            "fixed": pl.Series([[1, 2], [3, 4]], dtype=pl.Array(pl.Int64, 2)),
            "plain": ["x", "y"],
        }
    )
    text = nested_as_json(frame)
    assert text.schema == {"xs": pl.String, "s": pl.String, "fixed": pl.String, "plain": pl.String}
    assert [json.loads(v) if v else v for v in text["xs"]] == [[1.5, 2.0], None]
    assert json.loads(text["s"][0]) == {"a": 1, "b": [1, 2]} and json.loads(text["fixed"][1]) == [3, 4]
    # and through the CLI, on a query returning a struct and a list
    sql = "SELECT {'a': 1, 'b': [1.5, 2.5]} AS s, [1.5, 2.0] AS xs"
    code, out, err = run_cli(["query", sql, "--db", str(both_games["db"]), "--format", "csv"])
    assert code == 0, err
    row = pl.read_csv(io.StringIO(out)).row(0, named=True)
    assert json.loads(row["s"]) == {"a": 1, "b": [1.5, 2.5]} and json.loads(row["xs"]) == [1.5, 2.0]


def refused(argv: list[str]) -> str:
    """The one line of a refusal with exit code 2."""
    code, out, err = run_cli(argv)
    assert code == 2, (code, out, err)
    assert out == "" and err.startswith("error: ") and err.count("\n") == 1, err
    return err


def test_misspelled_names_are_refused_with_a_suggestion_and_nothing_written(both_games, tmp_path):
    db, files = both_games["db"], both_games["files"]
    before = digest(db)
    out = tmp_path / "exports"
    typo = tmp_path / "typo.toml"
    typo.write_text(PUBLICATION_TOML.replace("n_researchers", "n_researcher"))
    cases = {
        (
            "summary",
            "mend_publication",
            "--metric",
            "false_discovery_rat",
        ): "did you mean 'false_discovery_rate'?",
        ("summary", "mend_publication", "--metric", "fdr"): "did you mean 'false_discovery_rate'?",
        ("summary", "mend_publicaton"): "did you mean 'mend_publication'?",
        ("export", "mend_electon", "--out", str(out)): "did you mean 'mend_election'?",
        ("export", "mend_election", "--out", str(out), "--format", "cvs"): "did you mean 'csv'?",
        ("run", str(files["election"]), "--metric", "turnot"): "did you mean 'turnout'?",
        ("run", str(typo)): "did you mean 'n_researchers'?",
        ("check", str(typo)): "did you mean 'n_researchers'?",
        ("check", str(files["election"]), "--device", "cdua"): "did you mean 'cuda'?",
        ("list", "--format", "jsn"): "did you mean 'json'?",
        ("query", "SELECT 1", "--formt", "csv"): "did you mean '--format'",
        ("figures", "--study", "publication_bais", "--out", str(out)): "did you mean 'publication_bias'",
    }
    for argv, suggestion in cases.items():
        error = refused([*argv, "--db", str(db)])
        assert suggestion in error, (argv, error)
    assert digest(db) == before and not out.exists()
    # a metric of the game that no round of the study defined is told apart from a misspelled one
    error = refused(["summary", "mend_publication", "--metric", "mean_effort", "--db", str(db)])
    assert "has no values in study mend_publication" in error and "false_discovery_rate" in error
    # short lists of what is allowed are given in full
    assert "allowed are mend_election, mend_publication." in refused(["summary", "mend", "--db", str(db)])
    assert "allowed are publication, election, matrix." in refused(["params", "electon"])
    assert "did you mean 'election'?" in refused(["params", "electon"])
    assert "invalid choice: 'rn': did you mean 'run'? (choose from 'run', " in refused(["rn", "x.toml"])


def test_suggestions_for_the_study_configs_refusals():
    """Messages from the study config and parameter spaces gain the hint before their list of names."""
    assert close_matches("fdr", ["ppv", "false_discovery_rate"]) == ["false_discovery_rate"]
    assert close_matches("xyz", ["ppv", "false_discovery_rate"]) == []
    message = (
        "learners has unknown role(s) votr: the election game's roles are voter, candidate, institution."
    )
    assert with_suggestion(message) == (
        "learners has unknown role(s) votr: did you mean 'voter'? the election game's roles are voter, "
        "candidate, institution."
    )
    choice = "game.rule = 'bordda' is not a known choice: allowed is one of 'plurality', 'borda' (the rule)."
    assert "is not a known choice: did you mean 'borda'? allowed is one" in with_suggestion(choice)
    unrelated = "--workers 0 is not allowed: use a whole number of at least 1."
    assert with_suggestion(unrelated) == unrelated


def test_run_ends_with_a_compact_table_of_key_outcomes(both_games, tmp_path):
    for game, header_names in (
        ("publication", ["publish_null_prob", "runs", "false_discovery_rate"]),  # the game's headline first
        ("election", ["rule", "runs", "turnout", "voter_welfare"]),  # as asked with --metric
    ):
        code, out, err = both_games["printed"][game]
        lines = out.splitlines()
        assert lines[0].startswith(f"mend_{game}: ") and "95% interval" in lines[0]
        assert lines[1].split()[: len(header_names)] == header_names
        rows = lines[2:]
        assert len(rows) == 2  # one per design point
        assert all("±" in row for row in rows)  # two replications: an interval each
        assert all(len(line) <= TABLE_WIDTH for line in lines)
        assert not any(mark in out + err for mark in ("┌", "│", "shape:", "╞"))
        assert f"python -m studies summary mend_{game}" in err
    election_rows = both_games["printed"]["election"][1].splitlines()[2:]
    assert [row.split()[0] for row in election_rows] == ["plurality", "borda"]
    # however many metrics are asked for, the table keeps to TABLE_WIDTH, dropping the last ones
    db = both_games["db"]
    study_id = store.query(db, "SELECT study_id FROM studies WHERE name = 'mend_election'")["study_id"][0]
    many = [
        "median_voter_distance",
        "voter_welfare",
        "utility_efficiency",
        "turnout",
        "platform_polarization",
    ]
    lines = outcome_table(db, study_id, many)
    assert all(len(line) <= TABLE_WIDTH for line in lines) and len(lines) == 4
    assert lines[1].split()[:3] == ["rule", "runs", "median_voter_distance"]
    # `summary` shows every metric, as plain tables too
    code, out, _ = run_cli(["summary", "mend_publication", "--db", str(both_games["db"])])
    assert code == 0 and "false_discovery_rate (mean over seeds, 95% CI):" in out
    assert not any(mark in out for mark in ("┌", "│", "shape:"))


def estimate_seconds(text: str) -> float:
    found = re.search(r"estimated run time: about ([\d.]+) (s|min|h) on this machine \((\d+) cores[,)]", text)
    assert found, text
    return float(found[1]) * {"s": 1, "min": 60, "h": 3600}[found[2]]


def test_check_estimates_the_run_time(both_games, tmp_path):
    db = tmp_path / "fresh.duckdb"
    larger = PUBLICATION_TOML.replace("n_researchers = 10", "n_researchers = 100")  # simulation, not store
    short = tmp_path / "short.toml"
    short.write_text(larger.replace("rounds = 20", "rounds = 100"))
    long = tmp_path / "long.toml"
    long.write_text(larger.replace("rounds = 20", "rounds = 1000"))
    code, out, err = run_cli(["check", str(short), "--db", str(db)])
    assert code == 0, err
    assert "an estimate" in out
    quick = estimate_seconds(out)
    code, out, err = run_cli(["check", str(long), "--db", str(db)])
    assert code == 0, err
    slow = estimate_seconds(out)
    assert 0 < quick < slow
    assert slow > 3 * quick  # 10x the rounds: about 10x the time, whatever the noise of a shared machine
    assert not db.exists()  # the estimate, like the check, writes nothing
    code, out, _ = run_cli(["check", str(both_games["files"]["election"]), "--db", str(both_games["db"])])
    assert code == 0 and "estimated run time: none, every run is already complete." in out
