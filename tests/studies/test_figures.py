"""The REPORT.md figures: one study's figures alone, drawn from its runs; an unknown study refused."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from studies.cli import main
from studies.config import plan_study
from studies.figures import FIGURES, make_report_figures
from studies.runner import run_study

STUDY = Path(__file__).parents[2] / "studies" / "natural_selection_of_bad_science.toml"


def test_one_studys_figures_come_from_a_short_run_of_its_study(tmp_path: Path) -> None:
    """The natural-selection study's own file, shortened to 40 rounds and 1 seed: its figure is drawn from
    its runs without the other REPORT.md studies in the store."""
    raw = tomllib.loads(STUDY.read_text())
    raw["study"] |= {"rounds": 40, "replications": 1, "record_every": 10}
    raw["game"] |= {"n_researchers": 20, "literature_size": 200}
    db = tmp_path / "results.duckdb"
    run_study(plan_study(raw), db, progress=False)
    (path,) = make_report_figures(db, tmp_path / "figures", ["natural_selection_of_bad_science"])
    assert path.name == "natural_selection_of_bad_science.png" and path.stat().st_size > 10_000


def test_an_unknown_study_is_refused_in_one_line_and_nothing_is_drawn(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "figures"
    assert main(["figures", "--db", str(tmp_path / "none.duckdb"), "--out", str(out), "--study", "nope"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "nope" in line and all(name in line for name in FIGURES)
    assert not out.exists()


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_names_a_study_file(name: str) -> None:
    assert (STUDY.parent / f"{name}.toml").exists()
