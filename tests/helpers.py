"""Small study configs and markers shared by the tests."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

# torch.compile's CPU code generator builds C++; without a compiler the kernels run eagerly (models.fusion).
needs_cpp_compiler = pytest.mark.skipif(
    not any(shutil.which(name) for name in ("g++", "c++", "clang++")),
    reason="compiling kernels needs a C++ compiler",
)


def tiny_config(**study: Any) -> dict[str, Any]:
    """A study small enough for unit tests: 2 design points x 2 replications, 40 rounds."""
    return {
        "study": {"name": "tiny", "rounds": 40, "replications": 2, "seed": 7, **study},
        "game": {"n_researchers": 20},
        "sweep": {"publish_null_prob": [0.0, 1.0]},
    }
