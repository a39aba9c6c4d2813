"""The allocator setting every simulation process applies (see models/memory.py)."""

import sys

import pytest

from models.memory import keep_freed_memory


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt is Linux-only")
def test_glibc_accepts_the_thresholds_and_a_second_call_is_a_no_op() -> None:
    assert keep_freed_memory() is True
    assert keep_freed_memory() is True
