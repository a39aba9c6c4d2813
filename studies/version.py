"""The code version behind a result: git commit and dirty flag, plus the package versions that matter."""

from __future__ import annotations

import functools
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGES = ("reward-design-lab", "torch", "numpy", "duckdb", "polars", "pettingzoo")


@functools.cache
def code_version() -> dict[str, object]:
    """{'commit': sha or 'unknown', 'dirty': bool or None, 'packages': {name: version}}."""
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=True
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain") if commit else None
    packages = {}
    for name in PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            packages[name] = None
    return {
        "commit": commit or "unknown",
        "dirty": None if status is None else bool(status),
        "packages": packages,
    }
