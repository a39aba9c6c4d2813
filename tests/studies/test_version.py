"""The code version a result records: uncommitted code changes are told apart, other files do not count."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from studies import version


def git(repo: Path, *args: str) -> None:
    settings = ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", *settings, *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A git repository laid out like this one, with its code committed; version looks at it."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "engine.py").write_text("RATE = 0.1\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "code")
    monkeypatch.setattr(version, "ROOT", tmp_path)
    return tmp_path


def test_committed_code_is_clean_whatever_else_lies_around(repo: Path) -> None:
    (repo / "my_study.toml").write_text("[study]\n")  # the README's own workflow
    (repo / "results.duckdb").write_bytes(b"\0" * 10)
    (repo / "models" / "notes.txt").write_text("not code")
    assert version.uncommitted_changes() == ""


def test_each_uncommitted_change_to_the_code_has_its_own_fingerprint(repo: Path) -> None:
    engine = repo / "models" / "engine.py"
    engine.write_text("RATE = 0.2\n")
    first = version.uncommitted_changes()
    engine.write_text("RATE = 0.3\n")
    second = version.uncommitted_changes()
    assert first and second and first != second and len(first) == 16
    engine.write_text("RATE = 0.2\n")
    assert version.uncommitted_changes() == first  # the same change, the same fingerprint
    engine.write_text("RATE = 0.1\n")
    assert version.uncommitted_changes() == ""  # reverted: clean again


def test_a_new_module_in_the_code_makes_it_dirty(repo: Path) -> None:
    module = repo / "models" / "extra.py"
    module.write_text("X = 1\n")
    first = version.uncommitted_changes()
    module.write_text("X = 2\n")
    assert first and version.uncommitted_changes() not in ("", first)


def test_without_git_the_state_is_unknown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(version, "ROOT", tmp_path)  # no repository here
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))  # nor above it
    assert version.uncommitted_changes() is None


def test_a_change_that_is_not_utf8_has_a_fingerprint(repo: Path) -> None:
    (repo / "models" / "engine.py").write_bytes(b'NAME = "caf\xe9"\n')  # Latin-1, as an old editor saves
    first = version.uncommitted_changes()
    (repo / "models" / "caf\xe9.py").write_bytes(b"X = '\xff'\n")
    assert first and version.uncommitted_changes() not in ("", first)


def test_the_users_git_diff_settings_do_not_change_the_fingerprint(repo: Path) -> None:
    (repo / "models" / "engine.py").write_text("RATE = 0.2\n")
    plain = version.uncommitted_changes()
    git(repo, "config", "diff.external", "false")  # an external diff tool that prints nothing
    git(repo, "config", "color.diff", "always")
    assert version.uncommitted_changes() == plain


def test_code_outside_the_checkouts_working_tree_is_unknown(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a copy installed in a virtual environment inside a checkout: git would not see its changes."""
    installed = repo / ".venv" / "site-packages"
    (installed / "models").mkdir(parents=True)
    monkeypatch.setattr(version, "ROOT", installed)
    assert version.uncommitted_changes() is None
