"""Sources in the engine: real files written by pandas and pyarrow, canonical ids, csv_import."""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import juniper_data_core as jd
from juniper_data_core import sources
from juniper_data_core.formats import write_arrow, write_npz
from juniper_data_core.split import make_permutation, split_sizes

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")
pq = pytest.importorskip("pyarrow.parquet")

KNOWN = Path(__file__).resolve().parents[1] / "data" / "sources_known.csv"
BACKENDS = [b for b in jd.available_backends() if b in ("numpy", "numba", "jax", "cupy")]


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[sources.SourceDirectory]:
    d = sources.SourceDirectory(tmp_path / "sources")
    sources.add_source_directory(d.root)
    yield d
    sources.remove_source_directory(d.root)


def frame(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            # Three decimals: every writer (pandas' JSON rounds to 10 digits) spells them exactly.
            "x": np.round(rng.normal(size=n), 3),
            "k": rng.integers(-5, 5, size=n),
            "flag": rng.integers(0, 2, size=n).astype(bool),
            "label": rng.choice(["b", "a", "c"], size=n),
        }
    )


def write_all_formats(df: pd.DataFrame, where: Path) -> dict[str, Path]:
    """The same table as every format, written by pandas or pyarrow (not by the product)."""
    table = pa.Table.from_pandas(df, preserve_index=False)
    paths = {name: where / f"t.{name}" for name in ("csv", "tsv", "json", "jsonl", "parquet", "arrow")}
    df.to_csv(paths["csv"], index=False)
    df.to_csv(paths["tsv"], index=False, sep="\t")
    df.to_json(paths["json"], orient="records")
    df.to_json(paths["jsonl"], orient="records", lines=True)
    pq.write_table(table, paths["parquet"], row_group_size=7)
    with pa.ipc.new_file(paths["arrow"], table.schema) as w:
        for batch in table.to_batches(max_chunksize=11):
            w.write_batch(batch)
    paths["pandas.parquet"] = where / "p.parquet"
    df.astype({"k": "int32"}).to_parquet(paths["pandas.parquet"])  # a narrower int: same source
    return paths


# --- identity ---


def test_source_id_is_the_same_for_every_format(directory: sources.SourceDirectory, tmp_path: Path) -> None:
    df = frame()
    ids = {
        name: directory.import_file(path).source_id for name, path in write_all_formats(df, tmp_path).items()
    }
    assert len(set(ids.values())) == 1, ids
    assert directory.ids() == [next(iter(ids.values()))]


def test_source_id_ignores_batch_layout_but_not_values(directory: sources.SourceDirectory) -> None:
    table = pa.Table.from_pandas(frame(3000), preserve_index=False)
    one = directory.import_batches(table.schema, table.to_batches(max_chunksize=3000))
    many = directory.import_batches(table.schema, table.to_batches(max_chunksize=17))
    assert one.source_id == many.source_id and one.created and not many.created
    changed = table.set_column(0, "x", pa.array(np.r_[table["x"].to_numpy()[:-1], 1e9]))
    renamed = table.rename_columns(["x2", "k", "flag", "label"])
    assert directory.import_table(changed).source_id != one.source_id
    assert directory.import_table(renamed).source_id != one.source_id


def test_canonical_types(directory: sources.SourceDirectory) -> None:
    table = pa.table(
        {
            "u8": pa.array([1, 2], pa.uint8()),
            "f32": pa.array([0.5, 1.5], pa.float32()),
            "cat": pa.array(["a", "b"]).dictionary_encode(),
            "day": pa.array([0, 1], pa.date32()),
            "b": pa.array([True, False]),
            "empty": pa.array([None, None], pa.null()),
        }
    )
    info = directory.import_table(table)
    assert [c["type"] for c in info.columns] == ["int64", "float64", "string", "string", "bool", "float64"]
    assert sources.SourceTable(directory.path(info.source_id)).values("day").to_pylist() == [
        "1970-01-01",
        "1970-01-02",
    ]


def test_nested_column_is_refused_by_name(directory: sources.SourceDirectory) -> None:
    table = pa.table({"ok": [1, 2], "nested": pa.array([[1], [2, 3]])})
    with pytest.raises(sources.SourceFormatError, match="column 'nested'"):
        directory.import_table(table)
    assert list(directory.root.iterdir()) == []


def test_failed_import_leaves_nothing(
    directory: sources.SourceDirectory, tmp_path: Path, monkeypatch
) -> None:
    # A value past the first chunk that does not fit the type inferred from the first chunk.
    monkeypatch.setattr("juniper_data_core.sources.readers.CSV_CHUNK_BYTES", 64)
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n" + "".join(f"{i},{i}\n" for i in range(100)) + "x,1\n")
    with pytest.raises(sources.SourceFormatError, match="column_types"):
        directory.import_file(path)
    assert list(directory.root.iterdir()) == []
    info = directory.import_file(path, sources.ReadOptions(column_types={"a": "string"}))
    assert info.columns[0] == {"name": "a", "type": "string"} and info.n_rows == 101


def _awkward_csv(newline: str) -> str:
    """A CSV with what cutting text into chunks could break: quoted delimiters and quotes,
    empty fields (missing values), an empty line, a line far longer than a small chunk, a
    label column of strings, and no newline after the last line."""
    rows = [f'{i},{i * 0.25},"w{i}, ""q"""' if i % 7 else f"{i},,plain" for i in range(60)]
    rows[30] = "30,7.5," + "z" * 500
    rows.insert(20, "")
    return newline.join(["id,value,label", *rows])


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("header", [True, False])
def test_csv_chunking_never_changes_the_source(
    directory: sources.SourceDirectory, tmp_path: Path, monkeypatch, newline: str, header: bool
) -> None:
    """The CSV is cut into chunks at line ends and parsed chunk by chunk: any chunk size gives
    the same table (pyarrow's own whole-file parse) and so the same source id."""
    import pyarrow.csv as pcsv

    text = _awkward_csv(newline)
    if not header:
        text = text.split(newline, 1)[1]
    path = tmp_path / "awkward.csv"
    path.write_bytes(text.encode())
    # Types given: a first chunk of a line or two would otherwise guess them from its rows.
    names = ("id", "value", "label") if header else ("col_0", "col_1", "col_2")
    types = dict(zip(names, ("int64", "float64", "string"), strict=True))
    options = sources.ReadOptions(header=header, column_types=types)
    read = pcsv.ReadOptions(autogenerate_column_names=not header)
    convert = pcsv.ConvertOptions(strings_can_be_null=True)
    expected = pcsv.read_csv(path, read_options=read, convert_options=convert)
    ids = set()
    for chunk in (16, 64, 100, 333, 1 << 20):
        monkeypatch.setattr("juniper_data_core.sources.readers.CSV_CHUNK_BYTES", chunk)
        info = directory.import_file(path, options)
        ids.add(info.source_id)
        assert info.n_rows == expected.num_rows == 60
        got = pa.ipc.open_file(directory.path(info.source_id)).read_all()
        assert got.column(0).to_pylist() == expected.column(0).to_pylist()
        assert got.column(1).to_pylist() == expected.column(1).to_pylist()
        assert got.column(2).to_pylist() == expected.column(2).to_pylist()
    assert len(ids) == 1
    assert expected.column(2).to_pylist()[1] == 'w1, "q"' and expected.column(1).to_pylist()[0] is None


def test_csv_options_delimiter_and_no_header(directory: sources.SourceDirectory, tmp_path: Path) -> None:
    path = tmp_path / "semi.txt"
    path.write_text("1;2.5;x\n3;4.5;y\n")
    info = directory.import_file(path, sources.ReadOptions(format="csv", delimiter=";", header=False))
    assert [c["name"] for c in info.columns] == ["col_0", "col_1", "col_2"] and info.n_rows == 2


def test_format_from_name_and_content_type() -> None:
    assert sources.format_for("a/b.TSV") == "tsv"
    assert sources.format_for(None, "application/vnd.apache.parquet") == "parquet"
    assert sources.format_for("x.csv", "text/csv", "jsonl") == "jsonl"
    with pytest.raises(sources.SourceFormatError, match="format"):
        sources.format_for("x.bin")


def test_rows_are_taken_across_batches(
    directory: sources.SourceDirectory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small canonical batches (2**12 rows here), so that rows come from many of them.
    monkeypatch.setattr("juniper_data_core.sources.canonical.BATCH_BYTES", 1 << 16)
    n = 50_000
    df = pd.DataFrame({"a": np.arange(n, dtype=np.int64), "b": np.arange(n) * 0.5})
    path = tmp_path / "big.csv"
    df.to_csv(path, index=False)
    info = directory.import_file(path)
    table = sources.SourceTable(directory.path(info.source_id))
    assert table.n_rows == n and len(table.arrow_batches("a")) > 1
    rows = np.array([n - 1, 0, 12_345, 4096, 4095, 4096], np.int64)
    np.testing.assert_array_equal(table.take("a", rows, np.int64), rows)
    np.testing.assert_array_equal(table.take("b", slice(4090, 8200), np.float64), np.arange(4090, 8200) * 0.5)


# --- csv_import: known answers ---


def known_params(directory: sources.SourceDirectory, **params: object) -> dict[str, object]:
    source_id = directory.import_file(KNOWN).source_id
    return {"source_id": source_id, "label_column": "species", "seed": 5, **params}


def expected_known() -> tuple[np.ndarray, np.ndarray]:
    """Features and classes of the committed CSV, read by pandas and encoded by hand."""
    df = pd.read_csv(KNOWN)
    X = df[["sepal", "petal", "count"]].to_numpy(np.float32)
    classes = {"setosa": 0, "versicolor": 1, "virginica": 2}  # sorted names
    return X, df["species"].map(classes).to_numpy()


@pytest.mark.parametrize("backend", BACKENDS)
def test_csv_import_known_answer_unshuffled(directory: sources.SourceDirectory, backend: str) -> None:
    ds = jd.generate("csv_import", known_params(directory, shuffle=False, train_ratio=0.6), backend=backend)
    X, labels = expected_known()
    a = ds.arrays
    np.testing.assert_array_equal(a["X_full"], X)
    np.testing.assert_array_equal(a["y_full"], np.eye(3, dtype=np.float32)[labels])
    np.testing.assert_array_equal(a["X_train"], X[:6])
    np.testing.assert_array_equal(a["X_test"], X[6:10])
    assert ds.meta["label_classes"] == ["setosa", "versicolor", "virginica"]
    assert ds.meta["class_distribution"] == {"0": 4, "1": 3, "2": 3}


def test_csv_import_normalisation_uses_training_rows_only(directory: sources.SourceDirectory) -> None:
    params = known_params(directory, shuffle=False, train_ratio=0.5, normalize_features=True)
    ds = jd.generate("csv_import", params, backend="numpy")
    X, _ = expected_known()
    lo, hi = X[:5].astype(np.float64).min(axis=0), X[:5].astype(np.float64).max(axis=0)
    expected = ((X - lo) / (hi - lo)).astype(np.float32)
    np.testing.assert_array_equal(ds.arrays["X_full"], expected)
    assert ds.arrays["X_train"].min() == 0.0 and ds.arrays["X_train"].max() == 1.0
    assert ds.arrays["X_test"].max() > 1.0  # row 8's count (7) is above the training maximum (5)
    norm = ds.meta["normalization"]
    assert norm["fitted_on"] == "train" and norm["minimum"] == pytest.approx(lo.tolist())


def test_csv_import_shuffled_split_is_the_keyed_permutation(directory: sources.SourceDirectory) -> None:
    ds = jd.generate("csv_import", known_params(directory), backend="numpy")
    X, _ = expected_known()
    n_train, n_test = split_sizes(10, 0.8, 0.2)
    perm = make_permutation(10, 5)
    order = np.array([_perm_at(perm, j) for j in range(10)])
    np.testing.assert_array_equal(ds.arrays["X_train"], X[order[:n_train]])
    np.testing.assert_array_equal(ds.arrays["X_test"], X[order[n_train : n_train + n_test]])
    assert sorted(order) == list(range(10))


def _perm_at(perm: object, j: int) -> int:
    from juniper_data_core.backends.numpy import NAMESPACE
    from juniper_data_core.split import permute

    return int(permute(NAMESPACE, np.array([j], np.int64), perm)[0])


def test_csv_import_numeric_labels_sort_numerically(directory: sources.SourceDirectory) -> None:
    params = known_params(directory, label_column="count", feature_columns=["petal", "sepal"], shuffle=False)
    ds = jd.generate("csv_import", params, backend="numpy")
    counts = pd.read_csv(KNOWN)["count"].to_numpy()
    assert ds.meta["label_classes"] == sorted(set(counts.tolist()))
    np.testing.assert_array_equal(
        ds.arrays["y_full"].argmax(axis=1), np.searchsorted(sorted(set(counts)), counts)
    )
    np.testing.assert_array_equal(ds.arrays["X_full"][:, 0], pd.read_csv(KNOWN)["petal"].to_numpy(np.float32))


def test_csv_import_index_labels_when_not_one_hot(directory: sources.SourceDirectory) -> None:
    ds = jd.generate(
        "csv_import", known_params(directory, one_hot_labels=False, shuffle=False), backend="numpy"
    )
    _, labels = expected_known()
    np.testing.assert_array_equal(ds.arrays["y_full"][:, 0], labels.astype(np.float32))
    # Classes, not y's one column: three species, counted from the index column.
    assert ds.meta["n_classes"] == 3
    assert ds.meta["class_distribution"] == {"0": 4, "1": 3, "2": 3}
    # The Arrow stream's label column is the class index itself, not the argmax of one column.
    sink = io.BytesIO()
    write_arrow(ds, sink, split="full")
    table = pa.ipc.open_stream(sink.getvalue()).read_all()
    np.testing.assert_array_equal(table.column("label").to_numpy(), labels)


# --- csv_import: every backend and chunking gives the same arrays ---


@pytest.fixture
def wide_source(directory: sources.SourceDirectory, tmp_path: Path) -> str:
    n = 5000
    rng = np.random.default_rng(1)
    df = pd.DataFrame({f"f{j}": rng.normal(size=n) for j in range(4)})
    df["label"] = rng.integers(0, 7, size=n) * 10
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path, row_group_size=999)
    return directory.import_file(path).source_id


@pytest.mark.parametrize("split", ["full", "train", "test"])
def test_csv_import_same_rows_on_every_backend_and_chunking(wide_source: str, split: str) -> None:
    recipe = jd.recipe("csv_import", {"source_id": wide_source, "normalize_features": True, "seed": 9})
    reference = jd.generate(recipe, backend="numpy").arrays
    for backend in BACKENDS:
        arrays = jd.generate(recipe, backend=backend).arrays
        for name, array in reference.items():
            np.testing.assert_array_equal(arrays[name], array, err_msg=f"{backend} {name}")
        n = recipe.n_rows(split)
        cuts = sorted({0, 7, min(1000, n), n // 2 + 3, n})
        parts = [
            jd.generate_rows(recipe, split=split, start=a, stop=b, backend=backend)
            for a, b in itertools.pairwise(cuts)
        ]
        np.testing.assert_array_equal(np.concatenate([p[0] for p in parts]), reference[f"X_{split}"])
        np.testing.assert_array_equal(np.concatenate([p[1] for p in parts]), reference[f"y_{split}"])
    buffer = io.BytesIO()
    write_arrow(recipe, buffer, split=split, batch_rows=333)
    table = pa.ipc.open_stream(buffer.getvalue()).read_all()
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(table.num_rows, -1)
    np.testing.assert_array_equal(X, reference[f"X_{split}"])


def test_csv_import_npz_matches_generate(wide_source: str, tmp_path: Path) -> None:
    recipe = jd.recipe("csv_import", {"source_id": wide_source, "seed": 2})
    write_npz(recipe, tmp_path / "d.npz")
    reference = jd.generate(recipe, backend="numpy").arrays
    with np.load(tmp_path / "d.npz", allow_pickle=False) as npz:
        for name in jd.ARRAY_NAMES:
            np.testing.assert_array_equal(npz[name], reference[name])


# --- csv_import: errors name the column, row or field ---


def test_non_numeric_feature_is_refused_by_name(directory: sources.SourceDirectory) -> None:
    with pytest.raises(sources.SourceFormatError, match="feature column 'species' is string"):
        jd.recipe("csv_import", known_params(directory, label_column="count")).n_rows()


def test_missing_value_names_column_and_row(directory: sources.SourceDirectory, tmp_path: Path) -> None:
    path = tmp_path / "holes.csv"
    path.write_text("a,b,label\n1,2,x\n3,,y\n5,6,\n7,8,x\n")
    source_id = directory.import_file(path).source_id
    with pytest.raises(sources.SourceFormatError, match="column 'b' has a missing value at row 1"):
        jd.recipe("csv_import", {"source_id": source_id}).n_rows()
    ds = jd.generate("csv_import", {"source_id": source_id, "drop_missing": True, "shuffle": False})
    np.testing.assert_array_equal(ds.arrays["X_full"], [[1, 2], [7, 8]])
    assert ds.meta["rows_dropped"] == 2


def test_unknown_source_and_malformed_id() -> None:
    with pytest.raises(sources.SourceNotFoundError, match="no source sha256:0000"):
        jd.recipe("csv_import", {"source_id": "sha256:" + "0" * 64}).n_rows()
    with pytest.raises(jd.ParamsError, match="source_id"):
        jd.recipe("csv_import", {"source_id": "../../etc/passwd"})
    with pytest.raises(jd.ParamsError, match="source_id"):
        jd.recipe("csv_import", {})


def test_engine_file_path_follows_import_roots(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "allowed"
    root.mkdir()
    frame(20).to_csv(root / "d.csv", index=False)
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path / "store"))
    monkeypatch.delenv("JUNIPER_DATA_IMPORT_ROOTS", raising=False)
    with pytest.raises(sources.PathNotAllowedError, match="JUNIPER_DATA_IMPORT_ROOTS"):
        jd.recipe("csv_import", {"file_path": str(root / "d.csv")})
    monkeypatch.setenv("JUNIPER_DATA_IMPORT_ROOTS", str(root))
    r = jd.recipe("csv_import", {"file_path": "d.csv", "feature_columns": ["x", "k"]})
    assert r.params["file_path"] is None and r.params["source_id"].startswith("sha256:")
    assert r.n_rows() == 20


# --- paths a client names ---


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "sub").mkdir(parents=True)
    outside.mkdir()
    (root / "sub" / "ok.csv").write_text("a\n1\n")
    (outside / "secret.csv").write_text("a\n1\n")
    os.symlink(outside / "secret.csv", root / "link.csv")
    return root, outside


def test_paths_inside_the_roots_resolve(roots: tuple[Path, Path]) -> None:
    root, _ = roots
    assert sources.resolve_under_roots("sub/ok.csv", [root]) == (root / "sub" / "ok.csv").resolve()
    assert (
        sources.resolve_under_roots(str(root / "sub/../sub/ok.csv"), [root])
        == (root / "sub/ok.csv").resolve()
    )


@pytest.mark.parametrize(
    "spelling",
    [
        "../outside/secret.csv",
        "sub/../../outside/secret.csv",
        "{outside}/secret.csv",
        "link.csv",
        "..%2Foutside%2Fsecret.csv",
        "%2e%2e/outside/secret.csv",
        "%252e%252e%252foutside%252fsecret.csv",
        "sub/ok.csv\x00../../outside/secret.csv",
        "/etc/passwd",
    ],
)
def test_paths_leaving_the_roots_are_refused(roots: tuple[Path, Path], spelling: str) -> None:
    root, outside = roots
    with pytest.raises(sources.PathNotAllowedError):
        sources.resolve_under_roots(spelling.format(outside=outside), [root])


def test_no_roots_means_no_paths(roots: tuple[Path, Path]) -> None:
    with pytest.raises(sources.PathNotAllowedError, match="switched off"):
        sources.resolve_under_roots("sub/ok.csv", [])


def test_a_deleted_source_is_gone_even_when_its_rows_were_opened(directory: sources.SourceDirectory) -> None:
    params = known_params(directory, shuffle=False)
    assert jd.recipe("csv_import", params).n_rows() == 10  # opened (and cached) once
    directory.delete(params["source_id"])
    with pytest.raises(sources.SourceNotFoundError, match="no source sha256:"):
        jd.recipe("csv_import", params).n_rows()
