"""Threefry-2x32-20 against Random123's known answers, on every backend, and the
conversions from its bits to floats (docs/reproducibility.md)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest

from juniper_data_core.rng import normal_pair, stream_key, threefry2x32, uniform, uniform_open
from juniper_data_core.rng.threefry import threefry2x32_host
from juniper_data_core.split import PERM_STREAM

KAT_FILE = Path(__file__).parent.parent / "data" / "threefry2x32_20_kat.txt"
DERIVE_TAG = 0x4A444B32  # "JDK2", the counter's second word in stream_key


class Vector(NamedTuple):
    ctr: tuple[int, int]
    key: tuple[int, int]
    out: tuple[int, int]


def load_kat(path: Path = KAT_FILE) -> list[Vector]:
    """The ``threefry2x32 20`` lines of a Random123-style kat_vectors file."""
    vectors = []
    for line in path.read_text().splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        name, rounds, *words = fields
        assert (name, rounds) == ("threefry2x32", "20"), line
        c0, c1, k0, k1, o0, o1 = (int(w, 16) for w in words)
        vectors.append(Vector((c0, c1), (k0, k1), (o0, o1)))
    return vectors


KAT = load_kat()


def u32(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.uint32)


def _numpy_threefry(k0: int, k1: int, c0: int, c1: int) -> tuple[int, int]:
    x0, x1 = threefry2x32(u32(k0), u32(k1), u32(c0), u32(c1))
    assert x0.dtype == np.uint32 and x1.dtype == np.uint32
    return int(x0[0]), int(x1[0])


def _numba_threefry(k0: int, k1: int, c0: int, c1: int) -> tuple[int, int]:
    # The compiled path the numba backend runs: the same source, on int64 scalars.
    from juniper_data_core.backends.numba import _jit_tree

    x0, x1 = _jit_tree(threefry2x32)(np.int64(k0), np.int64(k1), np.int64(c0), np.int64(c1))
    return int(x0), int(x1)


def _jax_threefry(k0: int, k1: int, c0: int, c1: int) -> tuple[int, int]:
    import jax
    import jax.numpy as jnp

    def arr(v: int) -> Any:
        return jnp.asarray(u32(v))

    x0, x1 = jax.jit(threefry2x32)(arr(k0), arr(k1), arr(c0), arr(c1))
    assert x0.dtype == jnp.uint32
    return int(x0[0]), int(x1[0])


def _cupy_threefry(k0: int, k1: int, c0: int, c1: int) -> tuple[int, int]:
    import cupy as cp

    x0, x1 = threefry2x32(*(cp.asarray(u32(v)) for v in (k0, k1, c0, c1)))
    return int(x0[0]), int(x1[0])


THREEFRY = {"numpy": _numpy_threefry, "numba": _numba_threefry, "jax": _jax_threefry, "cupy": _cupy_threefry}


def test_kat_file_has_the_published_vectors() -> None:
    assert len(KAT) >= 3
    assert Vector((0, 0), (0, 0), (0x6B200159, 0x99BA4EFE)) in KAT
    assert Vector((2**32 - 1,) * 2, (2**32 - 1,) * 2, (0x1CB996FC, 0xBB002BE7)) in KAT
    assert Vector((0x243F6A88, 0x85A308D3), (0x13198A2E, 0x03707344), (0xC4923A9C, 0x483DF7A0)) in KAT


@pytest.mark.parametrize("vector", KAT, ids=lambda v: f"ctr{v.ctr[0]:08x}")
def test_threefry_kat(backend: str, vector: Vector) -> None:
    # threefry2x32 takes the key first, then the counter.
    assert THREEFRY[backend](*vector.key, *vector.ctr) == vector.out


@pytest.mark.parametrize("vector", KAT, ids=lambda v: f"ctr{v.ctr[0]:08x}")
def test_threefry_host_kat(vector: Vector) -> None:
    # The host path (Python ints) that derives stream keys and the shuffle's round keys.
    assert threefry2x32_host(*vector.key, *vector.ctr) == vector.out


def test_threefry_host_equals_the_array_path_on_random_words() -> None:
    words = np.random.default_rng(3).integers(0, 2**32, size=(4, 5000), dtype=np.uint64).astype(np.uint32)
    x0, x1 = threefry2x32(*words)
    host = [threefry2x32_host(*(int(w) for w in words[:, i])) for i in range(words.shape[1])]
    assert host == list(zip(x0.tolist(), x1.tolist(), strict=True))


def test_threefry_kat_vectorised() -> None:
    keys = [u32(*(v.key[w] for v in KAT)) for w in (0, 1)]
    ctrs = [u32(*(v.ctr[w] for v in KAT)) for w in (0, 1)]
    x0, x1 = threefry2x32(*keys, *ctrs)
    assert list(zip(x0.tolist(), x1.tolist(), strict=True)) == [v.out for v in KAT]


def test_threefry_broadcasts_scalar_key_over_counters() -> None:
    c = np.arange(5, dtype=np.uint32)
    x0, x1 = threefry2x32(u32(7), u32(9), c, np.zeros_like(c))
    for j in range(5):
        assert (int(x0[j]), int(x1[j])) == _numpy_threefry(7, 9, j, 0)


def test_threefry_matches_jax_reference_implementation() -> None:
    # JAX's own Threefry-2x32 (20 rounds) is an independent implementation.
    pytest.importorskip("jax")
    import jax.numpy as jnp
    from jax.extend.random import threefry_2x32

    rng = np.random.default_rng(2024)
    k0, k1, c0, c1 = (rng.integers(0, 2**32, 4096, dtype=np.uint32) for _ in range(4))
    x0, x1 = threefry2x32(k0, k1, c0, c1)
    for j in range(0, 4096, 512):
        key = jnp.asarray(np.array([k0[j], k1[j]], np.uint32))
        ref = np.asarray(threefry_2x32(key, jnp.asarray(np.concatenate([c0[j : j + 512], c1[j : j + 512]]))))
        ours = np.concatenate([*threefry2x32(k0[j], k1[j], c0[j : j + 512], c1[j : j + 512])])
        np.testing.assert_array_equal(ours, ref)
    assert len(np.unique(x0)) > 4000 and len(np.unique(x1)) > 4000


# --- conversions (numpy namespace; the backend tests check the others agree) ---


@pytest.fixture(scope="module")
def xp() -> Any:
    from juniper_data_core.backends.numpy import NAMESPACE

    return NAMESPACE


EDGE_BITS = u32(0, 1, 0xFF, 0x100, 0x7FFFFFFF, 0x80000000, 0xFFFFFEFF, 0xFFFFFF00, 0xFFFFFFFF)


def _random_bits(n: int = 100_000) -> np.ndarray:
    x0, x1 = threefry2x32(u32(1), u32(2), np.arange(n // 2, dtype=np.uint32), np.zeros(n // 2, np.uint32))
    return np.concatenate([x0, x1, EDGE_BITS])


def test_uniform_in_unit_interval(xp: Any) -> None:
    u = uniform(xp, _random_bits())
    assert u.dtype == np.float32
    assert u.min() >= 0.0 and u.max() < 1.0
    assert uniform(xp, u32(0))[0] == 0.0
    assert uniform(xp, u32(0xFFFFFFFF))[0] == np.float32(1 - 2.0**-24)


def test_uniform_open_never_zero(xp: Any) -> None:
    u = uniform_open(xp, _random_bits())
    assert u.dtype == np.float32
    assert u.min() > 0.0
    assert uniform_open(xp, u32(0))[0] == np.float32(2.0**-24)


def test_uniform_open_below_one(xp: Any) -> None:
    u = uniform_open(xp, _random_bits())
    assert u.max() < 1.0
    assert uniform_open(xp, u32(0xFFFFFFFF))[0] == np.float32(1 - 2.0**-24)


def test_uniform_is_exact_top_24_bits(xp: Any) -> None:
    bits = _random_bits()
    scaled = uniform(xp, bits).astype(np.float64) * 2.0**24
    np.testing.assert_array_equal(scaled, np.floor(scaled))
    np.testing.assert_array_equal(scaled, (bits >> 8).astype(np.float64))


def test_uniform_open_is_exact_below_one_half(xp: Any) -> None:
    bits = _random_bits()
    bits = bits[bits < 0x80000000]
    opened = uniform_open(xp, bits).astype(np.float64) * 2.0**23
    np.testing.assert_array_equal(opened, (bits >> 9).astype(np.float64) + 0.5)


def test_uniform_open_is_exact_half_step(xp: Any) -> None:
    bits = _random_bits()
    opened = uniform_open(xp, bits).astype(np.float64) * 2.0**23
    np.testing.assert_array_equal(opened, (bits >> 9).astype(np.float64) + 0.5)


def test_uniform_is_uniform(xp: Any) -> None:
    u = uniform(xp, _random_bits(1_000_000)).astype(np.float64)
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    expected = len(u) / 10
    assert np.all(np.abs(counts - expected) < 6 * math.sqrt(expected))


def test_normal_pair_theta_convention(xp: Any) -> None:
    # theta = 2 pi (uniform(b) - 1/2): b = 2**31 is u = 1/2, theta = 0, so the pair is (rho, 0);
    # b = 0 is theta = -pi, so the pair is (-rho, ~0).
    a = u32(0x12345678)
    rho = math.sqrt(-2.0 * math.log(float(uniform_open(xp, a)[0])))
    z0, z1 = normal_pair(xp, a, u32(0x80000000))
    assert z0.dtype == np.float32
    assert z0[0] == pytest.approx(rho, rel=1e-6) and z1[0] == 0.0
    z0, z1 = normal_pair(xp, a, u32(0))
    assert z0[0] == pytest.approx(-rho, rel=1e-6) and abs(z1[0]) < 1e-6


def test_normal_pair_moments(xp: Any) -> None:
    n = 500_000
    i = np.arange(n, dtype=np.uint32)
    z0, z1 = normal_pair(xp, *threefry2x32(u32(3), u32(4), i, np.zeros_like(i)))
    z = np.concatenate([z0, z1]).astype(np.float64)  # 1e6 draws
    assert np.all(np.isfinite(z))
    tol = 5 / math.sqrt(z.size)
    assert abs(z.mean()) < tol
    assert abs(z.std() - 1.0) < tol
    assert abs(np.corrcoef(z0, z1)[0, 1]) < 5 / math.sqrt(n)
    assert abs(np.mean(np.abs(z) > 1.959964) - 0.05) < 0.002
    # Skewness and excess kurtosis of a normal are 0.
    assert abs(np.mean(z**3)) < 0.02 and abs(np.mean(z**4) - 3.0) < 0.05


# --- key derivation ---


def test_stream_key_is_threefry_of_seed_and_stream() -> None:
    seed, stream = 0x0123456789ABCDEF, 5
    expected = _numpy_threefry(seed & 0xFFFFFFFF, seed >> 32, stream, DERIVE_TAG)
    assert stream_key(seed, stream) == expected


def test_stream_key_distinct_for_distinct_streams() -> None:
    streams = [*range(2048), PERM_STREAM]
    keys = [stream_key(42, s) for s in streams]
    assert len(set(keys)) == len(streams)
    assert all(0 <= w < 2**32 for k in keys for w in k)


def test_stream_key_distinct_for_distinct_seeds() -> None:
    seeds = [*range(1000), 2**32, 2**32 + 1, 2**53 - 1, 2**63 - 1]
    assert len({stream_key(s, 0) for s in seeds}) == len(seeds)
    # Frozen on purpose: these words key stream 3 of every 2.0.0 dataset of seed 7.
    assert stream_key(7, 3) == (1064770834, 1462358133)


@pytest.mark.parametrize("seed", [-1, 2**64])
def test_stream_key_rejects_seed_out_of_range(seed: int) -> None:
    with pytest.raises(ValueError, match="seed"):
        stream_key(seed, 0)
