"""The README's promises: its SQL examples run on a real store, its two commands exist in the Makefile."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import tiny_config

from studies import store
from studies.config import plan_study
from studies.runner import run_study

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# The README's queries and those docs/studies.md adds ("More SQL").
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README + (ROOT / "docs" / "studies.md").read_text(), flags=re.S)


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    first_block = re.search(r"```sh\n(.*?)```", README, flags=re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [
        ["make", "run"],
        ["make", "test"],
    ]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory) -> Path:
    """A grid study and a Sobol study, standing in for the README's publication_bias and ..._sensitivity."""
    db = tmp_path_factory.mktemp("readme") / "results.duckdb"
    run_study(plan_study(tiny_config()), db, progress=False)
    sobol = tiny_config(name="tiny_sobol", replications=1)
    sobol["design"] = {"kind": "sobol", "samples": 4}
    sobol["sweep"] = {
        "publish_null_prob": {"low": 0.0, "high": 1.0},
        "failed_replication_penalty": {"low": 0.0, "high": 6.0},
    }
    run_study(plan_study(sobol), db, progress=False)
    for method, rate in (("engine", 5e6), ("pettingzoo_loop", 2e5), ("mesa", 1e5)):  # a bench's rows
        store.write_benchmark(
            db,
            {"bench_id": "bench-test", "game": "publication", "method": method, "agents": 1000,
             "worlds": 100 if method == "engine" else 1, "decisions_per_second": rate},
        )  # fmt: skip
    return db


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"sql_{i}" for i in range(len(SQL_BLOCKS))])
def test_readme_sql_examples_run_and_return_rows(sql, two_studies):
    sql = sql.replace("publication_sensitivity", "tiny_sobol").replace("publication_bias", "tiny")
    sql = sql.replace("discoveries >= 2", "discoveries >= 0")  # 20 researchers make fewer discoveries
    assert store.query(two_studies, sql).height > 0
    assert store.user_query(two_studies, sql)[0].height > 0  # as `python -m studies query` runs it, confined


def test_the_plain_duckdb_cli_reads_the_store(two_studies):
    cli = Path(sys.executable).parent / "duckdb"
    if not cli.exists():
        pytest.skip("the duckdb CLI (dev extra duckdb-cli) is not installed")
    done = subprocess.run(
        [str(cli), "-readonly", "-csv", str(two_studies), "-c", "SELECT count(*) AS n FROM final_metrics"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert (
        int(done.stdout.split()[-1])
        == store.query(two_studies, "SELECT count(*) AS n FROM final_metrics")["n"][0]
    )
