"""/v1/sources and csv_import through a real server: uploads, dedup, limits, paths, deletes."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest

from juniper_data_service.client import JuniperDataClient, JuniperDataClientError

from .conftest import LiveServer

pa = pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")
pq = pytest.importorskip("pyarrow.parquet")

UPLOAD_LIMIT = 200_000
KNOWN = Path(__file__).resolve().parents[1] / "data" / "sources_known.csv"


@pytest.fixture(scope="module")
def roots(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root, outside = tmp_path_factory.mktemp("import-root"), tmp_path_factory.mktemp("outside")
    (root / "known.csv").write_bytes(KNOWN.read_bytes())
    (outside / "secret.csv").write_text("a,label\n1,x\n")
    os.symlink(outside / "secret.csv", root / "link.csv")
    return root, outside


@pytest.fixture(scope="module")
def server(start_server: Callable[..., LiveServer], roots: tuple[Path, Path]) -> LiveServer:
    return start_server(import_roots=[str(roots[0])], max_upload_bytes=UPLOAD_LIMIT)


@pytest.fixture
def http(server: LiveServer) -> httpx.Client:
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


def table_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "u": np.round(rng.normal(size=n), 3),
            "v": rng.integers(0, 100, size=n),
            "label": rng.choice(["no", "yes"], size=n),
        }
    )


def leftovers(server: LiveServer) -> list[str]:
    """Temporary files in the data directory (a failed upload must leave none)."""
    root = server.settings.sources_dir
    return sorted(p.name for p in root.iterdir() if p.name.startswith("."))


def test_upload_body_then_same_content_as_multipart_and_parquet(
    http: httpx.Client, server: LiveServer
) -> None:
    df = table_frame(seed=1)
    csv = df.to_csv(index=False).encode()
    first = http.post("/v1/sources?name=t.csv", content=csv, headers={"Content-Type": "text/csv"})
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["source_id"].startswith("sha256:") and len(body["source_id"]) == 71
    assert body["columns"] == [
        {"name": "u", "type": "float64"},
        {"name": "v", "type": "int64"},
        {"name": "label", "type": "string"},
    ]
    assert body["n_rows"] == 40 and body["name"] == "t.csv" and body["created_at"].endswith("Z")
    again = http.post("/v1/sources", files={"file": ("again.csv", csv, "text/csv")})
    assert again.status_code == 200 and again.json()["source_id"] == body["source_id"]
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), buffer)
    as_parquet = http.post("/v1/sources?format=parquet", content=buffer.getvalue())
    assert as_parquet.status_code == 200 and as_parquet.json()["source_id"] == body["source_id"]
    listed = http.get("/v1/sources").json()
    assert body["source_id"] in [s["source_id"] for s in listed]
    detail = http.get(f"/v1/sources/{body['source_id']}").json()
    assert detail["rows"][0] == {"u": df["u"][0], "v": int(df["v"][0]), "label": df["label"][0]}


def test_upload_options_delimiter_header_and_types(http: httpx.Client) -> None:
    text = b"1;2;a\n3;4;b\n"
    r = http.post("/v1/sources?format=csv&delimiter=;&header=false&column_types=col_0:float64", content=text)
    assert r.status_code == 201, r.text
    assert r.json()["columns"] == [
        {"name": "col_0", "type": "float64"},
        {"name": "col_1", "type": "int64"},
        {"name": "col_2", "type": "string"},
    ]


def test_upload_over_the_limit_is_413_and_leaves_nothing(http: httpx.Client, server: LiveServer) -> None:
    before = {s["source_id"] for s in http.get("/v1/sources").json()}
    big = b"a,label\n" + b"1,x\n" * (UPLOAD_LIMIT // 4 + 10)

    def chunks() -> object:  # no Content-Length: the limit is on the bytes read
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    r = http.post("/v1/sources?format=csv", content=chunks())
    assert r.status_code == 413 and "JUNIPER_DATA_MAX_UPLOAD_BYTES" in r.json()["detail"]
    r = http.post("/v1/sources?format=csv", content=big)
    assert r.status_code == 413
    assert {s["source_id"] for s in http.get("/v1/sources").json()} == before
    assert leftovers(server) == []


@pytest.mark.parametrize(
    ("query", "content", "field"),
    [
        ("format=csv", b"a,b\n1,2\n3\n", "not readable as csv"),
        ("format=json", b'[{"a": 1}, {"a": ', "JSON array is malformed"),
        ("format=xml", b"<a/>", "format must be one of"),
        ("", b"a,b\n1,2\n", "cannot tell the file's format"),
        ("format=csv&column_types=a:decimal", b"a\n1\n", "unknown types"),
    ],
)
def test_bad_uploads_are_422_naming_the_problem(
    http: httpx.Client, server: LiveServer, query: str, content: bytes, field: str
) -> None:
    r = http.post(
        f"/v1/sources?{query}", content=content, headers={"Content-Type": "application/octet-stream"}
    )
    assert r.status_code == 422 and field in r.json()["detail"], r.text
    assert leftovers(server) == []


def upload_known(http: httpx.Client) -> str:
    r = http.post(
        "/v1/sources?name=known.csv", content=KNOWN.read_bytes(), headers={"Content-Type": "text/csv"}
    )
    assert r.status_code in (200, 201)
    return str(r.json()["source_id"])


def test_csv_import_dataset_downloads_the_expected_arrays(http: httpx.Client) -> None:
    source_id = upload_known(http)
    params = {"source_id": source_id, "label_column": "species", "shuffle": False, "train_ratio": 0.7}
    r = http.post("/v1/datasets", json={"generator": "csv_import", "params": params})
    assert r.status_code == 201, r.text
    meta = r.json()["meta"]
    assert meta["source_id"] == source_id and meta["label_mapping"] == {
        "setosa": 0,
        "versicolor": 1,
        "virginica": 2,
    }
    assert (meta["n_features"], meta["n_classes"], meta["n_train"], meta["n_test"]) == (3, 3, 7, 3)
    npz = np.load(io.BytesIO(http.get(f"/v1/datasets/{meta['dataset_id']}/artifact").content))
    df = pd.read_csv(KNOWN)
    np.testing.assert_array_equal(npz["X_full"], df[["sepal", "petal", "count"]].to_numpy(np.float32))
    classes = df["species"].map({"setosa": 0, "versicolor": 1, "virginica": 2}).to_numpy()
    np.testing.assert_array_equal(npz["y_train"].argmax(axis=1), classes[:7])
    arrow = http.get(f"/v1/datasets/{meta['dataset_id']}/artifact?format=arrow&split=test")
    table = pa.ipc.open_stream(arrow.content).read_all()
    np.testing.assert_array_equal(table.column("label").to_numpy(), classes[7:])
    assert meta["dataset_id"] in http.get(f"/v1/sources/{source_id}").json()["used_by"]


def test_file_path_under_the_roots_becomes_a_source(http: httpx.Client, roots: tuple[Path, Path]) -> None:
    params = {"file_path": "known.csv", "label_column": "species"}
    r = http.post("/v1/datasets", json={"generator": "csv_import", "params": params})
    assert r.status_code == 201, r.text
    meta = r.json()["meta"]
    assert meta["params"]["file_path"] is None and meta["params"]["source_id"] == upload_known(http)
    absolute = {"file_path": str(roots[0] / "known.csv"), "label_column": "species"}
    r2 = http.post("/v1/datasets", json={"generator": "csv_import", "params": absolute})
    assert r2.status_code == 201 and r2.json()["dataset_id"] == meta["dataset_id"]


@pytest.mark.parametrize(
    "spelling",
    [
        "../{outside}/secret.csv",
        "{outside_path}/secret.csv",
        "/etc/passwd",
        "link.csv",
        "..%2F{outside}%2Fsecret.csv",
        "%2e%2e%2f{outside}%2fsecret.csv",
        "known.csv\u0000/../../{outside}/secret.csv",
    ],
)
def test_file_path_outside_the_roots_is_403(
    http: httpx.Client, roots: tuple[Path, Path], spelling: str
) -> None:
    root, outside = roots
    path = spelling.format(outside=os.path.relpath(outside, root), outside_path=outside)
    r = http.post("/v1/datasets", json={"generator": "csv_import", "params": {"file_path": path}})
    assert r.status_code == 403, r.text
    assert "JUNIPER_DATA_IMPORT_ROOTS" in r.json()["detail"] or "NUL" in r.json()["detail"]


def test_engine_errors_are_4xx(http: httpx.Client) -> None:
    source_id = upload_known(http)
    missing = {"source_id": "sha256:" + "1" * 64}
    r = http.post("/v1/datasets", json={"generator": "csv_import", "params": missing})
    assert r.status_code == 404 and "POST /v1/sources" in r.json()["detail"]
    text_feature = {"source_id": source_id, "label_column": "count"}
    r = http.post("/v1/datasets", json={"generator": "csv_import", "params": text_feature})
    assert r.status_code == 422 and "'species'" in r.json()["detail"]
    r = http.post("/v1/datasets", json={"generator": "csv_import", "params": {"source_id": "nope"}})
    assert r.status_code == 400 and "source_id" in r.json()["detail"]
    assert http.get("/v1/sources/sha256:" + "2" * 64).status_code == 404


def test_delete_in_use_is_409_unless_forced(http: httpx.Client) -> None:
    df = table_frame(seed=7)
    r = http.post("/v1/sources", files={"file": ("d.csv", df.to_csv(index=False).encode(), "text/csv")})
    source_id = r.json()["source_id"]
    made = http.post("/v1/datasets", json={"generator": "csv_import", "params": {"source_id": source_id}})
    dataset_id = made.json()["dataset_id"]
    r = http.delete(f"/v1/sources/{source_id}")
    assert r.status_code == 409 and dataset_id in r.json()["detail"] and "force=true" in r.json()["detail"]
    assert http.delete(f"/v1/datasets/{dataset_id}").status_code == 204
    assert http.delete(f"/v1/sources/{source_id}").status_code == 204  # its only user is gone
    assert http.get(f"/v1/sources/{source_id}").status_code == 404
    r = http.post("/v1/sources", files={"file": ("d.csv", df.to_csv(index=False).encode(), "text/csv")})
    assert r.status_code == 201  # stored afresh
    http.post("/v1/datasets", json={"generator": "csv_import", "params": {"source_id": source_id, "seed": 1}})
    assert http.delete(f"/v1/sources/{source_id}?force=true").status_code == 204


def test_client_upload_list_get_delete(server: LiveServer, tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    pq.write_table(pa.Table.from_pandas(table_frame(seed=3), preserve_index=False), path)
    with JuniperDataClient(server.url) as client:
        record = client.upload_source(path)
        assert record["name"] == "c.parquet" and record["n_rows"] == 40
        assert client.upload_source(path)["source_id"] == record["source_id"]
        assert record["source_id"] in [s["source_id"] for s in client.list_sources()]
        assert client.get_source(record["source_id"])["rows"][0]["label"] in ("no", "yes")
        client.create_dataset("csv_import", {"source_id": record["source_id"]})
        with pytest.raises(JuniperDataClientError) as err:
            client.delete_source(record["source_id"])
        assert err.value.status_code == 409
        assert client.delete_source(record["source_id"], force=True)
        assert record["source_id"] not in [s["source_id"] for s in client.list_sources()]


def test_multipart_options_as_form_fields(http: httpx.Client, server: LiveServer) -> None:
    """curl -F file=@x.txt -F delimiter=';' -F header=false ...: the form's fields are the
    query's options; the query wins where both say; an unknown field is a 422 naming it."""
    text = b"1;2.5;a\n3;4.5;b\n5;6.5;a\n"
    form = {"format": "csv", "delimiter": ";", "header": "false", "column_types": "col_0:float64"}
    r = http.post("/v1/sources", files={"file": ("semi.txt", text, "text/plain")}, data=form)
    assert r.status_code == 201, r.text
    assert r.json()["columns"] == [
        {"name": "col_0", "type": "float64"},
        {"name": "col_1", "type": "float64"},
        {"name": "col_2", "type": "string"},
    ]
    assert r.json()["n_rows"] == 3 and r.json()["name"] == "semi.txt"
    # The same options by query (they win over the form's): the same source, its record kept.
    query = {
        "format": "csv",
        "delimiter": ";",
        "header": "false",
        "column_types": "col_0:float64",
        "name": "q",
    }
    again = http.post(
        "/v1/sources",
        params=query,
        files={"file": ("semi.txt", text, "text/plain")},
        data={"name": "form", "delimiter": ","},
    )
    assert again.status_code == 200 and again.json()["source_id"] == r.json()["source_id"]
    # Without the form's delimiter the file is one column: another source.
    plain = http.post("/v1/sources", files={"file": ("semi.csv", text, "text/csv")}, data={"header": "false"})
    assert plain.status_code == 201 and len(plain.json()["columns"]) == 1
    for bad, field in (
        ({"delimter": ";"}, "delimter"),
        ({"header": "maybe"}, "header"),
        ({"delimiter": ""}, "delimiter"),
    ):
        refused = http.post("/v1/sources", files={"file": ("semi.csv", text, "text/csv")}, data=bad)
        assert refused.status_code == 422, refused.text
        assert field in refused.json()["detail"]
    assert leftovers(server) == []
