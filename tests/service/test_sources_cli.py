"""``juniper-data import FILE``: into the local data directory, or uploaded to a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from juniper_data_core import sources
from juniper_data_core.cli import CommandLineError
from juniper_data_service.sources_cli import import_other

from .conftest import LiveServer

pd = pytest.importorskip("pandas")

REPO = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "juniper_data_core.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
        timeout=300,
        check=False,
    )


@pytest.fixture
def csv_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.csv"
    pd.DataFrame({"a": [1.5, 2.5, 3.5], "b": [1, 2, 3], "label": ["x", "y", "x"]}).to_csv(path, index=False)
    return path


def test_import_into_the_local_data_directory(csv_file: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = run_cli("import", str(csv_file), env={"JUNIPER_DATA_SOURCES_PATH": str(store)})
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["n_rows"] == 3 and record["created"] is True and record["directory"] == str(store)
    table = sources.SourceTable(sources.SourceDirectory(store).path(record["source_id"]))
    assert table.values("label").to_pylist() == ["x", "y", "x"]


def test_import_options_and_errors(tmp_path: Path) -> None:
    env = {"JUNIPER_DATA_SOURCES_PATH": str(tmp_path / "store")}
    path = tmp_path / "semi.txt"
    path.write_text("1;2\n3;4\n")
    ok = run_cli(
        "import",
        str(path),
        "--format",
        "csv",
        "--delimiter",
        ";",
        "--no-header",
        "--column-type",
        "col_1:float64",
        env=env,
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["columns"][1] == {"name": "col_1", "type": "float64"}
    unknown = tmp_path / "semi.bin"
    unknown.write_bytes(path.read_bytes())
    bad = run_cli("import", str(unknown), env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "format" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_import_uploads_with_url(csv_file: Path, start_server: Callable[..., LiveServer]) -> None:
    server = start_server()
    result = run_cli("import", str(csv_file), "--name", "mine", env={"JUNIPER_DATA_URL": server.url})
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert (
        record["name"] == "mine"
        and record["source_id"]
        in server.settings.sources_dir.joinpath(f"{record['source_id'][7:]}.json").read_text()
    )


# --- --from huggingface / kaggle: same content, same source id as the plain CSV ---

FRAME = {"x": [0.5, 1.25, -2.0, 3.5], "y": [10.0, 20.5, 30.25, 40.0], "label": [0, 1, 1, 0]}


@pytest.fixture
def csv_id(tmp_path: Path) -> str:
    """The id of FRAME written as CSV by pandas and imported as a plain file."""
    path = tmp_path / "frame.csv"
    pd.DataFrame(FRAME).to_csv(path, index=False)
    return sources.SourceDirectory(tmp_path / "plain").import_file(path).source_id


def test_import_from_a_saved_huggingface_dataset(
    csv_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    datasets = pytest.importorskip("datasets")
    saved = tmp_path / "hf"
    datasets.Dataset.from_dict(FRAME).save_to_disk(str(saved))
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path / "store"))
    record = import_other(str(saved), "huggingface", url=None, name=None, label_column="label")
    assert record["source_id"] == csv_id and record["n_rows"] == 4
    assert (tmp_path / "store" / f"{csv_id.removeprefix('sha256:')}.arrow").is_file()
    with pytest.raises(CommandLineError, match="no column 'species'"):
        import_other(str(saved), "huggingface", url=None, name=None, label_column="species")


def test_import_from_a_kaggle_archive(csv_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path / "store"))
    archive = tmp_path / "owner-data.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("data/frame.csv", pd.DataFrame(FRAME).to_csv(index=False))
        zf.writestr("README.md", "not a table")
    assert import_other(str(archive), "kaggle", url=None, name=None)["source_id"] == csv_id
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("other.csv", "a\n1\n")
    with pytest.raises(CommandLineError, match="holds 2 CSV files"):
        import_other(str(archive), "kaggle", url=None, name=None)
    assert (
        import_other(str(archive), "kaggle", url=None, name=None, member="data/frame.csv")["source_id"]
        == csv_id
    )
    # Not a local archive: owner/name is downloaded, which needs credentials first.
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    with pytest.raises(CommandLineError, match="KAGGLE_USERNAME and KAGGLE_KEY"):
        import_other("owner/data", "kaggle", url=None, name=None)


def test_import_from_huggingface_uploads_to_a_server(
    csv_id: str, tmp_path: Path, start_server: Callable[..., LiveServer]
) -> None:
    datasets = pytest.importorskip("datasets")
    saved = tmp_path / "hf"
    datasets.Dataset.from_dict(FRAME).save_to_disk(str(saved))
    server = start_server()
    record = import_other(str(saved), "huggingface", url=server.url, name="frame", label_column="label")
    assert record["source_id"] == csv_id and record["name"] == "frame"
    listed = httpx.get(f"{server.url}/v1/sources/{csv_id}", timeout=30).json()
    assert listed["rows"][1] == {"x": 1.25, "y": 20.5, "label": 1}
