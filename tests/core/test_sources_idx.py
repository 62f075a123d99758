"""The IDX reader on files written here in the published format (struct + NumPy), and on
scikit-learn's bundled digits written as IDX: the arrays read back are sklearn's."""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from juniper_data_core.sources.idx import IdxFormatError, read_idx
from tests.core.chunked import assert_chunks_give_the_whole

# The published dtype codes, written out here rather than taken from the module under test.
CODES = {"u1": 0x08, "i1": 0x09, "i2": 0x0B, "i4": 0x0C, "f4": 0x0D, "f8": 0x0E}


def idx_bytes(array: np.ndarray) -> bytes:
    """``array`` in IDX: 0x0000, dtype code, ndim, big-endian uint32 dims, big-endian data."""
    kind = array.dtype.str[1:]
    header = struct.pack(">HBB", 0, CODES[kind], array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def write(path: Path, array: np.ndarray, gz: bool = False) -> Path:
    data = idx_bytes(array)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


@pytest.mark.parametrize("kind", sorted(CODES))
def test_read_idx_every_dtype_round_trips(tmp_path: Path, kind: str) -> None:
    rng = np.random.default_rng(3)
    array = (rng.standard_normal((5, 3, 2)) * 50).astype(kind)
    out = read_idx(write(tmp_path / "a.idx", array))
    assert out.dtype == np.dtype(kind) and out.dtype.isnative
    np.testing.assert_array_equal(out, array)


def test_read_idx_gzipped_whatever_the_name(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    # Named without .gz: the reader goes by the gzip magic bytes, not the suffix.
    out = read_idx(write(tmp_path / "labels-idx1-ubyte", labels, gz=True))
    np.testing.assert_array_equal(out, labels)


def test_read_idx_sklearn_digits_are_sklearn_digits(tmp_path: Path) -> None:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = digits.images.astype(np.uint8)  # 0..16 grey levels, exact in uint8
    assert np.array_equal(images, digits.images)
    read_images = read_idx(write(tmp_path / "train-images-idx3-ubyte.gz", images, gz=True))
    read_labels = read_idx(write(tmp_path / "train-labels-idx1-ubyte", digits.target.astype(np.uint8)))
    assert read_images.shape == (1797, 8, 8)
    np.testing.assert_array_equal(read_images.reshape(len(images), -1), digits.data)
    np.testing.assert_array_equal(read_labels, digits.target)


def test_read_idx_truncated_data_names_file_and_sizes(tmp_path: Path) -> None:
    path = tmp_path / "short.idx"
    path.write_bytes(idx_bytes(np.zeros((4, 28, 28), np.uint8))[:-10])
    with pytest.raises(IdxFormatError, match=r"short\.idx: truncated: shape \(4, 28, 28\).*3136 bytes.*3126"):
        read_idx(path)


def test_read_idx_truncated_gzip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.ones((100, 28, 28), np.uint8)))[:-20])
    with pytest.raises(IdxFormatError, match=r"cut\.gz: a damaged or truncated gzip"):
        read_idx(path)


def test_read_idx_extra_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "long.idx"
    path.write_bytes(idx_bytes(np.zeros(5, np.uint8)) + b"\0\0")
    with pytest.raises(IdxFormatError, match=r"long\.idx: 2 bytes after the data of shape \(5,\)"):
        read_idx(path)


def test_read_idx_bad_magic_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pic.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(IdxFormatError, match=r"pic\.png: not an IDX file"):
        read_idx(path)


def test_read_idx_unknown_dtype_code_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.idx"
    path.write_bytes(struct.pack(">HBBI", 0, 0x0A, 1, 1) + b"\0")
    with pytest.raises(IdxFormatError, match=r"odd\.idx: unknown IDX dtype code 0x0A"):
        read_idx(path)


def test_read_idx_truncated_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "head.idx"
    path.write_bytes(struct.pack(">HBBI", 0, 0x08, 3, 60000))  # says 3 dims, holds one
    with pytest.raises(IdxFormatError, match=r"head\.idx: truncated header: 3 dimensions need 16 bytes"):
        read_idx(path)


def test_read_idx_zero_dimensions_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "zero.idx"
    path.write_bytes(struct.pack(">HBB", 0, 0x08, 0))
    with pytest.raises(IdxFormatError, match=r"zero\.idx: 0 dimensions"):
        read_idx(path)


# --------------------------------------------------------------------------- the mnist generator
# scikit-learn's 1797 digits (8x8, grey levels 0..16) written as the four MNIST files: the
# first 1500 as the training file (gzipped), the other 297 as the test file (plain).

N_TRAIN = 1500


@pytest.fixture
def digits_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images.astype(np.uint8), digits.target.astype(np.uint8)
    root = tmp_path / "data"
    (root / "mnist").mkdir(parents=True)
    write(root / "mnist" / "train-images-idx3-ubyte.gz", images[:N_TRAIN], gz=True)
    write(root / "mnist" / "train-labels-idx1-ubyte.gz", labels[:N_TRAIN], gz=True)
    write(root / "mnist" / "t10k-images-idx3-ubyte", images[N_TRAIN:])
    write(root / "mnist" / "t10k-labels-idx1-ubyte", labels[N_TRAIN:])
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(root))
    return root, images, labels


def rows_as_set(X: np.ndarray, y: np.ndarray) -> list[tuple[int, ...]]:
    """Each row's pixels (0..255 scale undone) and class, sorted: a split compared as a multiset."""
    pixels = np.rint(X * 255).astype(np.int64)
    return sorted((*tuple(p), int(c)) for p, c in zip(pixels, y.argmax(axis=1), strict=True))


def test_mnist_official_split_is_the_files_split(digits_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    import juniper_data_core as jd

    _, images, labels = digits_dir
    ds = jd.generate("mnist", {"split": "official", "seed": 5, "normalize": False})
    a = ds.arrays
    assert (ds.meta["n_train"], ds.meta["n_test"]) == (N_TRAIN, 297)
    assert ds.recipe.params["shuffle"] is False
    # Train is the training file and test the test file, in the published order.
    np.testing.assert_array_equal(a["X_train"], images[:N_TRAIN].reshape(N_TRAIN, 64))
    np.testing.assert_array_equal(a["y_train"].argmax(axis=1), labels[:N_TRAIN])
    np.testing.assert_array_equal(a["X_test"], images[N_TRAIN:].reshape(297, 64))
    np.testing.assert_array_equal(a["y_test"].argmax(axis=1), labels[N_TRAIN:])
    np.testing.assert_array_equal(a["X_full"], images.reshape(len(images), 64))


def test_mnist_ratios_split_shuffles_every_image_once(
    digits_dir: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    import juniper_data_core as jd

    _, images, labels = digits_dir
    a = jd.generate("mnist", {"seed": 5, "train_ratio": 0.75, "test_ratio": 0.25}).arrays
    flat = images.reshape(len(images), -1)
    both = np.concatenate([a["X_train"], a["X_test"]])
    both_y = np.concatenate([a["y_train"], a["y_test"]])
    assert rows_as_set(both, both_y) == rows_as_set(flat / 255, np.eye(10)[labels])
    assert not np.array_equal(a["X_train"][:50], (flat[:50] / np.float32(255)).astype(np.float32))


def test_mnist_full_is_the_digits_in_order(digits_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    import juniper_data_core as jd

    _, images, labels = digits_dir
    ds = jd.generate("mnist", {"normalize": False, "one_hot_labels": False})
    np.testing.assert_array_equal(ds.arrays["X_full"], images.reshape(len(images), 64))
    np.testing.assert_array_equal(ds.arrays["y_full"], labels.reshape(-1, 1).astype(np.float32))
    assert (ds.meta["n_train"], ds.meta["n_test"]) == (1438, 359)  # 0.8 and 0.2 of 1797, half to even
    assert ds.meta["image_shape"] == [8, 8] and ds.meta["source"]["kind"] == "idx"
    one_hot = jd.generate("mnist", {"normalize": False})
    assert one_hot.meta["class_distribution"] == {str(k): int(v) for k, v in enumerate(np.bincount(labels))}


def test_mnist_normalize_divides_by_255(digits_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    import juniper_data_core as jd

    _, images, _ = digits_dir
    X = jd.generate("mnist", {"n_samples": 10, "shuffle": False}).arrays["X_full"]
    np.testing.assert_array_equal(X, images[:10].reshape(10, 64).astype(np.float32) / np.float32(255))


def test_mnist_same_arrays_on_every_backend_and_chunking(
    digits_dir: tuple[Path, np.ndarray, np.ndarray],
) -> None:
    import juniper_data_core as jd

    for params in ({"split": "official"}, {"seed": 4, "train_ratio": 0.7, "test_ratio": 0.3}):
        assert_chunks_give_the_whole(jd.recipe("mnist", params), 211)


def test_mnist_id_names_the_content(digits_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    import juniper_data_core as jd
    from juniper_data_core import ParamsError

    root, _, labels = digits_dir
    before = jd.recipe("mnist", {"seed": 1})
    assert before.params["source_id"].startswith("sha256:")
    # Other content under the same names: another source_id, another dataset id, and the old
    # recipe (as stored by a service) is refused rather than made from other data.
    write(root / "mnist" / "t10k-labels-idx1-ubyte", (labels[N_TRAIN:] + 1) % 10)
    after = jd.recipe("mnist", {"seed": 1})
    assert after.params["source_id"] != before.params["source_id"]
    assert after.dataset_id != before.dataset_id
    with pytest.raises(ParamsError, match=r"source_id: the mnist data here has source_id sha256:\w+, not"):
        jd.recipe("mnist", before.params)


def test_mnist_without_files_says_how_to_get_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import juniper_data_core as jd
    from juniper_data_core import DataUnavailableError

    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path))
    with pytest.raises(
        DataUnavailableError,
        match=r"fashion_mnist files are not on this server .*juniper-data fetch fashion_mnist",
    ):
        jd.recipe("mnist", {"dataset": "fashion_mnist"})


def test_mnist_damaged_file_is_the_servers_problem(digits_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    import juniper_data_core as jd
    from juniper_data_core import DataUnavailableError

    root, _, labels = digits_dir
    path = root / "mnist" / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(labels[N_TRAIN:])[:-7])
    with pytest.raises(DataUnavailableError, match=r"t10k-labels-idx1-ubyte: truncated.*fetch mnist` again"):
        jd.recipe("mnist", {})


def test_mnist_mismatched_files_are_refused(digits_dir: tuple[Path, np.ndarray, np.ndarray]) -> None:
    import juniper_data_core as jd
    from juniper_data_core import DataUnavailableError

    root, _, labels = digits_dir
    write(root / "mnist" / "t10k-labels-idx1-ubyte", labels[N_TRAIN:-1])
    with pytest.raises(DataUnavailableError, match=r"has 297 images but .* 296 labels"):
        jd.recipe("mnist", {})


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"flatten": False}, "flatten", "every artifact holds 2-D arrays"),
        ({"split": "official", "n_samples": 10}, "n_samples", "applies to split='ratios'"),
        ({"split": "official", "shuffle": True}, "shuffle", "keeps the published order"),
        ({"n_samples": 5000}, "n_samples", "at most 1797"),
        ({"dataset": "kmnist"}, "dataset", "mnist"),
    ],
)
def test_mnist_bad_params_name_the_field(
    digits_dir: tuple[Path, np.ndarray, np.ndarray], params: dict[str, object], field: str, message: str
) -> None:
    import juniper_data_core as jd
    from juniper_data_core import ParamsError

    with pytest.raises(ParamsError, match=message) as err:
        jd.recipe("mnist", params)
    assert err.value.errors[0][0] == field


# --------------------------------------------------------------------------- juniper-data fetch
# The published mirrors cannot be reached from CI: a real HTTP server on loopback stands in
# for a mirror, serving the digits files; a closed port stands in for a missing network.


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A loopback HTTP mirror of the digits as the four gzipped MNIST files; (url, md5s)."""
    import functools
    import hashlib
    import http.server
    import threading

    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images.astype(np.uint8), digits.target.astype(np.uint8)
    served = tmp_path / "mirror"
    served.mkdir()
    for name, array in (
        ("train-images-idx3-ubyte.gz", images[:N_TRAIN]),
        ("train-labels-idx1-ubyte.gz", labels[:N_TRAIN]),
        ("t10k-images-idx3-ubyte.gz", images[N_TRAIN:]),
        ("t10k-labels-idx1-ubyte.gz", labels[N_TRAIN:]),
    ):
        write(served / name, array, gz=True)
    md5 = {p.name: hashlib.md5(p.read_bytes(), usedforsecurity=False).hexdigest() for p in served.iterdir()}
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/", md5
    server.shutdown()
    server.server_close()


def closed_port() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def test_fetch_downloads_checks_and_the_generator_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mirror: tuple[str, dict[str, str]]
) -> None:
    import juniper_data_core as jd
    from juniper_data_core.fetch import fetch

    url, md5 = mirror
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path / "data"))
    # The first mirror is down: the next one is tried.
    where = fetch("mnist", mirrors=[closed_port(), url], checksums=md5)
    assert where == tmp_path / "data" / "mnist"
    assert sorted(p.name for p in where.iterdir()) == sorted(md5)  # no temporary file left
    assert jd.generate("mnist", {"split": "official"}).meta["n_train"] == N_TRAIN


def test_fetch_refuses_a_wrong_checksum_and_leaves_nothing(
    tmp_path: Path, mirror: tuple[str, dict[str, str]]
) -> None:
    from juniper_data_core.fetch import FetchError, fetch

    url, md5 = mirror
    wrong = {**md5, "t10k-images-idx3-ubyte.gz": "0" * 32}
    with pytest.raises(FetchError, match=r"t10k-images-idx3-ubyte\.gz: MD5 \w+ is not the published 0{32}"):
        fetch("mnist", tmp_path, mirrors=[url], checksums=wrong)
    assert not (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
    assert not [p for p in (tmp_path / "mnist").iterdir() if p.name.startswith(".fetch-")]


def test_fetch_without_network_is_a_clear_error(tmp_path: Path) -> None:
    from juniper_data_core.fetch import FetchError, fetch

    down = closed_port()
    with pytest.raises(
        FetchError, match=rf"could not download train-images-idx3-ubyte\.gz \({down}.*check the network"
    ):
        fetch("fashion_mnist", tmp_path, mirrors=[down])
    assert list((tmp_path / "fashion_mnist").iterdir()) == []


def test_fetch_command_keeps_files_already_there(
    digits_dir: tuple[Path, np.ndarray, np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    from juniper_data_core.cli import main

    root, _, _ = digits_dir
    # Files present: nothing is downloaded (this machine has no network), they are checked.
    with pytest.raises(SystemExit) as done:
        main(["fetch", "mnist", "--dir", str(root)])
    assert done.value.code == 0
    assert f"mnist: the four IDX files are in {root / 'mnist'}" in capsys.readouterr().err


def test_fetch_command_unknown_dataset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from juniper_data_core.cli import main

    with pytest.raises(SystemExit) as done:
        main(["fetch", "kmnist", "--dir", str(tmp_path)])
    assert done.value.code == 2
    assert "error: fetch knows mnist, fashion_mnist, not 'kmnist'" in capsys.readouterr().err


def test_read_idx_corrupt_gzip_is_refused(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(idx_bytes(np.arange(4096, dtype=np.int32))))
    data[40] ^= 0xFF  # a flipped byte inside the deflate stream
    path = tmp_path / "flipped.gz"
    path.write_bytes(bytes(data))
    with pytest.raises(IdxFormatError, match=r"flipped\.gz: a damaged or truncated gzip file"):
        read_idx(path)


def test_catalogue_says_mnist_is_unavailable_until_its_files_are_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import juniper_data_core as jd

    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path))
    for var in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    entry = jd.generator_catalog()["mnist"]
    assert entry["available"] is False and "juniper-data fetch mnist" in entry["install_hint"]
    folder = tmp_path / "fashion_mnist"
    folder.mkdir()
    images, labels = np.zeros((3, 28, 28), np.uint8), np.arange(3, dtype=np.uint8)
    for name, array in (("train-images-idx3-ubyte", images), ("train-labels-idx1-ubyte", labels)):
        write(folder / name, array)
    assert jd.generator_catalog()["mnist"]["available"] is False  # two of the four files
    for name, array in (("t10k-images-idx3-ubyte", images), ("t10k-labels-idx1-ubyte", labels)):
        write(folder / name, array, gz=True)
    entry = jd.generator_catalog()["mnist"]
    assert entry["available"] is True and entry["install_hint"] is None
    assert all(g["available"] for n, g in jd.generator_catalog().items() if n != "mnist")
