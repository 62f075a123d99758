"""mnist through a real server process: scikit-learn's digits written as the four MNIST IDX
files in JUNIPER_DATA_SOURCES_PATH/mnist/, every artifact compared with the engine's arrays;
no files: a 503 that names `juniper-data fetch`."""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pytest
from sklearn.datasets import load_digits

import juniper_data_core as jd
from tests.service.conftest import ServerProcess

N_TRAIN = 1500


def write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    """The published IDX layout: 0x0000, 0x08 (ubyte), ndim, big-endian uint32 dims, bytes."""
    data = (
        struct.pack(">HBB", 0, 0x08, array.ndim)
        + struct.pack(f">{array.ndim}I", *array.shape)
        + array.tobytes()
    )
    path.write_bytes(gzip.compress(data) if gz else data)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    digits = load_digits()
    images, labels = digits.images.astype(np.uint8), digits.target.astype(np.uint8)
    root = tmp_path_factory.mktemp("sources")
    (root / "mnist").mkdir()
    write_idx(root / "mnist" / "train-images-idx3-ubyte.gz", images[:N_TRAIN], gz=True)
    write_idx(root / "mnist" / "train-labels-idx1-ubyte.gz", labels[:N_TRAIN], gz=True)
    write_idx(root / "mnist" / "t10k-images-idx3-ubyte", images[N_TRAIN:], gz=False)
    write_idx(root / "mnist" / "t10k-labels-idx1-ubyte", labels[N_TRAIN:], gz=False)
    return root


@pytest.fixture(scope="module")
def mnist_server(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[str]:
    """One server process for the module (the engine reads JUNIPER_DATA_SOURCES_PATH there)."""
    server = ServerProcess(tmp_path_factory.mktemp("storage"), JUNIPER_DATA_SOURCES_PATH=str(data_dir))
    yield server.url
    server.stop()


@pytest.fixture
def engine(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine in this process reads the same files as the server."""
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(data_dir))


def arrow_arrays(body: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    table = pyarrow.ipc.open_stream(pa.py_buffer(body)).read_all()
    n = table.num_rows
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(n, -1)
    y = np.asarray(table.column("y").combine_chunks().flatten()).reshape(n, -1)
    return X, y, np.asarray(table.column("label"))


def test_mnist_official_over_http_equals_the_engine(mnist_server: str, engine: None) -> None:
    params = {"split": "official", "seed": 8}
    with httpx.Client(base_url=mnist_server, timeout=120) as client:
        r = client.post("/v1/datasets", json={"generator": "mnist", "params": params})
        assert r.status_code == 201, r.text
        meta = r.json()["meta"]
        assert (meta["n_train"], meta["n_test"], meta["n_features"], meta["n_classes"]) == (
            N_TRAIN,
            297,
            64,
            10,
        )
        expected = jd.generate("mnist", params)
        assert r.json()["dataset_id"] == expected.meta["dataset_id"]
        assert meta["params"]["source_id"] == expected.meta["source_id"]
        npz = np.load(io.BytesIO(client.get(f"/v1/datasets/{meta['dataset_id']}/artifact").content))
        for name, array in expected.arrays.items():
            np.testing.assert_array_equal(npz[name], array)
        # A row range of the test split, as Arrow: the same rows, labels the digits.
        r = client.get(
            f"/v1/datasets/{meta['dataset_id']}/artifact",
            params={"format": "arrow", "split": "test", "offset": 40, "limit": 100},
        )
        X, _, label = arrow_arrays(r.content)
        np.testing.assert_array_equal(X, expected.arrays["X_test"][40:140])
        np.testing.assert_array_equal(label, expected.arrays["y_test"][40:140].argmax(axis=1))
        got = client.get(f"/v1/datasets/{meta['dataset_id']}").json()
        assert got["source_id"] == meta["params"]["source_id"] and got["image_shape"] == [8, 8]


def test_mnist_preview_is_the_first_digits(mnist_server: str, engine: None) -> None:
    digits = load_digits()
    with httpx.Client(base_url=mnist_server, timeout=120) as client:
        r = client.post("/v1/datasets", json={"generator": "mnist", "params": {"normalize": False}})
        assert r.status_code == 201, r.text
        preview = client.get(f"/v1/datasets/{r.json()['dataset_id']}/preview", params={"n": 5}).json()
    np.testing.assert_array_equal(np.array(preview["X_sample"]), digits.data[:5])
    np.testing.assert_array_equal(np.array(preview["y_sample"]).argmax(axis=1), digits.target[:5])


def test_mnist_bad_params_are_400_naming_the_field(mnist_server: str) -> None:
    with httpx.Client(base_url=mnist_server, timeout=120) as client:
        for params, needle in (
            ({"flatten": False}, "flatten"),
            ({"split": "official", "n_samples": 100}, "n_samples"),
            ({"n_samples": 10**6}, "n_samples must be at most 1797"),
        ):
            r = client.post("/v1/datasets", json={"generator": "mnist", "params": params})
            assert r.status_code == 400, r.text
            assert needle in r.json()["detail"]


def test_mnist_without_files_is_503_saying_how_to_get_them(mnist_server: str) -> None:
    # The data directory holds mnist/ only: Fashion-MNIST is not on this server.
    r = httpx.post(
        f"{mnist_server}/v1/datasets",
        json={"generator": "mnist", "params": {"dataset": "fashion_mnist"}},
        timeout=60,
    )
    assert r.status_code == 503, r.text
    assert "juniper-data fetch fashion_mnist" in r.json()["detail"]
    assert "Traceback" not in r.text


def test_mnist_arrow_body_loads_in_datasets_pandas_polars_torch(
    mnist_server: str, engine: None, tmp_path: Path
) -> None:
    import datasets
    import polars as pl

    # PyTorch is not in the test extra (CI installs its CPU build): a skip here, a failure in CI.
    torch = pytest.importorskip("torch")

    with httpx.Client(base_url=mnist_server, timeout=120) as client:
        r = client.post("/v1/datasets", json={"generator": "mnist", "params": {"split": "official"}})
        assert r.status_code == 201, r.text
        body = client.get(
            f"/v1/datasets/{r.json()['dataset_id']}/artifact", params={"format": "arrow", "split": "test"}
        ).content
    expected = jd.generate("mnist", {"split": "official"}).arrays
    path = tmp_path / "mnist-test.arrow"
    path.write_bytes(body)  # the response body as it came: an Arrow IPC stream
    hf = datasets.Dataset.from_file(str(path)).with_format("numpy")
    np.testing.assert_array_equal(hf[:]["X"], expected["X_test"])
    np.testing.assert_array_equal(hf[:]["label"], expected["y_test"].argmax(axis=1))
    frame = pyarrow.ipc.open_stream(pa.py_buffer(body)).read_all().to_pandas()
    np.testing.assert_array_equal(np.stack(frame["X"].to_numpy()), expected["X_test"])
    np.testing.assert_array_equal(pl.read_ipc_stream(path)["X"].to_numpy(), expected["X_test"])
    images = torch.from_numpy(hf[:]["X"]).reshape(-1, 1, 8, 8)  # image_shape of the digits
    assert tuple(images.shape) == (297, 1, 8, 8)
