"""Small study configs shared by the tests."""

from __future__ import annotations

from typing import Any


def tiny_config(**study: Any) -> dict[str, Any]:
    """A study small enough for unit tests: 2 design points x 2 replications, 40 rounds."""
    return {
        "study": {"name": "tiny", "rounds": 40, "replications": 2, "seed": 7, **study},
        "game": {"n_researchers": 20},
        "sweep": {"publish_null_prob": [0.0, 1.0]},
    }
