"""Small study configs and markers shared by the tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import torch

from models.learners import resolve_learner

# torch.compile's CPU code generator builds C++; without a compiler the kernels run eagerly (models.speed).
needs_cpp_compiler = pytest.mark.skipif(
    not any(shutil.which(name) for name in ("g++", "c++", "clang++")),
    reason="compiling kernels needs a C++ compiler",
)

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
# The devices a test runs on: the CPU always, a GPU where there is one.
DEVICES = ["cpu", pytest.param("cuda", marks=needs_cuda)]


def tiny_config(**study: Any) -> dict[str, Any]:
    """A study small enough for unit tests: 2 design points x 2 replications, 40 rounds."""
    return {
        "study": {"name": "tiny", "rounds": 40, "replications": 2, "seed": 7, **study},
        "game": {"n_researchers": 20},
        "sweep": {"publish_null_prob": [0.0, 1.0]},
    }


def run_python(script: str, *args: str) -> dict:
    """Run a Python script in a fresh process from the repository root; return the JSON object its last
    line prints (a test of what a process imports, compiles or caches must start from nothing)."""
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def learner(kind: str, **values: Any) -> dict[str, Any]:
    """A resolved learner config of this kind, as a study's [learners.role] table gives it."""
    return resolve_learner({"kind": kind, **values}, "learners.test")
