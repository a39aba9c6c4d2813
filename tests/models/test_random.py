"""Counter-based random numbers: the reference hash, uniformity, independence, batch invariance."""

from __future__ import annotations

import random

import torch
from helpers import needs_cpp_compiler

from models.random import (
    _GOLDEN,
    _INDEX_STEP,
    KEY_ROUNDS,
    RandomStreams,
    mix32,
    mix32_int,
    stream_id,
    world_keys,
)


def reference_lowbias32(x: int) -> int:
    """Chris Wellons' lowbias32 on unsigned 32-bit integers, written the plain way."""
    x &= 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x7FEB352D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x846CA68B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def test_tensor_hash_matches_reference_on_random_inputs():
    rng = random.Random(3)
    values = [rng.randrange(-(2**31), 2**31) for _ in range(2000)] + [0, 1, -1, 2**31 - 1, -(2**31)]
    hashed = mix32(torch.tensor(values, dtype=torch.int32)).tolist()
    for value, got in zip(values, hashed, strict=True):
        assert got & 0xFFFFFFFF == reference_lowbias32(value)
        assert mix32_int(value) & 0xFFFFFFFF == reference_lowbias32(value)


def test_streams_drawn_together_are_the_numbers_each_stream_gives_by_the_plain_hash():
    # Reference: uniform(world, round, stream, k) = low 24 bits of mix(mix(key ^ mix(counter)) + k * step),
    # for rounds on both sides of the blocks in which stream keys are derived, and before round 0.
    keys = world_keys([7, 8, 9])
    rng = RandomStreams(keys)
    shapes = {"complete": (5, 2), "hypothesis": (5, 2), "slot_order": (1,)}
    for round_index in (-1, 4, KEY_ROUNDS - 1, KEY_ROUNDS, 2 * KEY_ROUNDS + 3, 4):
        drawn = dict(zip(shapes, rng.uniforms(round_index, shapes), strict=True))
        for stream, shape in shapes.items():
            assert drawn[stream].shape == (3, *shape)
            counter = mix32_int((round_index * _GOLDEN + stream_id(stream)) & 0xFFFFFFFF)
            for w, key in enumerate(keys.tolist()):
                world_key = mix32_int(key ^ counter)
                expected = [
                    (mix32_int(world_key + k * _INDEX_STEP) & 0xFFFFFF) / 2**24
                    for k in range(drawn[stream][w].numel())
                ]
                assert drawn[stream][w].flatten().tolist() == expected


def test_a_large_batch_hashed_block_by_block_draws_the_same_numbers(monkeypatch):
    # A CPU batch drawing more than HASH_BLOCK uniforms hashes them block by block (rows of worlds, and
    # columns where one world's stream is longer than a block): the numbers must be the one-pass ones, for
    # blocks that split worlds unevenly, streams longer than a block, a stream of one draw and of none.
    rng = RandomStreams(world_keys(list(range(5))))
    shapes = {"complete": (3, 4), "none": (0,), "hypothesis": (13,), "slot_order": (1,), "empty": (2, 0)}
    monkeypatch.setattr("models.random.HASH_BLOCK", 1 << 30)
    whole = rng.uniforms(7, shapes)
    for block in (1, 5, 7, 12, 26):
        monkeypatch.setattr("models.random.HASH_BLOCK", block)
        for got, expected in zip(rng.uniforms(7, shapes), whole, strict=True):
            assert got.shape == expected.shape
            assert torch.equal(got, expected)


@needs_cpp_compiler
def test_a_fused_batch_hashes_its_draws_compiled_to_the_same_numbers(monkeypatch):
    # An accelerated engine's streams hash draws of HASHING_DRAWS or more with random_kernels.hashed_draws,
    # within fusing() compiled, one stream at a time: the numbers must be the plain ones, for several shapes,
    # a stream of one draw and one of none.
    from models import speed
    from models.random_kernels import hashed_draws

    rng = RandomStreams(world_keys(list(range(5))))
    shapes = {"complete": (3, 4), "none": (0,), "hypothesis": (13,), "slot_order": (1,)}
    whole = rng.uniforms(7, shapes)
    rng.hashing = hashed_draws
    monkeypatch.setattr("models.random.HASHING_DRAWS", 1)
    with speed.fusing():
        fused = rng.uniforms(7, shapes)
    assert speed.compiling_works()
    monkeypatch.setattr("models.random.HASH_BLOCK", 5)
    unfused = rng.uniforms(7, shapes)  # the kernel's eager form: block by block
    for got, eager, expected in zip(fused, unfused, whole, strict=True):
        assert got.shape == eager.shape == expected.shape
        assert torch.equal(got, expected) and torch.equal(eager, expected)


def test_draws_at_some_entries_are_those_entries_of_the_whole_stream():
    rng = RandomStreams(world_keys([3, 4, 5, 6]))
    whole = rng.uniform(9, "citation", (50,))
    world = torch.tensor([0, 0, 2, 3, 3, 1])
    index = torch.tensor([0, 49, 7, 7, 13, 25])
    assert torch.equal(rng.uniforms_at(9, "citation", world, index), whole[world, index])
    assert rng.uniforms_at(9, "citation", world[:0], index[:0]).shape == (0,)


def test_uniforms_have_the_moments_and_bins_of_u01():
    u = RandomStreams(world_keys(list(range(50)))).uniform(0, "test", (20_000,)).double()
    n = u.numel()
    assert abs(u.mean() - 0.5) < 4 * (1 / 12 / n) ** 0.5
    assert abs(u.var() - 1 / 12) < 0.002
    counts = torch.histc(u, bins=20, min=0, max=1)
    expected = n / 20
    chi_square = ((counts - expected) ** 2 / expected).sum().item()
    assert chi_square < 50  # 19 degrees of freedom: p < 0.0002 beyond 50
    assert u.min() >= 0 and u.max() < 1


def test_neighbouring_draws_worlds_rounds_and_streams_are_uncorrelated():
    streams = RandomStreams(world_keys(list(range(200))))
    a = streams.uniform(5, "a", (500,)).double()
    pairs = {
        "neighbouring agents": (a[:, :-1], a[:, 1:]),
        "neighbouring worlds": (a[:-1], a[1:]),
        "next round": (a, streams.uniform(6, "a", (500,)).double()),
        "other stream": (a, streams.uniform(5, "b", (500,)).double()),
    }
    for name, (x, y) in pairs.items():
        correlation = torch.corrcoef(torch.stack([x.reshape(-1), y.reshape(-1)]))[0, 1].item()
        assert abs(correlation) < 4 / x.numel() ** 0.5, name


def test_a_worlds_draws_do_not_depend_on_its_batch():
    batch = RandomStreams(world_keys([11, 22, 33])).uniform(9, "s", (7, 3))
    alone = RandomStreams(world_keys([22])).uniform(9, "s", (7, 3))
    assert torch.equal(batch[1], alone[0])
    again = RandomStreams(world_keys([11, 22, 33])).uniform(9, "s", (7, 3))
    assert torch.equal(batch, again)
    assert not torch.equal(batch[0], batch[2])


def test_large_seeds_are_distinguished():
    keys = world_keys([2**40, 2**40 + 1, 2**62 + 5, 5])
    assert len(set(keys.tolist())) == 4


def test_a_worlds_draws_do_not_depend_on_how_many_rounds_of_keys_its_batch_caches():
    # A batch of 100,000 worlds derives stream keys 10 rounds at a time, a batch of 3 worlds 64 at a time.
    keys = world_keys(list(range(100_000)))
    big, small = RandomStreams(keys), RandomStreams(keys[:3])
    assert big._key_rounds < small._key_rounds
    for round_index in (-1, 5, 9, 10, 63, 64, 70):
        assert torch.equal(big.uniform(round_index, "s", (4,))[:3], small.uniform(round_index, "s", (4,)))
