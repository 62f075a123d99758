"""MNIST's 70,000 images from the four IDX files into a dataset (issue 12: under 1 s).

Group ``mnist-idx``, two benchmarks over the same files in the same run:

- ``juniper``: ``jd.generate("mnist", {"split": "official"})`` from cold (the generator's
  caches emptied every round): the files read and checked, the content hashed into the
  recipe, and the six float32 arrays made (the published split, pixels / 255);
- ``numpy-read`` (the peer, a lower bound): the four files gunzipped and read with
  ``np.frombuffer``, the 70,000 images cast to float32 / 255; no checks, no split.

The files are synthetic, of the published shapes and compression (60,000 + 10,000 28x28
uint8 images, about 19% of pixels lit, as in MNIST; gzipped), written once per session.
Correctness mode (CI) runs both once on 1,000 + 200 images and checks the arrays.

``python -m pytest benchmarks/test_sources_images.py --benchmark-enable -p no:randomly``
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import juniper_data_core as jd
from benchmarks.conftest import benchmarks_enabled

FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


def _idx(array: np.ndarray) -> bytes:
    return (
        struct.pack(">HBB", 0, 0x08, array.ndim)
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.tobytes()
    )


def _images(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` 28x28 uint8 images: a lit blob in the middle (about 19% of pixels), like digits."""
    images = np.zeros((n, 28, 28), np.uint8)
    yy, xx = np.mgrid[:28, :28]
    centres = rng.uniform(11, 17, size=(n, 2))
    radius = rng.uniform(5, 7, size=n)
    for i in range(n):
        lit = (yy - centres[i, 0]) ** 2 + (xx - centres[i, 1]) ** 2 < radius[i] ** 2
        images[i][lit] = rng.integers(64, 256, size=int(lit.sum()), dtype=np.uint8)
    return images


@pytest.fixture(scope="session")
def mnist_files(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, int]]:
    """A data directory holding mnist/ (the four gzipped files); and the training images' count."""
    n_train, n_test = (60_000, 10_000) if benchmarks_enabled(request.config) else (1_000, 200)
    rng = np.random.default_rng(12)
    root = tmp_path_factory.mktemp("sources")
    (root / "mnist").mkdir()
    arrays = (
        _images(n_train, rng),
        rng.integers(0, 10, n_train, dtype=np.uint8),
        _images(n_test, rng),
        rng.integers(0, 10, n_test, dtype=np.uint8),
    )
    for name, array in zip(FILES, arrays, strict=True):
        (root / "mnist" / name).write_bytes(gzip.compress(_idx(array), compresslevel=6))
    mp = pytest.MonkeyPatch()
    mp.setenv("JUNIPER_DATA_SOURCES_PATH", str(root))
    yield root, n_train
    mp.undo()


def _cold_generate() -> dict[str, np.ndarray]:
    from juniper_data_core.generators import mnist

    mnist._CACHE.clear()
    mnist.TABLE.cache_clear()
    return jd.generate("mnist", {"split": "official", "seed": 1}).arrays


def _numpy_read(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    parts = [np.frombuffer(gzip.decompress((directory / name).read_bytes()), np.uint8) for name in FILES]
    images = np.concatenate([parts[0][16:], parts[2][16:]]).reshape(-1, 784)
    labels = np.concatenate([parts[1][8:], parts[3][8:]])
    return images.astype(np.float32) / np.float32(255), labels


def test_mnist_idx_to_dataset(benchmark, mnist_files: tuple[Path, int]) -> None:  # type: ignore[no-untyped-def]
    root, n_train = mnist_files
    benchmark.group = "mnist-idx"
    benchmark.extra_info.update(engine="juniper", n_images=n_train * 7 // 6)
    arrays = benchmark.pedantic(_cold_generate, rounds=5, iterations=1, warmup_rounds=1)
    X_reference, labels = _numpy_read(root / "mnist")
    assert arrays["X_full"].shape == X_reference.shape
    np.testing.assert_array_equal(arrays["X_full"], X_reference)
    # The official split: train is the training file, test the test file.
    np.testing.assert_array_equal(arrays["X_train"], X_reference[:n_train])
    np.testing.assert_array_equal(arrays["X_test"], X_reference[n_train:])
    np.testing.assert_array_equal(arrays["y_test"].argmax(axis=1), labels[n_train:])


def test_mnist_idx_numpy_read_peer(benchmark, mnist_files: tuple[Path, int]) -> None:  # type: ignore[no-untyped-def]
    root, n_train = mnist_files
    benchmark.group = "mnist-idx"
    benchmark.extra_info.update(engine="numpy-read", n_images=n_train * 7 // 6)
    X, labels = benchmark.pedantic(
        _numpy_read, args=(root / "mnist",), rounds=5, iterations=1, warmup_rounds=1
    )
    assert X.shape == (len(labels), 784) and float(X.max()) <= 1.0
