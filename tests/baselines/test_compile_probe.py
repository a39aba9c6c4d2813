"""The torch.compile probe: the round it compiles is the engine's round, captured faithfully.

Its timings are not asserted (they belong to the machine); what is asserted is that dynamo's capture of
`Batch.round`, graph breaks and in-place writes to views included, plays the same game: with the `eager`
backend, which runs the captured graphs without generating code, every number is the eager engine's.
"""

from __future__ import annotations

import re

import pytest

from benchmarks.compile_probe import COMPILE_ROUNDS, main


@pytest.mark.filterwarnings("ignore:Dynamo does not know how to trace")  # zlib.crc32 of stream names
def test_captured_round_gives_the_eager_numbers(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["--worlds", "2", "--agents", "20", "--rounds", "2", "--threads", "1", "--backend", "eager"]
    assert main(args) == 0
    printed = dict(re.findall(r"^\s*(\w+): (.*)$", capsys.readouterr().out, re.MULTILINE))
    assert float(printed["value_drift"]) == 0.0
    assert int(printed["rounds"]) == COMPILE_ROUNDS + 2
    assert float(printed["eager_ms_per_round"]) > 0 and float(printed["compiled_ms_per_round"]) > 0
    assert float(printed["compiled_speedup"]) == pytest.approx(
        float(printed["eager_ms_per_round"]) / float(printed["compiled_ms_per_round"]), rel=1e-3
    )
