"""NPZ and Arrow IPC artifacts: round trips, row ranges, unseekable outputs, zip64 layout."""

from __future__ import annotations

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import threading
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core.formats import ZipStreamWriter, iter_arrow, iter_npz, iter_zip, npy_header

pa = pytest.importorskip("pyarrow")

GENERATORS = sorted(name for name, info in jd.generator_catalog().items() if not info["from_source"])


def _recipe(name: str = "spiral", **params: object) -> jd.Recipe:
    return jd.recipe(name, {"seed": 7, **params})


def _npz_bytes(source: jd.Recipe | jd.Dataset, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    jd.write_npz(source, buf, backend="numpy", **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def _load_npz(data: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


def _arrow_bytes(source: jd.Recipe | jd.Dataset, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    jd.write_arrow(source, buf, backend="numpy", **kwargs)  # type: ignore[arg-type]
    return buf.getvalue()


def _arrow_table(data: bytes) -> pa.Table:
    return pa.ipc.open_stream(data).read_all()


def _arrow_arrays(table: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_features = table.schema.field("X").type.list_size
    n_classes = table.schema.field("y").type.list_size
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(-1, n_features)
    y = np.asarray(table.column("y").combine_chunks().flatten()).reshape(-1, n_classes)
    return X, y, np.asarray(table.column("label"))


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


class _Unseekable(io.RawIOBase):
    """A write-only stream that cannot seek or tell, like a socket."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, data: object) -> int:
        view = memoryview(data)  # type: ignore[arg-type]
        self.buffer += view
        return view.nbytes

    def tell(self) -> int:
        raise OSError("unseekable")

    def seek(self, *args: object) -> int:
        raise OSError("unseekable")


# ----------------------------------------------------------------------------- NPZ


@pytest.mark.parametrize("name", GENERATORS)
def test_write_npz_round_trip_every_generator(name: str) -> None:
    r = _recipe(name)
    arrays = _load_npz(_npz_bytes(r))
    expected = jd.generate(r, backend="numpy").arrays
    assert list(arrays) == list(jd.ARRAY_NAMES)
    assert all(_same_bits(arrays[k], expected[k]) for k in jd.ARRAY_NAMES)


def test_write_npz_members_are_float32_2d() -> None:
    arrays = _load_npz(_npz_bytes(_recipe("gaussian", n_classes=3, n_features=5)))
    assert {(a.dtype, a.ndim) for a in arrays.values()} == {(np.dtype(np.float32), 2)}
    assert arrays["X_full"].shape[1] == 5 and arrays["y_full"].shape[1] == 3


def test_write_npz_returns_bytes_written(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    n = jd.write_npz(_recipe(), path, backend="numpy")
    assert n == path.stat().st_size == len(_npz_bytes(_recipe()))


def test_write_npz_split_writes_one_pair() -> None:
    arrays = _load_npz(_npz_bytes(_recipe(), split="test"))
    assert list(arrays) == ["X_test", "y_test"]


def test_write_npz_range_equals_rows_of_whole() -> None:
    r = _recipe(n_points_per_spiral=500)
    part = _load_npz(_npz_bytes(r, split="train", offset=123, limit=250))
    whole = jd.generate(r, backend="numpy").arrays
    assert _same_bits(part["X_train"], whole["X_train"][123:373])
    assert _same_bits(part["y_train"], whole["y_train"][123:373])


def test_write_npz_limit_past_end_is_clipped() -> None:
    r = _recipe()
    part = _load_npz(_npz_bytes(r, split="full", offset=190, limit=10_000))
    assert len(part["X_full"]) == r.n_rows("full") - 190


def test_write_npz_empty_range_has_zero_rows() -> None:
    part = _load_npz(_npz_bytes(_recipe(), split="full", offset=5, limit=0))
    assert part["X_full"].shape == (0, 2) and part["y_full"].shape == (0, 2)


def test_write_npz_range_without_split_raises() -> None:
    with pytest.raises(jd.ParamsError, match="split"):
        _npz_bytes(_recipe(), offset=3)


def test_write_npz_offset_beyond_split_raises() -> None:
    r = _recipe()
    with pytest.raises(jd.ParamsError, match=rf"offset must be in \[0, {r.n_rows('test')}\]"):
        _npz_bytes(r, split="test", offset=r.n_rows("test") + 1)


def test_iter_npz_checks_arguments_before_the_first_chunk() -> None:
    with pytest.raises(jd.ParamsError, match="split"):
        iter_npz(_recipe(), split="validation")


def test_write_npz_dataset_bytes_equal_recipe_bytes() -> None:
    r = _recipe(n_points_per_spiral=300)
    assert _npz_bytes(jd.generate(r, backend="numpy")) == _npz_bytes(r)


def test_write_npz_dataset_is_not_regenerated() -> None:
    ds = jd.generate(_recipe(), backend="numpy")
    ds.arrays["X_full"] = np.full_like(ds.arrays["X_full"], 3.5)
    assert np.all(_load_npz(_npz_bytes(ds))["X_full"] == 3.5)


def test_write_npz_version_1_equals_generate() -> None:
    r = jd.recipe("spiral", {"seed": 5, "n_points_per_spiral": 50}, version="1.0.0")
    arrays = _load_npz(_npz_bytes(r))
    expected = jd.generate(r, backend="numpy").arrays
    assert all(_same_bits(arrays[k], expected[k]) for k in jd.ARRAY_NAMES)


@pytest.mark.slow  # compiles the Numba kernels
def test_write_npz_in_uneven_batches_equals_generate_on_every_cpu_backend(backend: str) -> None:
    # X and y of each range are computed in separate passes (features alone, labels alone).
    r = _recipe(n_points_per_spiral=400)
    arrays = _load_npz(b"".join(iter_npz(r, backend=backend, batch_rows=77)))
    expected = jd.generate(r, backend=backend).arrays
    assert all(_same_bits(arrays[k], expected[k]) for k in jd.ARRAY_NAMES)


def test_write_npz_to_pipe_is_valid() -> None:
    read_fd, write_fd = os.pipe()
    received = bytearray()

    def drain() -> None:
        with os.fdopen(read_fd, "rb") as reader:
            while chunk := reader.read(1 << 16):
                received.extend(chunk)

    reader = threading.Thread(target=drain)
    reader.start()
    with os.fdopen(write_fd, "wb", buffering=0) as writer:
        n = jd.write_npz(_recipe(n_points_per_spiral=3000), writer, backend="numpy")
    reader.join(timeout=30)
    assert n == len(received)
    assert zipfile.ZipFile(io.BytesIO(bytes(received))).testzip() is None
    assert _load_npz(bytes(received))["X_full"].shape == (6000, 2)


def test_write_npz_to_unseekable_file_object_is_valid() -> None:
    out = _Unseekable()
    jd.write_npz(_recipe(), out, backend="numpy")
    expected = jd.generate(_recipe(), backend="numpy").arrays["y_test"]
    assert _same_bits(_load_npz(bytes(out.buffer))["y_test"], expected)


def test_write_npz_uses_zip64_and_data_descriptors() -> None:
    data = _npz_bytes(_recipe())
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    assert all(i.extract_version == 45 and i.flag_bits & 0x08 for i in infos)
    assert all(i.compress_type == zipfile.ZIP_STORED for i in infos)
    # zip64 end of central directory record, then its locator, then the end record
    assert data[-22 - 20 : -22][:4] == struct.pack("<I", 0x07064B50)
    (end64_offset,) = struct.unpack("<Q", data[-22 - 20 + 8 : -22 - 20 + 16])
    assert data[end64_offset : end64_offset + 4] == struct.pack("<I", 0x06064B50)


def test_write_npz_zip64_fields_carry_sizes_and_offsets() -> None:
    data = _npz_bytes(_recipe())
    infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    expected = jd.generate(_recipe()).arrays
    # each member's data follows its local header (30 bytes + name + 20-byte zip64 extra)
    for info in infos:
        start = info.header_offset + 30 + len(info.filename) + 20
        member = data[start : start + info.file_size]
        name = info.filename.removesuffix(".npy")
        np.testing.assert_array_equal(np.load(io.BytesIO(member), allow_pickle=False), expected[name])
        assert zipfile.crc32(member) == info.CRC  # type: ignore[attr-defined]


@pytest.mark.skipif(shutil.which("unzip") is None, reason="unzip not installed")
def test_write_npz_passes_unzip_test(tmp_path: Path) -> None:
    path = tmp_path / "a.npz"
    jd.write_npz(_recipe(), path, backend="numpy")
    result = subprocess.run(["unzip", "-t", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_write_npz_is_deterministic() -> None:
    assert _npz_bytes(_recipe()) == _npz_bytes(_recipe())


def test_write_npz_memory_stays_bounded() -> None:
    r = _recipe(n_points_per_spiral=750_000)  # 1.5M rows; the six arrays hold 48 MB
    tracemalloc.start()
    try:
        total = sum(len(c) for c in iter_npz(r, backend="numpy", batch_rows=1 << 16))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 48_000_000
    assert peak < total / 2


def test_npy_header_matches_numpy() -> None:
    for shape in [(0, 2), (7, 3), (10**12, 1000)]:
        expected = io.BytesIO()
        header = {"descr": "<f4", "fortran_order": False, "shape": shape}
        np.lib.format.write_array_header_1_0(expected, header)
        assert npy_header(shape) == expected.getvalue()


def test_zip_stream_writer_holds_several_npz_members() -> None:
    a, b = _recipe(), _recipe("xor")
    members = [
        (f"{a.dataset_id}.npz", iter_npz(a, backend="numpy")),
        (f"{b.dataset_id}.npz", iter_npz(b, backend="numpy")),
        ("manifest.json", [b'{"missing": []}']),
    ]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(iter_zip(members))))
    assert archive.namelist() == [name for name, _ in members]
    inner = _load_npz(archive.read(f"{b.dataset_id}.npz"))
    assert _same_bits(inner["X_full"], jd.generate(b, backend="numpy").arrays["X_full"])


def test_zip_stream_writer_counts_its_offset() -> None:
    zw = ZipStreamWriter()
    produced = sum(len(c) for c in zw.member("a.bin", [b"x" * 10, memoryview(b"y" * 5)]))
    produced += len(zw.finish())
    assert zw.offset == produced


def test_zip_stream_writer_refuses_overlapping_members() -> None:
    zw = ZipStreamWriter()
    zw.start("a")
    with pytest.raises(RuntimeError, match="end the current member"):
        zw.start("b")


# ----------------------------------------------------------------------------- Arrow


@pytest.mark.parametrize("name", GENERATORS)
def test_write_arrow_round_trip_every_generator(name: str) -> None:
    r = _recipe(name)
    expected = jd.generate(r, backend="numpy").arrays
    for split in ("full", "train", "test"):
        X, y, _ = _arrow_arrays(_arrow_table(_arrow_bytes(r, split=split)))
        assert _same_bits(X, expected[f"X_{split}"]) and _same_bits(y, expected[f"y_{split}"])


def test_write_arrow_schema_has_declared_columns() -> None:
    schema = _arrow_table(_arrow_bytes(_recipe("gaussian", n_classes=4, n_features=3))).schema
    assert schema.field("X").type == pa.list_(pa.float32(), 3)
    assert schema.field("y").type == pa.list_(pa.float32(), 4)
    assert schema.field("label").type == pa.int32()


def test_write_arrow_label_is_argmax_of_y() -> None:
    _, y, label = _arrow_arrays(_arrow_table(_arrow_bytes(_recipe("gaussian", n_classes=5))))
    assert np.array_equal(label, y.argmax(axis=1)) and len(np.unique(label)) == 5


def test_write_arrow_schema_metadata_describes_recipe_and_range() -> None:
    r = _recipe()
    meta = _arrow_table(_arrow_bytes(r, split="train", offset=4, limit=20)).schema.metadata
    text = {k.decode(): v.decode() for k, v in meta.items()}
    assert text["dataset_id"] == r.dataset_id
    assert (text["generator"], text["generator_version"]) == ("spiral", "2.0.0")
    assert json.loads(text["params"]) == r.params
    assert (text["split"], text["offset"], text["n_rows"]) == ("train", "4", "20")


def test_write_arrow_batch_rows_gives_same_table() -> None:
    r = _recipe("circles", n_samples=100)
    small = _arrow_table(_arrow_bytes(r, batch_rows=7))
    assert [b.num_rows for b in small.to_batches()] == [7] * 14 + [2]
    assert small.equals(_arrow_table(_arrow_bytes(r)))


def test_write_arrow_range_equals_rows_of_whole() -> None:
    r = _recipe(n_points_per_spiral=500)
    X, y, _ = _arrow_arrays(_arrow_table(_arrow_bytes(r, split="test", offset=17, limit=40)))
    whole = jd.generate(r, backend="numpy").arrays
    assert _same_bits(X, whole["X_test"][17:57]) and _same_bits(y, whole["y_test"][17:57])


def test_write_arrow_offset_beyond_split_raises() -> None:
    with pytest.raises(jd.ParamsError, match="offset"):
        _arrow_bytes(_recipe(), offset=10**6)


def test_write_arrow_negative_limit_raises() -> None:
    with pytest.raises(jd.ParamsError, match="limit must be >= 0"):
        _arrow_bytes(_recipe(), limit=-1)


def test_write_arrow_zero_batch_rows_raises() -> None:
    with pytest.raises(jd.ParamsError, match="batch_rows"):
        _arrow_bytes(_recipe(), batch_rows=0)


def test_write_arrow_dataset_is_not_regenerated() -> None:
    ds = jd.generate(_recipe(), backend="numpy")
    ds.arrays["X_train"] = np.zeros_like(ds.arrays["X_train"])
    X, _, _ = _arrow_arrays(_arrow_table(_arrow_bytes(ds, split="train")))
    assert not X.any()


def test_write_arrow_version_1_equals_generate() -> None:
    r = jd.recipe("xor", {"seed": 5}, version="1.0.0")
    X, _, _ = _arrow_arrays(_arrow_table(_arrow_bytes(r, split="train")))
    assert _same_bits(X, jd.generate(r, backend="numpy").arrays["X_train"])


def test_write_arrow_to_unseekable_file_object_is_valid() -> None:
    out = _Unseekable()
    n = jd.write_arrow(_recipe(), out, backend="numpy", batch_rows=50)
    assert n == len(out.buffer) and _arrow_table(bytes(out.buffer)).num_rows == _recipe().n_rows("full")


def test_write_arrow_empty_range_is_a_valid_stream() -> None:
    table = _arrow_table(_arrow_bytes(_recipe(), offset=0, limit=0))
    assert table.num_rows == 0 and table.schema.field("X").type.list_size == 2


def test_iter_arrow_without_pyarrow_raises_with_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(jd.MissingDependencyError, match="pip install pyarrow"):
        iter_arrow(_recipe())


def test_write_npz_auto_backend_matches_generate_auto() -> None:
    r = _recipe(n_points_per_spiral=2000)
    buf = io.BytesIO()
    jd.write_npz(r, buf)
    arrays = _load_npz(buf.getvalue())
    expected = jd.generate(r).arrays
    assert all(_same_bits(arrays[k], expected[k]) for k in jd.ARRAY_NAMES)


@pytest.mark.slow  # compiles the Numba kernels
@pytest.mark.skipif("numba" not in jd.available_backends(), reason="numba backend not available")
def test_write_arrow_numba_backend_matches_generate_numba() -> None:
    r = _recipe(n_points_per_spiral=3000)
    buf = io.BytesIO()
    jd.write_arrow(r, buf, backend="numba", batch_rows=1000)
    X, _, _ = _arrow_arrays(_arrow_table(buf.getvalue()))
    assert _same_bits(X, jd.generate(r, backend="numba").arrays["X_full"])
