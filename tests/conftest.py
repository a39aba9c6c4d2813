"""Shared fixtures: small studies and databases built in temporary folders."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from helpers import tiny_config

from studies.config import StudyPlan, plan_study

torch.set_num_threads(1)  # the suite's tensors are small: intra-op threads only add contention


@pytest.fixture
def tiny_plan() -> StudyPlan:
    return plan_study(tiny_config())


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "results.duckdb"
