"""Shared fixtures: small studies and databases built in temporary folders."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
from helpers import tiny_config

from studies.config import StudyPlan, plan_study

torch.set_num_threads(1)  # the suite's tensors are small: intra-op threads only add contention


@pytest.fixture(autouse=True)
def _main_module_restored():
    """streamlit's AppTest leaves the app script in sys.modules as __main__, and a process pool started
    later (spawn) would re-run that script in its workers and fail: put the real one back after each test."""
    main = sys.modules["__main__"]
    yield
    sys.modules["__main__"] = main


@pytest.fixture
def tiny_plan() -> StudyPlan:
    return plan_study(tiny_config())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "results.duckdb"
