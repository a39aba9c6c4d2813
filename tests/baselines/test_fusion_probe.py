"""The fusion probe: it plays the same batch both ways and reports that they end with the same numbers.

Its timings are not asserted (they belong to the machine); what is asserted is that both ways played the
rounds it says and that the fused batch, compiled for real, holds the eager one's numbers at the end.
"""

from __future__ import annotations

import re

import pytest
from helpers import needs_cpp_compiler

from benchmarks.fusion_probe import BLOCKS, main
from models import speed


@needs_cpp_compiler
@pytest.mark.parametrize("game", ["publication", "election"])
def test_the_fused_batch_ends_with_the_eager_numbers(game: str, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--game", game, "--worlds", "3", "--agents", "21", "--rounds", "6", "--threads", "1"]
    assert main(args) == 0
    printed = dict(re.findall(r"^\s*(\w+): (.*)$", capsys.readouterr().out, re.MULTILINE))
    assert printed["same_numbers"] == "True"
    assert not speed._unavailable  # compiled, not run eagerly after a failed compile
    assert int(printed["rounds"]) == 1 + BLOCKS * 2
    assert float(printed["fused_speedup"]) == pytest.approx(
        float(printed["eager_ms_per_round"]) / float(printed["fused_ms_per_round"]), rel=1e-3
    )


@needs_cpp_compiler
def test_a_scenario_is_probed_on_its_own_engine(capsys: pytest.CaptureFixture[str]) -> None:
    # The institutions' world: evolving labs, journals, review, citations, funds, on the studies kernels.
    args = ["--scenario", "institutions", "--worlds", "2", "--agents", "100", "--rounds", "3"]
    assert main([*args, "--agents", "50"]) == 2  # its 100 grants a period need 100 labs: refused, one line
    assert "grants_per_period = 100 is more than the 50 labs" in capsys.readouterr().err
    assert main([*args, "--threads", "1"]) == 0
    printed = dict(re.findall(r"^\s*(\w+): (.*)$", capsys.readouterr().out, re.MULTILINE))
    assert printed["scenario"] == "institutions" and printed["game"] == "publication"
    assert printed["kernels"] == "PublicationStudyKernels-traits-3journals-review-funds"
    assert printed["same_numbers"] == "True"
    assert not speed._unavailable
