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

import zlib

import torch

_M1 = 0x7FEB352D
_M2 = 0x846CA68B - (1 << 32)  # the same bits as a signed int32
_GOLDEN = 0x9E3779B9 - (1 << 32)
_INDEX_STEP = 0x632BE5AB


def _to_int32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def mix32(x: torch.Tensor) -> torch.Tensor:
    """Bijective avalanche hash of int32 values (lowbias32)."""
    x = x ^ ((x >> 16) & 0xFFFF)
    x = x * _M1
    x = x ^ ((x >> 15) & 0x1FFFF)
    x = x * _M2
    return x ^ ((x >> 16) & 0xFFFF)


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


class RandomStreams:
    """Uniform draws for a batch of worlds, addressed by round and stream name."""

    def __init__(self, keys: torch.Tensor) -> None:
        self.keys = keys
        self.device = keys.device
        self._index_cache: dict[int, torch.Tensor] = {}

    def _index(self, n: int) -> torch.Tensor:
        index = self._index_cache.get(n)
        if index is None:
            index = torch.arange(n, device=self.device, dtype=torch.int32) * _INDEX_STEP
            self._index_cache[n] = index
        return index

    def bits(self, round_index: int, stream: str, shape: tuple[int, ...]) -> torch.Tensor:
        """Hashed int32 bits of shape (worlds, *shape)."""
        counter = _to_int32(round_index * _GOLDEN + stream_id(stream))
        key = mix32(self.keys ^ mix32_int(counter))
        n = 1
        for size in shape:
            n *= size
        return mix32(key[:, None] + self._index(n)).view(len(self.keys), *shape)

    def uniform(self, round_index: int, stream: str, shape: tuple[int, ...]) -> torch.Tensor:
        """float32 uniforms in [0, 1) with 24 bits of resolution, shape (worlds, *shape)."""
        bits = self.bits(round_index, stream, shape)
        return ((bits >> 8) & 0xFFFFFF).to(torch.float32) * (1.0 / (1 << 24))
