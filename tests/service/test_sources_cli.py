"""``juniper-data import FILE``: into the local data directory, or uploaded to a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from juniper_data_core import sources

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
