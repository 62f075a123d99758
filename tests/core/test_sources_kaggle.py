"""Kaggle archives into sources, on zip archives of CSVs written here (the download itself
needs a network and credentials: only what it requires before starting is tested)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc
import pytest

from juniper_data_core.errors import MissingDependencyError
from juniper_data_core.sources.directory import SourceDirectory
from juniper_data_core.sources.kaggle import (
    KaggleError,
    check_credentials,
    download_kaggle,
    import_kaggle_archive,
    table_members,
)
from juniper_data_core.sources.readers import ReadOptions

IRIS = "sepal_length,sepal_width,species\n5.1,3.5,setosa\n7.0,3.2,versicolor\n6.3,3.3,virginica\n"


def archive(tmp_path: Path, members: dict[str, str]) -> Path:
    path = tmp_path / "dataset.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def read_source(store: SourceDirectory, source_id: str) -> pa.Table:
    with pa.memory_map(str(store.path(source_id))) as f:
        return pyarrow.ipc.open_file(f).read_all()


@pytest.fixture
def no_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAGGLE_USERNAME", raising=False)
    monkeypatch.delenv("KAGGLE_KEY", raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "nowhere"))


def test_single_csv_member_becomes_a_source(tmp_path: Path) -> None:
    store = SourceDirectory(tmp_path / "sources")
    info = import_kaggle_archive(
        archive(tmp_path, {"iris/Iris.csv": IRIS, "README.md": "x"}), directory=store
    )
    assert info.n_rows == 3
    assert [c["name"] for c in info.columns] == ["sepal_length", "sepal_width", "species"]
    table = read_source(store, info.source_id)
    assert table.column("species").to_pylist() == ["setosa", "versicolor", "virginica"]
    assert table.column("sepal_width").to_pylist() == [3.5, 3.2, 3.3]
    # Nothing but the source is left in the store (the member was copied out and removed).
    assert sorted(p.name for p in store.root.iterdir()) == [store.path(info.source_id).name]


def test_same_csv_as_a_plain_file_is_the_same_source(tmp_path: Path) -> None:
    store = SourceDirectory(tmp_path / "sources")
    from_zip = import_kaggle_archive(archive(tmp_path, {"Iris.csv": IRIS}), directory=store)
    (tmp_path / "iris.csv").write_text(IRIS)
    assert store.import_file(tmp_path / "iris.csv").source_id == from_zip.source_id


def test_several_members_need_member(tmp_path: Path) -> None:
    path = archive(tmp_path, {"train.csv": IRIS, "test.csv": IRIS.replace("5.1", "4.9")})
    assert table_members(path) == ["train.csv", "test.csv"]
    with pytest.raises(
        KaggleError, match=r"holds 2 CSV files \(train\.csv, test\.csv\); choose one with member="
    ):
        import_kaggle_archive(path, directory=SourceDirectory(tmp_path / "s"))
    info = import_kaggle_archive(path, "test.csv", directory=SourceDirectory(tmp_path / "s"))
    assert read_source(SourceDirectory(tmp_path / "s"), info.source_id).column(0).to_pylist()[0] == 4.9


def test_unknown_member_lists_the_members(tmp_path: Path) -> None:
    with pytest.raises(KaggleError, match=r"has no CSV member '../etc/passwd'; it has train\.csv"):
        import_kaggle_archive(
            archive(tmp_path, {"train.csv": IRIS}), "../etc/passwd", directory=SourceDirectory(tmp_path / "s")
        )


def test_tsv_member_and_options(tmp_path: Path) -> None:
    path = archive(tmp_path, {"data.tsv": "1\t2\n3\t4\n"})
    store = SourceDirectory(tmp_path / "s")
    info = import_kaggle_archive(path, options=ReadOptions(format="tsv", header=False), directory=store)
    assert [c["name"] for c in info.columns] == ["col_0", "col_1"]
    assert read_source(store, info.source_id).column("col_1").to_pylist() == [2, 4]


def test_not_a_zip_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dataset.zip"
    path.write_text(IRIS)
    with pytest.raises(KaggleError, match=r"dataset\.zip is not a zip archive"):
        import_kaggle_archive(path, directory=SourceDirectory(tmp_path / "s"))


def test_missing_credentials_name_what_to_set(no_credentials: None, tmp_path: Path) -> None:
    with pytest.raises(
        KaggleError,
        match=r"set KAGGLE_USERNAME and KAGGLE_KEY, or put your API token in .*nowhere/kaggle\.json",
    ):
        download_kaggle("uciml/iris", tmp_path)


def test_credentials_from_environment_or_file(
    no_credentials: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(KaggleError):
        check_credentials()
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "kaggle.json").write_text('{"username": "u", "key": "k"}')
    check_credentials()  # the file is enough
    (tmp_path / "nowhere" / "kaggle.json").unlink()
    monkeypatch.setenv("KAGGLE_USERNAME", "u")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    check_credentials()  # so is the environment


def test_missing_package_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_USERNAME", "u")
    monkeypatch.setenv("KAGGLE_KEY", "k")
    # A None entry makes `import kaggle` fail, as when the package is not installed.
    monkeypatch.setitem(sys.modules, "kaggle", None)
    with pytest.raises(MissingDependencyError, match=r"pip install kaggle"):
        download_kaggle("uciml/iris", tmp_path)


@pytest.mark.parametrize("name", ["iris", "a/b/c", "../x", "a/..", "/iris", "a\\b"])
def test_malformed_dataset_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(KaggleError, match=r"named 'owner/name'"):
        download_kaggle(name, tmp_path)
