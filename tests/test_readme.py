"""The README's promises: its SQL examples run on a real store, its two commands exist in the Makefile."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from studies import store
from studies.runner import run_study

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SQL_BLOCKS = re.findall(r"```sql\n(.*?)```", README, flags=re.S)


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    first_block = re.search(r"```sh\n(.*?)```", README, flags=re.S).group(1)
    assert [line.split()[:2] for line in first_block.strip().splitlines()] == [
        ["make", "run"],
        ["make", "test"],
    ]
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^run:", makefile, flags=re.M) and re.search(r"^test:", makefile, flags=re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text()


@pytest.mark.parametrize("sql", SQL_BLOCKS, ids=[f"sql_{i}" for i in range(len(SQL_BLOCKS))])
def test_readme_sql_examples_run(sql, tiny_plan, db):
    run_study(tiny_plan, db, progress=False)
    result = store.query(db, sql.replace("publication_bias-%", "tiny-%"))
    assert result.height > 0
