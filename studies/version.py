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
import os
import subprocess
from contextlib import suppress
from importlib import metadata
from pathlib import Path

PACKAGES = ("reward-design-lab", "torch", "numpy", "duckdb", "polars", "pettingzoo")
CODE_PATHS = ("models", "studies", "benchmarks", "pyproject.toml")  # what computes and records results
ROOT = Path(__file__).resolve().parent.parent


def _git(*args: str) -> bytes | None:
    """git's output as bytes (a changed file need not be UTF-8), or None without git or a repository."""
    try:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def _in_checkout() -> bool:
    """Whether this code is the working tree of its git repository (not, say, a copy installed in a
    virtual environment inside a checkout, whose changes git would not see)."""
    top = _git("rev-parse", "--show-toplevel")
    return top is not None and Path(os.fsdecode(top.strip())).resolve() == ROOT.resolve()


def uncommitted_changes() -> str | None:
    """A 16-hex fingerprint of the code's uncommitted changes, '' when there are none, None when unknown
    (no git, or this code is not a checkout's working tree).

    The diff is git's own, whatever the user's git configuration: no external diff tool, text
    conversion or colour."""
    if not _in_checkout():
        return None
    diff = _git("diff", "--no-ext-diff", "--no-textconv", "--no-color", "--binary", "HEAD", "--", *CODE_PATHS)
    new = _git("ls-files", "--others", "--exclude-standard", "-z", "--", *CODE_PATHS)
    if diff is None or new is None:
        return None
    new_code = sorted(name for name in new.split(b"\0") if name.endswith(b".py"))
    if not diff and not new_code:
        return ""
    digest = hashlib.sha256(diff)
    for name in new_code:
        with suppress(OSError):  # gone since the listing
            digest.update(b"\0" + name + b"\0" + (ROOT / os.fsdecode(name)).read_bytes())
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
        "commit": commit.decode().strip() if commit else "unknown",
        "dirty": None if changes is None else bool(changes),
        "diff": changes or None,
        "packages": packages,
    }


def code_label(commit: str | None, diff: str | None) -> str:
    """A short name of a code version: the commit, and `+` the fingerprint of uncommitted changes if any."""
    return (commit or "unknown")[:10] + (f"+{diff[:8]}" if diff else "")
