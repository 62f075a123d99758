"""JuniperDataClient against the real service on a loopback port (and a stub for retries/timeouts)."""

from __future__ import annotations

import io
import json
import pickle
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from juniper_data_service.client import (
    ArrowBatchStream,
    JuniperDataClient,
    JuniperDataClientError,
    JuniperDataConnectionError,
    JuniperDataNotFoundError,
    JuniperDataServerError,
    JuniperDataTimeoutError,
    JuniperDataValidationError,
    normalize_base_url,
    resolve_api_key,
)

SMALL_SPIRAL = {"n_spirals": 2, "n_points_per_spiral": 50, "noise": 0.1, "seed": 7}
UNKNOWN_ID = "spiral-2.0.0-0000000000000000"


@pytest.fixture
def client(service: Any, no_key_env: None) -> Any:
    with JuniperDataClient(service.url, timeout=30, retries=0) as c:
        yield c


@pytest.fixture
def spiral(client: JuniperDataClient) -> dict[str, Any]:
    """A small persisted spiral dataset (the creation response)."""
    return client.create_dataset("spiral", SMALL_SPIRAL)


def refused_url() -> str:
    """A loopback URL nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


# ---- import isolation -----------------------------------------------------------------------------


def test_client_module_imports_without_the_server_stack() -> None:
    code = (
        "import sys, juniper_data_service.client\n"
        "bad = [m for m in ('fastapi', 'uvicorn', 'starlette', 'pyarrow', 'juniper_data_service.app') "
        "if m in sys.modules]\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ---- URL normalisation and API-key lookup (no server) ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("http://localhost:8100", "http://localhost:8100"),
        (" localhost:8100/v1/ ", "http://localhost:8100"),
        ("localhost:8100", "http://localhost:8100"),
        ("https://h/api/v1?x=1#f", "https://h/api"),
        ("http://data:8100/", "http://data:8100"),
        ("http://data:8100/v1", "http://data:8100"),
        ("http://data:8100/v1/v1/", "http://data:8100/v1"),
        ("http://data:8100/api/v1x", "http://data:8100/api/v1x"),
        ("HTTPS://Example.org:443/base///", "https://Example.org:443/base"),
    ],
)
def test_normalize_base_url(raw: str, expected: str) -> None:
    assert normalize_base_url(raw) == expected
    assert JuniperDataClient(raw).base_url == expected


def test_default_base_url_and_settings() -> None:
    client = JuniperDataClient()
    assert client.base_url == "http://localhost:8100"
    assert (client.timeout, client.retries, client.backoff_factor) == (30, 3, 0.5)
    client.close()


def test_api_key_argument_wins_over_file_and_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("  from-file \n")
    monkeypatch.setenv("JUNIPER_DATA_API_KEY_FILE", str(key_file))
    monkeypatch.setenv("JUNIPER_DATA_API_KEY", "from-env")
    assert resolve_api_key("from-arg") == "from-arg"
    assert resolve_api_key(None) == "from-file"
    client = JuniperDataClient(api_key="from-arg")
    assert client.session.headers["X-API-Key"] == "from-arg"
    client.close()


def test_api_key_file_wins_over_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    monkeypatch.setenv("JUNIPER_DATA_API_KEY_FILE", str(key_file))
    monkeypatch.setenv("JUNIPER_DATA_API_KEY", "from-env")
    with JuniperDataClient() as client:
        assert client.session.headers["X-API-Key"] == "from-file"


def test_api_key_env_when_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JUNIPER_DATA_API_KEY_FILE", raising=False)
    monkeypatch.setenv("JUNIPER_DATA_API_KEY", "from-env")
    assert resolve_api_key() == "from-env"
    # An unreadable or blank key file falls back to the variable.
    monkeypatch.setenv("JUNIPER_DATA_API_KEY_FILE", str(tmp_path / "missing" / "key"))
    assert resolve_api_key() == "from-env"
    (tmp_path / "blank").write_text(" \n")
    monkeypatch.setenv("JUNIPER_DATA_API_KEY_FILE", str(tmp_path / "blank"))
    assert resolve_api_key() == "from-env"


def test_no_api_key_sends_no_header(no_key_env: None) -> None:
    with JuniperDataClient() as client:
        assert client.api_key is None
        assert "X-API-Key" not in client.session.headers


def test_exception_context_survives_pickle() -> None:
    exc = JuniperDataValidationError("bad", status_code=422, detail=[{"loc": ["body"], "msg": "m"}])
    again = pickle.loads(pickle.dumps(exc))
    assert type(again) is JuniperDataValidationError
    assert (str(again), again.status_code, again.detail) == ("bad", 422, exc.detail)


@pytest.mark.parametrize(
    "cls",
    [
        JuniperDataNotFoundError,
        JuniperDataValidationError,
        JuniperDataConnectionError,
        JuniperDataTimeoutError,
        JuniperDataServerError,
    ],
)
def test_every_error_is_a_client_error(cls: type[Exception]) -> None:
    assert issubclass(cls, JuniperDataClientError)


# ---- authentication against the real service ------------------------------------------------------


def test_key_is_sent_and_required(keyed_service: Any, no_key_env: None) -> None:
    with JuniperDataClient(keyed_service.url, retries=0) as anonymous:
        assert anonymous.health_check()["status"] == "ok"  # health is never behind auth
        with pytest.raises(JuniperDataClientError) as info:
            anonymous.list_datasets()
        assert info.value.status_code == 401
        assert not isinstance(info.value, JuniperDataNotFoundError | JuniperDataValidationError)
    with JuniperDataClient(keyed_service.url, api_key="key-two") as keyed:
        assert isinstance(keyed.list_datasets(), list)


def test_key_from_file_reaches_the_service(
    keyed_service: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "secret").write_text("key-one\n")
    monkeypatch.setenv("JUNIPER_DATA_API_KEY_FILE", str(tmp_path / "secret"))
    monkeypatch.setenv("JUNIPER_DATA_API_KEY", "wrong")
    with JuniperDataClient(keyed_service.url) as client:
        assert isinstance(client.list_datasets(), list)


def test_wrong_key_is_rejected(keyed_service: Any, no_key_env: None) -> None:
    with JuniperDataClient(keyed_service.url, api_key="wrong") as client:
        with pytest.raises(JuniperDataClientError) as info:
            client.list_generators()
        assert info.value.status_code == 401


# ---- health ---------------------------------------------------------------------------------------


def test_health_check(client: JuniperDataClient) -> None:
    health = client.health_check()
    assert health["status"] == "ok"
    assert isinstance(health["version"], str)


def test_is_ready_and_wait_for_ready(client: JuniperDataClient) -> None:
    assert client.is_ready() is True
    assert client.wait_for_ready(timeout=5, poll_interval=0.1) is True


def test_not_ready_when_unreachable() -> None:
    with JuniperDataClient(refused_url(), timeout=1) as client:
        assert client.is_ready() is False
        # It gives up (False, not a hang or an error); the per-test timeout bounds the wait.
        assert client.wait_for_ready(timeout=0.5, poll_interval=0.1) is False


def test_connection_refused_raises_connection_error() -> None:
    with JuniperDataClient(refused_url(), timeout=2) as client:
        with pytest.raises(JuniperDataConnectionError) as info:
            client.health_check()
        assert info.value.status_code is None
        with pytest.raises(JuniperDataConnectionError):
            client.create_dataset("spiral", SMALL_SPIRAL)


# ---- generators -----------------------------------------------------------------------------------


def test_list_generators(client: JuniperDataClient) -> None:
    generators = {g["name"]: g for g in client.list_generators()}
    assert {"spiral", "xor", "gaussian", "circles", "checkerboard", "moon"} <= set(generators)
    assert isinstance(generators["spiral"]["schema"], dict)


def test_get_generator_schema(client: JuniperDataClient) -> None:
    schema = client.get_generator_schema("spiral")
    assert "n_spirals" in schema["properties"]


def test_get_generator_schema_unknown(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataNotFoundError) as info:
        client.get_generator_schema("no-such-generator")
    assert info.value.status_code == 404


# ---- creating datasets ----------------------------------------------------------------------------


def test_create_dataset(client: JuniperDataClient) -> None:
    created = client.create_dataset("spiral", SMALL_SPIRAL)
    assert created["dataset_id"].startswith("spiral-")
    assert created["generator"] == "spiral"
    assert created["meta"]["n_samples"] == 100
    assert created["meta"]["n_train"] == 80
    # Same recipe, same ID.
    assert client.create_dataset("spiral", SMALL_SPIRAL)["dataset_id"] == created["dataset_id"]


def test_create_dataset_sends_optional_fields(client: JuniperDataClient) -> None:
    created = client.create_dataset(
        "xor",
        {"n_points_per_quadrant": 10, "seed": 3},
        description="four quadrants",
        created_by="tests",
        tags=["b", "a"],
        ttl_seconds=3600,
    )
    meta = client.get_dataset_metadata(created["dataset_id"])
    assert meta["tags"] == ["a", "b"]
    assert meta["ttl_seconds"] == 3600
    assert meta["description"] == "four quadrants"
    assert meta["created_by"] == "tests"
    assert meta["expires_at"] is not None


def test_create_dataset_unknown_generator(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataValidationError) as info:
        client.create_dataset("no-such-generator", {})
    assert info.value.status_code == 400


def test_create_dataset_bad_params_names_the_field(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataValidationError) as info:
        client.create_dataset("spiral", {"n_spirals": 1})
    assert info.value.status_code == 400
    assert "n_spirals" in str(info.value.detail)


def test_create_dataset_bad_body_is_422(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataValidationError) as info:
        client.create_dataset("spiral", SMALL_SPIRAL, ttl_seconds=0)
    assert info.value.status_code == 422
    assert isinstance(info.value.detail, list)


def test_create_spiral_dataset_sends_train_ratio_only(client: JuniperDataClient) -> None:
    created = client.create_spiral_dataset(n_points_per_spiral=20, seed=11, train_ratio=0.8)
    params = created["meta"]["params"]
    assert params["train_ratio"] == pytest.approx(0.8)
    assert params["test_ratio"] == pytest.approx(0.2)
    assert params["seed"] == 11
    assert params["n_points_per_spiral"] == 20
    assert (created["meta"]["n_train"], created["meta"]["n_test"]) == (32, 8)


def test_create_spiral_dataset_without_seed_uses_the_default(client: JuniperDataClient) -> None:
    # No seed key is sent, so the spiral default (42) applies and the dataset is reproducible.
    first = client.create_spiral_dataset(n_points_per_spiral=20)
    second = client.create_spiral_dataset(n_points_per_spiral=20)
    assert first["meta"]["params"]["seed"] == 42
    assert first["dataset_id"] == second["dataset_id"]


def test_create_spiral_dataset_passes_kwargs(client: JuniperDataClient) -> None:
    created = client.create_spiral_dataset(n_points_per_spiral=20, seed=1, n_rotations=1.5, clockwise=False)
    assert created["meta"]["params"]["n_rotations"] == pytest.approx(1.5)
    assert created["meta"]["params"]["clockwise"] is False


def test_create_spiral_dataset_bad_params(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataValidationError):
        client.create_spiral_dataset(n_spirals=11)


# ---- listing, metadata, versions ------------------------------------------------------------------


def test_list_datasets(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    ids = client.list_datasets(limit=1000)
    assert spiral["dataset_id"] in ids
    assert all(isinstance(i, str) for i in ids)
    assert len(client.list_datasets(limit=1)) == 1


def test_list_datasets_bad_limit(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataValidationError) as info:
        client.list_datasets(limit=-1)
    assert info.value.status_code == 422


def test_get_dataset_metadata(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    meta = client.get_dataset_metadata(spiral["dataset_id"])
    assert meta["dataset_id"] == spiral["dataset_id"]
    assert meta["n_features"] == 2
    assert meta["n_classes"] == 2
    assert meta["class_distribution"] == {"0": 50, "1": 50}


def test_get_dataset_metadata_unknown(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataNotFoundError):
        client.get_dataset_metadata(UNKNOWN_ID)


def test_list_versions_and_get_latest(client: JuniperDataClient) -> None:
    name = f"cascor-spirals-{time.monotonic_ns()}"
    first = client.create_dataset("spiral", {**SMALL_SPIRAL, "seed": 1}, name=name)
    second = client.create_dataset("spiral", {**SMALL_SPIRAL, "seed": 2}, name=name)
    versions = client.list_versions(name)
    assert versions["dataset_name"] == name
    assert versions["total"] == 2
    assert versions["latest_version"] == 2
    assert {v["dataset_id"] for v in versions["versions"]} == {first["dataset_id"], second["dataset_id"]}
    latest = client.get_latest(name)
    assert latest["dataset_id"] == second["dataset_id"]
    assert latest["dataset_version"] == 2


def test_get_latest_unknown_name(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataNotFoundError):
        client.get_latest("no-such-name")
    assert client.list_versions("no-such-name")["total"] == 0


# ---- artifacts ------------------------------------------------------------------------------------


def test_download_artifact_bytes(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    content = client.download_artifact_bytes(spiral["dataset_id"])
    assert content[:2] == b"PK"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert sorted(archive.namelist()) == sorted(
            f"{n}.npy" for n in ("X_train", "y_train", "X_test", "y_test", "X_full", "y_full")
        )


def test_download_artifact_npz(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    arrays = client.download_artifact_npz(spiral["dataset_id"])
    assert arrays["X_train"].shape == (80, 2)
    assert arrays["y_train"].shape == (80, 2)
    assert arrays["X_test"].shape == (20, 2)
    assert arrays["X_full"].shape == (100, 2)
    assert all(a.dtype == np.float32 for a in arrays.values())
    np.testing.assert_array_equal(arrays["y_full"].sum(axis=1), 1.0)


@pytest.mark.parametrize("method", ["download_artifact_bytes", "download_artifact_npz"])
def test_download_artifact_unknown(client: JuniperDataClient, method: str) -> None:
    with pytest.raises(JuniperDataNotFoundError):
        getattr(client, method)(UNKNOWN_ID)


def test_download_rows_matches_the_full_artifact(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    arrays = client.download_artifact_npz(spiral["dataset_id"])
    X, y = client.download_rows(spiral["dataset_id"], split="train", offset=10, limit=25)
    np.testing.assert_array_equal(X, arrays["X_train"][10:35])
    np.testing.assert_array_equal(y, arrays["y_train"][10:35])
    X_test, y_test = client.download_rows(spiral["dataset_id"], split="test")
    np.testing.assert_array_equal(X_test, arrays["X_test"])
    np.testing.assert_array_equal(y_test, arrays["y_test"])
    X_tail, _ = client.download_rows(spiral["dataset_id"], split="full", offset=90)
    np.testing.assert_array_equal(X_tail, arrays["X_full"][90:])


def test_download_rows_errors(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    with pytest.raises(JuniperDataNotFoundError):
        client.download_rows(UNKNOWN_ID)
    with pytest.raises(JuniperDataValidationError):
        client.download_rows(spiral["dataset_id"], split="validation")
    with pytest.raises(JuniperDataValidationError):
        client.download_rows(spiral["dataset_id"], offset=-1)


def test_download_arrow_table_equals_npz(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    pa = pytest.importorskip("pyarrow")
    arrays = client.download_artifact_npz(spiral["dataset_id"])
    table = client.download_arrow(spiral["dataset_id"])
    assert isinstance(table, pa.Table)
    assert table.column_names == ["X", "y", "label"]
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(-1, 2)
    y = np.asarray(table.column("y").combine_chunks().flatten()).reshape(-1, 2)
    np.testing.assert_array_equal(X, arrays["X_full"])
    np.testing.assert_array_equal(y, arrays["y_full"])
    np.testing.assert_array_equal(table.column("label").to_numpy(), arrays["y_full"].argmax(axis=1))
    assert table.schema.metadata[b"dataset_id"].decode() == spiral["dataset_id"]


def test_download_arrow_row_range(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    pytest.importorskip("pyarrow")
    arrays = client.download_artifact_npz(spiral["dataset_id"])
    table = client.download_arrow(spiral["dataset_id"], "train", offset=5, limit=10)
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(-1, 2)
    np.testing.assert_array_equal(X, arrays["X_train"][5:15])


def test_download_arrow_stream_yields_batches(client: JuniperDataClient) -> None:
    pa = pytest.importorskip("pyarrow")
    created = client.create_dataset("gaussian", {"n_samples_per_class": 20_000, "n_classes": 3, "seed": 5})
    dataset_id = created["dataset_id"]
    X_full, _ = client.download_rows(dataset_id, split="full")
    stream = client.download_arrow(dataset_id, stream=True)
    assert isinstance(stream, ArrowBatchStream)
    with stream:
        batches = list(stream)
    assert batches
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    assert sum(b.num_rows for b in batches) == 60_000
    X = np.concatenate([np.asarray(b.column("X").flatten()).reshape(-1, 2) for b in batches])
    np.testing.assert_array_equal(X, X_full)


def test_download_arrow_stream_can_stop_early(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    pytest.importorskip("pyarrow")
    with client.download_arrow(spiral["dataset_id"], stream=True) as stream:
        first = next(stream)
    assert first.num_rows > 0
    assert stream._response.is_closed
    # The connection pool is still usable.
    assert client.health_check()["status"] == "ok"


def test_download_arrow_errors_are_raised_at_the_call(
    client: JuniperDataClient, spiral: dict[str, Any]
) -> None:
    pytest.importorskip("pyarrow")
    with pytest.raises(JuniperDataNotFoundError):
        client.download_arrow(UNKNOWN_ID, stream=True)
    with pytest.raises(JuniperDataValidationError):
        client.download_arrow(spiral["dataset_id"], split="validation")


def test_get_preview(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    arrays = client.download_artifact_npz(spiral["dataset_id"])
    preview = client.get_preview(spiral["dataset_id"], n=5)
    assert preview["n_samples"] == 5
    np.testing.assert_allclose(np.array(preview["X_sample"], dtype=np.float32), arrays["X_full"][:5])
    assert len(preview["y_sample"]) == 5


def test_get_preview_errors(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    with pytest.raises(JuniperDataNotFoundError):
        client.get_preview(UNKNOWN_ID)
    with pytest.raises(JuniperDataValidationError) as info:
        client.get_preview(spiral["dataset_id"], n=0)
    assert info.value.status_code == 422


# ---- deleting, batches ----------------------------------------------------------------------------


def test_delete_dataset(client: JuniperDataClient) -> None:
    created = client.create_dataset("circles", {"n_samples": 30, "seed": 1})
    assert client.delete_dataset(created["dataset_id"]) is True
    with pytest.raises(JuniperDataNotFoundError):
        client.get_dataset_metadata(created["dataset_id"])
    with pytest.raises(JuniperDataNotFoundError):
        client.delete_dataset(created["dataset_id"])


def test_batch_create(client: JuniperDataClient) -> None:
    result = client.batch_create(
        [
            {"generator": "xor", "params": {"n_points_per_quadrant": 5, "seed": 9}},
            {"generator": "spiral", "params": {"n_spirals": 1}},
        ]
    )
    assert (result["total_created"], result["total_failed"]) == (1, 1)
    ok, failed = sorted(result["results"], key=lambda r: r["index"])
    assert ok["success"] is True and ok["dataset_id"].startswith("xor-")
    assert failed["success"] is False and failed["error"]


def test_batch_create_empty_is_rejected(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataValidationError) as info:
        client.batch_create([])
    assert info.value.status_code == 422


def test_batch_delete(client: JuniperDataClient) -> None:
    created = client.create_dataset("circles", {"n_samples": 40, "seed": 2})
    result = client.batch_delete([created["dataset_id"], UNKNOWN_ID])
    assert result["deleted"] == [created["dataset_id"]]
    assert result["not_found"] == [UNKNOWN_ID]
    assert result["total_deleted"] == 1
    with pytest.raises(JuniperDataValidationError):
        client.batch_delete([])


def test_batch_update_tags(client: JuniperDataClient) -> None:
    created = client.create_dataset("checkerboard", {"n_samples": 40, "seed": 3}, tags=["old"])
    dataset_id = created["dataset_id"]
    result = client.batch_update_tags([dataset_id, UNKNOWN_ID], add_tags=["new", "z"], remove_tags=["old"])
    assert result["updated"] == [dataset_id]
    assert result["not_found"] == [UNKNOWN_ID]
    assert result["total_updated"] == 1
    assert client.get_dataset_metadata(dataset_id)["tags"] == ["new", "z"]
    client.batch_update_tags([dataset_id])  # nothing to add or remove
    assert client.get_dataset_metadata(dataset_id)["tags"] == ["new", "z"]
    with pytest.raises(JuniperDataValidationError):
        client.batch_update_tags([], add_tags=["x"])


def test_batch_export(client: JuniperDataClient, spiral: dict[str, Any]) -> None:
    content = client.batch_export([spiral["dataset_id"]])
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert f"{spiral['dataset_id']}.npz" in archive.namelist()
        with archive.open(f"{spiral['dataset_id']}.npz") as member:
            exported = np.load(io.BytesIO(member.read()), allow_pickle=False)
            assert exported["X_full"].shape == (100, 2)


def test_batch_export_none_exist(client: JuniperDataClient) -> None:
    with pytest.raises(JuniperDataNotFoundError):
        client.batch_export([UNKNOWN_ID])


def test_context_manager_closes_the_session(service: Any) -> None:
    with JuniperDataClient(service.url) as client:
        assert client.health_check()["status"] == "ok"
    assert client.session.is_closed


# ---- timeouts and retries (the stub) --------------------------------------------------------------


def test_timeout_raises_timeout_error(stub: Any) -> None:
    stub.script("GET", "/v1/health", {"delay": 2.0})
    with (
        JuniperDataClient(stub.url, timeout=0.3, retries=0) as client,
        pytest.raises(JuniperDataTimeoutError),
    ):
        # The stub answers after 2 s: a client that ignored its 0.3 s timeout would get the answer.
        client.health_check()


def test_get_is_retried_after_503(stub: Any) -> None:
    stub.script("GET", "/v1/health", {"status": 503, "body": {"detail": "starting"}}, {})
    with JuniperDataClient(stub.url, backoff_factor=0.01) as client:
        assert client.health_check() == {"status": "ok", "version": "stub"}
    assert stub.count("GET", "/v1/health") == 2


def test_backoff_grows_exponentially(stub: Any) -> None:
    stub.script("GET", "/v1/health", {"status": 502}, {"status": 502}, {"status": 502}, {})
    with JuniperDataClient(stub.url, retries=3, backoff_factor=0.1) as client:
        client.health_check()
    times = [r.at for r in stub.requests_to("GET", "/v1/health")]
    gaps = np.diff(times)
    assert len(times) == 4
    assert gaps[0] >= 0.09 and gaps[1] >= 0.19 and gaps[2] >= 0.39  # 0.1, 0.2, 0.4 s


def test_retry_after_is_honoured(stub: Any) -> None:
    stub.script(
        "GET",
        "/v1/generators",
        {"status": 429, "body": {"detail": "slow down"}, "headers": {"Retry-After": "1"}},
        {"body": []},
    )
    with JuniperDataClient(stub.url, backoff_factor=0) as client:
        started = time.monotonic()
        assert client.list_generators() == []
        waited = time.monotonic() - started
    assert waited >= 0.95
    assert stub.count("GET", "/v1/generators") == 2


def test_retries_give_up_with_a_server_error(stub: Any) -> None:
    stub.script("GET", "/v1/health", {"status": 503, "body": {"detail": "down for maintenance"}})
    client = JuniperDataClient(stub.url, retries=2, backoff_factor=0.01)
    with client, pytest.raises(JuniperDataServerError) as info:
        client.health_check()
    assert info.value.status_code == 503
    assert info.value.detail == "down for maintenance"
    assert stub.count("GET", "/v1/health") == 3


@pytest.mark.parametrize(
    ("method", "path", "call"),
    [
        ("POST", "/v1/datasets", lambda c: c.create_dataset("spiral", {})),
        ("POST", "/v1/datasets/batch-delete", lambda c: c.batch_delete(["x"])),
        ("PATCH", "/v1/datasets/batch-tags", lambda c: c.batch_update_tags(["x"], add_tags=["t"])),
        ("DELETE", "/v1/datasets/x", lambda c: c.delete_dataset("x")),
    ],
)
def test_non_idempotent_methods_are_never_retried(stub: Any, method: str, path: str, call: Any) -> None:
    stub.script(method, path, {"status": 503, "body": {"detail": "busy"}}, {})
    client = JuniperDataClient(stub.url, retries=3, backoff_factor=0.01)
    with client, pytest.raises(JuniperDataServerError):
        call(client)
    assert stub.count(method, path) == 1


def test_batch_update_tags_omits_empty_keys(stub: Any) -> None:
    stub.script(
        "PATCH", "/v1/datasets/batch-tags", {"body": {"updated": [], "not_found": [], "total_updated": 0}}
    )
    with JuniperDataClient(stub.url) as client:
        client.batch_update_tags(["a"])
        client.batch_update_tags(["a"], add_tags=["t"], remove_tags=[])
    bodies = [r.body for r in stub.requests_to("PATCH", "/v1/datasets/batch-tags")]
    assert json.loads(bodies[0]) == {"dataset_ids": ["a"]}
    assert json.loads(bodies[1]) == {"dataset_ids": ["a"], "add_tags": ["t"]}


def test_create_calls_send_only_given_keys(stub: Any) -> None:
    stub.script("POST", "/v1/datasets", {"status": 201, "body": {"dataset_id": "d"}})
    with JuniperDataClient(stub.url) as client:
        client.create_dataset("spiral", {"seed": 1})
        client.create_spiral_dataset()
    first, second = (json.loads(r.body) for r in stub.requests_to("POST", "/v1/datasets"))
    assert first == {"generator": "spiral", "params": {"seed": 1}, "persist": True}
    assert "seed" not in second["params"]
    assert "test_ratio" not in second["params"]
    assert second["params"]["train_ratio"] == 0.8


def test_non_json_error_body_becomes_the_detail(stub: Any) -> None:
    stub.script("GET", "/v1/health", {"status": 418, "body": "teapot"})
    with JuniperDataClient(stub.url) as client, pytest.raises(JuniperDataClientError) as info:
        client.health_check()
    assert info.value.status_code == 418
    assert info.value.detail == "teapot"


def test_base_url_path_prefix_is_kept(stub: Any) -> None:
    # Behind a reverse proxy under /juniper: "/juniper/v1/" normalises to "/juniper", calls go below it.
    stub.script("GET", "/juniper/v1/health", {})
    with JuniperDataClient(f" {stub.url}/juniper/v1/?x=1 ") as client:
        assert client.base_url == f"{stub.url}/juniper"
        assert client.health_check()["status"] == "ok"
    assert stub.count("GET", "/juniper/v1/health") == 1


def test_api_key_header_is_sent(stub: Any, no_key_env: None) -> None:
    stub.script("GET", "/v1/health", {})
    with JuniperDataClient(stub.url, api_key="secret-key") as client:
        client.health_check()
    (received,) = stub.requests_to("GET", "/v1/health")
    assert received.headers.get("X-API-Key") == "secret-key"
