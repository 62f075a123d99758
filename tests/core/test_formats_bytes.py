"""The bytes of the formats against their specifications and their announced sizes (found by
mutation testing, docs/testing.md): the zip64 end record as PKWARE's APPNOTE lays it out, the
members' timestamps as ``zipfile`` reads them, ``npz_nbytes`` equal to the bytes written and
``arrow_nbytes`` an upper bound of them, for many sizes, splits and row ranges; the batch
sizes and the merging of small pieces the writers promise."""

from __future__ import annotations

import io
import struct
import zipfile

import pytest

import juniper_data_core as jd
from juniper_data_core.formats import ZipStreamWriter, arrow_nbytes, npz_nbytes
from juniper_data_core.formats.chunks import merge_small
from juniper_data_core.formats.rows import batch_rows_for

RECIPES = [jd.recipe("xor", {"n_points_per_quadrant": n, "seed": 1}) for n in (1, 3, 25, 250, 2600)] + [
    jd.recipe("gaussian", {"n_classes": 3, "n_features": 5, "n_samples_per_class": 77, "seed": 2})
]
RANGES = [(None, 0, None), ("full", 0, None), ("train", 0, None), ("test", 1, 2), ("full", 3, 500)]


def _npz_bytes(
    recipe: jd.Recipe, split: str | None = None, offset: int = 0, limit: int | None = None
) -> bytes:
    out = io.BytesIO()
    jd.write_npz(recipe, out, split=split, offset=offset, limit=limit, backend="numpy")
    return out.getvalue()


def test_zip64_end_record_follows_appnote() -> None:
    data = _npz_bytes(RECIPES[2])
    # End of central directory (22 bytes) last, the zip64 locator (20 bytes) before it.
    locator = struct.unpack_from("<IIQI", data, len(data) - 22 - 20)
    assert locator[0] == 0x07064B50 and locator[3] == 1
    end64 = struct.unpack_from("<IQHHIIQQQQ", data, locator[2])
    signature, size, _, needed, disk, cd_disk, n_disk, n, cd_size, cd_offset = end64
    # APPNOTE 4.3.14.1: the record's size without its leading 12 bytes (56 - 12).
    assert signature == 0x06064B50 and size == 44 and needed == 45
    assert (disk, cd_disk, n_disk, n) == (0, 0, 6, 6)
    assert cd_offset + cd_size == locator[2]  # the directory ends where the record begins
    assert struct.unpack_from("<I", data, cd_offset)[0] == 0x02014B50


def test_member_timestamps_are_what_the_writer_was_given() -> None:
    when = (2026, 12, 1, 9, 30, 58)  # DOS time keeps even seconds: 58 stays 58
    zw = ZipStreamWriter(date_time=when)
    data = b"".join(bytes(c) for c in zw.member("a.bin", [b"x" * 10])) + zw.finish()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("a.bin").date_time == when
        assert archive.read("a.bin") == b"x" * 10
    zw = ZipStreamWriter()
    data = b"".join(bytes(c) for c in zw.member("b.bin", [b"y"])) + zw.finish()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.getinfo("b.bin").date_time == (1980, 1, 1, 0, 0, 0)


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.dataset_id)
@pytest.mark.parametrize(("split", "offset", "limit"), RANGES)
def test_npz_nbytes_is_the_size_written(
    recipe: jd.Recipe, split: str | None, offset: int, limit: int | None
) -> None:
    n_bytes = npz_nbytes(recipe, split=split, offset=offset, limit=limit)
    assert n_bytes == len(_npz_bytes(recipe, split, offset, limit))


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.dataset_id)
@pytest.mark.parametrize(("split", "offset", "limit"), [r for r in RANGES if r[0] is not None])
def test_arrow_nbytes_bounds_the_size_written(
    recipe: jd.Recipe, split: str, offset: int, limit: int | None
) -> None:
    pytest.importorskip("pyarrow")
    out = io.BytesIO()
    jd.write_arrow(recipe, out, split=split, offset=offset, limit=limit, backend="numpy")
    written = len(out.getvalue())
    # An upper bound (a budget check uses it), close: headers and padding are under 64 KiB.
    assert written <= arrow_nbytes(recipe, split=split, offset=offset, limit=limit) <= written + (64 << 10)


def test_batch_rows_hold_about_the_target_bytes() -> None:
    # 2 features + 2 classes: 16 bytes a row.
    assert batch_rows_for(2, 2, 16 << 20) == 1 << 20
    assert batch_rows_for(2, 2, 1 << 20) == 1 << 16
    assert batch_rows_for(1000, 24, 1 << 20) == 256
    assert batch_rows_for(2, 2, 1 << 30) == 1 << 20  # capped
    assert batch_rows_for(100_000, 10, 1000) == 1  # at least one row


def test_arrow_record_batches_are_whole_batches() -> None:
    pa = pytest.importorskip("pyarrow")
    recipe = jd.recipe("xor", {"n_points_per_quadrant": 50_000, "seed": 1})  # 200,000 rows
    out = io.BytesIO()
    jd.write_arrow(recipe, out, batch_rows=64_000, backend="numpy")
    sizes = [batch.num_rows for batch in pa.ipc.open_stream(out.getvalue())]
    assert sizes == [64_000, 64_000, 64_000, 8_000]
    out = io.BytesIO()
    jd.write_arrow(recipe, out, backend="numpy")  # the default: 8 MiB batches, not a row each
    assert max(batch.num_rows for batch in pa.ipc.open_stream(out.getvalue())) >= 65_536


def test_small_pieces_are_merged_and_large_ones_pass_through() -> None:
    big = memoryview(b"B" * 20)
    pieces = list(merge_small([b"a" * 3, b"b" * 3, big, b"c" * 3], min_bytes=8))
    assert [bytes(p) for p in pieces] == [b"aaabbb", b"B" * 20, b"ccc"]
    assert isinstance(pieces[1], memoryview) and pieces[1].obj is big.obj  # not copied
    assert [bytes(p) for p in merge_small([b"x" * 5] * 4, min_bytes=8)] == [b"x" * 10, b"x" * 10]
    # The default threshold is 64 KiB: a thousand 1 KiB headers become one write.
    assert [len(p) for p in merge_small([b"h" * 1024] * 1000)] == [64 * 1024] * 15 + [40 * 1024]
