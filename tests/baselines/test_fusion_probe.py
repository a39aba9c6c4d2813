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
