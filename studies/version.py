"""The code version behind a result: git commit, uncommitted changes to the code, and the package versions
that matter.

A commit alone does not name the code that ran: a researcher who edits the model between two runs without
committing gets the same commit twice. So the version also carries `diff`, a fingerprint of the
uncommitted changes to the code (tracked files changed under CODE_PATHS, and new Python files there), and
`dirty` says whether there are any. Files outside the code, such as the user's own study files or results
stores, never make the code dirty.
"""

from __future__ import annotations

import functools
import hashlib
import subprocess
from contextlib import suppress
from importlib import metadata
from pathlib import Path

PACKAGES = ("reward-design-lab", "torch", "numpy", "duckdb", "polars", "pettingzoo")
CODE_PATHS = ("models", "studies", "benchmarks", "pyproject.toml")  # what computes and records results
ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def uncommitted_changes() -> str | None:
    """A 16-hex fingerprint of the code's uncommitted changes, '' when there are none, None without git."""
    diff = _git("diff", "HEAD", "--binary", "--", *CODE_PATHS)
    new = _git("ls-files", "--others", "--exclude-standard", "-z", "--", *CODE_PATHS)
    if diff is None or new is None:
        return None
    new_code = sorted(name for name in new.split("\0") if name.endswith(".py"))
    if not diff and not new_code:
        return ""
    digest = hashlib.sha256(diff.encode())
    for name in new_code:
        with suppress(OSError):  # gone since the listing
            digest.update(b"\0" + name.encode() + b"\0" + (ROOT / name).read_bytes())
    return digest.hexdigest()[:16]


@functools.cache
def code_version() -> dict[str, object]:
    """{'commit': sha or 'unknown', 'dirty': bool or None, 'diff': fingerprint or None, 'packages': {...}}.

    'diff' is None when the code is clean or its state is unknown (no git)."""
    commit = _git("rev-parse", "HEAD")
    changes = uncommitted_changes() if commit else None
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "commit": commit.strip() if commit else "unknown",
        "dirty": None if changes is None else bool(changes),
        "diff": changes or None,
        "packages": packages,
    }


def code_label(commit: str | None, diff: str | None) -> str:
    """A short name of a code version: the commit, and `+` the fingerprint of uncommitted changes if any."""
    return (commit or "unknown")[:10] + (f"+{diff[:8]}" if diff else "")
