"""Counter-based random numbers: every draw is a hash of (world seed, round, stream, index).

Why not one torch.Generator per batch: then a run's numbers would depend on which other runs shared its
batch. With counter-based draws each world's numbers depend only on its own seed, so a run gives the same
numbers alone, inside a batch of a thousand, on CPU or GPU, and after an interrupted study resumes. It is
also faster than torch's CPU generator (a few integer passes over the tensor, no sequential state).

The mixer is Chris Wellons' "lowbias32" integer hash, done in int32 with logical shifts emulated by
masks (torch has no unsigned 32-bit shifts on CPU); int32 multiplication wraps modulo 2**32 as the hash
needs.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable

import torch

_M1 = 0x7FEB352D
_M2 = 0x846CA68B - (1 << 32)  # the same bits as a signed int32
_GOLDEN = 0x9E3779B9 - (1 << 32)
_INDEX_STEP = 0x632BE5AB


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


# 0-d int32 tensors, not Python ints: torch takes a slow path for int32 ops with Python-int operands
# (and a 0-d CPU tensor works as a scalar with tensors on any device).
_MASKS = {16: torch.tensor(0xFFFF, dtype=torch.int32), 15: torch.tensor(0x1FFFF, dtype=torch.int32)}
_FACTORS = (torch.tensor(_M1, dtype=torch.int32), torch.tensor(_M2, dtype=torch.int32))
_LOW24 = torch.tensor(0xFFFFFF, dtype=torch.int32)


def mix32(x: torch.Tensor) -> torch.Tensor:
    """Bijective avalanche hash of int32 values (lowbias32), into a new tensor."""
    return mix32_(x.clone())


def mix32_(x: torch.Tensor, scratch: torch.Tensor | None = None) -> torch.Tensor:
    """mix32 in place, with one scratch tensor (x's shape; a fresh one if not given): each fresh tensor of a
    large batch costs a round of page faults, which on this kind of machine costs more than the arithmetic."""
    scratch = torch.empty_like(x) if scratch is None else scratch
    for shift, factor in ((16, _FACTORS[0]), (15, _FACTORS[1]), (16, None)):
        torch.bitwise_right_shift(x, shift, out=scratch)
        x ^= scratch.bitwise_and_(_MASKS[shift])  # a logical shift: drop the sign copies
        if factor is not None:
            x.mul_(factor)  # wraps modulo 2**32, as the hash needs
    return x


def hashed_uniforms(counters: torch.Tensor) -> torch.Tensor:
    """float32 uniforms in [0, 1) with 24 bits of resolution from int32 counters, hashed in place."""
    return mix32_(counters).bitwise_and_(_LOW24).to(torch.float32).mul_(1.0 / (1 << 24))


def hashed_uniforms_at(key: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The uniforms of a stream whose per-world key each entry carries (`key`), at the draw indices
    `index`: what a (worlds, n) draw holds at those indices. A kernel may hash them itself."""
    return hashed_uniforms(key + index.to(torch.int32) * _INDEX_STEP)


def hashed_by_block(key: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
    """A stream's uniforms from its counters (RandomStreams.counters: the per-world keys, (worlds, 1), and
    the draws' offsets, (n,)), (worlds, n); on a CPU HASH_BLOCK counters at a time, so that the hash's ten
    passes run in the cache rather than through memory (three times faster for millions)."""
    n_worlds, n = key.shape[0], offsets.shape[0]
    if key.device.type != "cpu" or n_worlds * n <= HASH_BLOCK:
        return hashed_uniforms(key + offsets)
    uniform = torch.empty(n_worlds, n, dtype=torch.float32)
    scratch = torch.empty(2, HASH_BLOCK, dtype=torch.int32)
    rows, columns = max(1, HASH_BLOCK // n), min(n, HASH_BLOCK)
    for first_row in range(0, n_worlds, rows):
        row_keys = key[first_row : first_row + rows]
        for first_column in range(0, n, columns):
            column_offsets = offsets[first_column : first_column + columns]
            block_shape = (len(row_keys), len(column_offsets))
            counter, spare = (part[: math.prod(block_shape)].view(block_shape) for part in scratch)
            torch.add(row_keys, column_offsets, out=counter)
            mix32_(counter, spare).bitwise_and_(_LOW24)
            block = uniform[first_row : first_row + rows, first_column : first_column + columns]
            block.copy_(counter).mul_(1.0 / (1 << 24))
    return uniform


def mix32_int(value: int) -> int:
    """The same hash as mix32 for one Python integer (no tensor round trip for scalars)."""
    x = value & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * _M1) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * (_M2 & 0xFFFFFFFF)) & 0xFFFFFFFF
    x ^= x >> 16
    return _to_int32(x)


def stream_id(name: str) -> int:
    """A stable 32-bit id for a named stream, so modules never collide by numbering."""
    return _to_int32(zlib.crc32(name.encode()))


def world_keys(seeds: list[int], device: torch.device | str = "cpu") -> torch.Tensor:
    """One int32 key per world from (up to 64-bit) integer seeds."""
    folded = [_to_int32(s ^ (s >> 32) ^ 0x5BD1E995) for s in seeds]
    return mix32(mix32(torch.tensor(folded, dtype=torch.int32, device=device)))


KEY_ROUNDS = 64  # rounds whose per-world stream keys are derived together (fewer for huge batches)
KEY_CACHE_VALUES = 1 << 20  # per stream: at most 4 MB of cached keys
# Counters hashed at a time on a CPU where a round draws more: two int32 blocks of 4 MB stay in the cache.
HASH_BLOCK = 1 << 20
# Draws from which RandomStreams.hashing (where set) hashes them: below, the call costs more than it saves.
HASHING_DRAWS = 1 << 16


class RandomStreams:
    """Uniform draws for a batch of worlds, addressed by round and stream name.

    For small batches a draw costs the overhead of its tensor operations (about 7 us each here), not
    their arithmetic. So the per-world keys of a stream are derived for KEY_ROUNDS rounds at once, and
    the draws of a round are hashed in one pass: the numbers stay those of one draw at a time.
    """

    def __init__(self, keys: torch.Tensor) -> None:
        self.keys = keys
        self.device = keys.device
        self._index: dict[int, torch.Tensor] = {}  # the hashed counters' index part, per draw size
        self._stream_keys: dict[str, tuple[int, torch.Tensor]] = {}  # stream -> (first round, keys)
        self._key_rounds = max(1, min(KEY_ROUNDS, KEY_CACHE_VALUES // len(keys)))
        # What hashes a large draw's counters into its uniforms, in place of hashed_by_block: an
        # accelerated engine's compiled form of it (models/random_kernels.py), the same numbers.
        self.hashing: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def counters(self, round_index: int, stream: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """What a stream's draws of one round are hashed from: the per-world key, (worlds, 1), and the
        per-index offsets, (n,). `hashed_uniforms(key + offsets)` gives `uniform(round_index, stream, (n,))`;
        a kernel that hashes them itself never holds its draws in memory."""
        if n not in self._index:
            self._index[n] = torch.arange(n, device=self.device, dtype=torch.int32) * _INDEX_STEP
        # A copy of the round's keys, not a view into the cache: a compiled kernel's guards would take the
        # view's offset, which moves every round, for a size (and recompile at rounds 1 and 2).
        return self._keys(round_index, stream)[:, None].clone(), self._index[n]

    def _keys(self, round_index: int, stream: str) -> torch.Tensor:
        """The per-world key of a stream in a round, (worlds,): mix32(world key ^ mix32(counter))."""
        first = round_index - round_index % self._key_rounds
        cached = self._stream_keys.get(stream)
        if cached is None or cached[0] != first:
            counters = [
                mix32_int(_to_int32(r * _GOLDEN + stream_id(stream)))
                for r in range(first, first + self._key_rounds)
            ]
            counter = torch.tensor(counters, dtype=torch.int32, device=self.device)
            cached = (first, mix32(self.keys ^ counter[:, None]))  # (rounds, worlds)
            self._stream_keys[stream] = cached
        return cached[1][round_index - first]

    def uniforms(self, round_index: int, draws: dict[str, tuple[int, ...]]) -> list[torch.Tensor]:
        """float32 uniforms in [0, 1) with 24 bits of resolution, one (worlds, *shape) tensor per stream
        of `draws` (stream name -> shape), in its order; the same numbers as one `uniform` each."""
        n_worlds, sizes = len(self.keys), [math.prod(shape) for shape in draws.values()]
        total = n_worlds * sum(sizes)
        if self.hashing is not None and total >= HASHING_DRAWS:
            return [
                self.hashing(*self.counters(round_index, stream, n)).view(n_worlds, *shape)
                for stream, shape, n in zip(draws, draws.values(), sizes, strict=True)
            ]
        if self.device.type == "cpu" and total > HASH_BLOCK:
            return [
                hashed_by_block(*self.counters(round_index, stream, n)).view(n_worlds, *shape)
                for stream, shape, n in zip(draws, draws.values(), sizes, strict=True)
            ]
        counters = torch.empty(total, dtype=torch.int32, device=self.device)
        for stream, block, n in zip(draws, counters.split([n_worlds * n for n in sizes]), sizes, strict=True):
            torch.add(*self.counters(round_index, stream, n), out=block.view(n_worlds, n))
        blocks = hashed_uniforms(counters).split([n_worlds * n for n in sizes])
        return [block.view(n_worlds, *shape) for block, shape in zip(blocks, draws.values(), strict=True)]

    def uniforms_at(
        self, round_index: int, stream: str, world: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        """The stream's uniforms of one round at given (world, index) pairs, (entries,): the numbers
        `uniform(round_index, stream, (n,))[world, index]` gives for any n > index, hashed for these
        entries only (a round that needs a few of a long stream's draws)."""
        return hashed_uniforms_at(self._keys(round_index, stream).index_select(0, world), index)

    def keys_of(self, round_index: int, stream: str) -> torch.Tensor:
        """The per-world keys of a stream in a round, (worlds,), which `hashed_uniforms_at` hashes with the
        draw indices: a copy, for a kernel (see `counters`)."""
        return self._keys(round_index, stream).clone()

    def uniform(self, round_index: int, stream: str, shape: tuple[int, ...]) -> torch.Tensor:
        """float32 uniforms in [0, 1) with 24 bits of resolution, shape (worlds, *shape)."""
        return self.uniforms(round_index, {stream: shape})[0]
