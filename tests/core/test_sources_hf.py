"""Hugging Face datasets into sources: saved datasets and local directories made here (no
network), scikit-learn's digits as a real image column, and offline mode respected."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.ipc
import pytest
from sklearn.datasets import load_digits

from juniper_data_core.sources.directory import SourceDirectory
from juniper_data_core.sources.huggingface import HuggingFaceError, import_huggingface, load_dataset, to_table


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    bunch = load_digits()
    return bunch.images.astype(np.uint8)[:300], bunch.target[:300]


@pytest.fixture(scope="module")
def saved_digits(tmp_path_factory: pytest.TempPathFactory, digits: tuple[np.ndarray, np.ndarray]) -> Path:
    """The digits as a DatasetDict of an Image column and a ClassLabel, saved with save_to_disk."""
    images, target = digits
    features = datasets.Features(
        {"image": datasets.Image(), "label": datasets.ClassLabel(names=[str(i) for i in range(10)])}
    )
    train = datasets.Dataset.from_dict(
        {"image": list(images[:200]), "label": target[:200]}, features=features
    )
    test = datasets.Dataset.from_dict({"image": list(images[200:]), "label": target[200:]}, features=features)
    path = tmp_path_factory.mktemp("hf") / "digits"
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(path))
    return path


def read_source(directory: SourceDirectory, source_id: str) -> pa.Table:
    with pa.memory_map(str(directory.path(source_id))) as f:
        return pyarrow.ipc.open_file(f).read_all()


def test_image_column_flattened_to_pixels(saved_digits: Path, digits: tuple[np.ndarray, np.ndarray]) -> None:
    images, target = digits
    table = to_table(load_dataset(saved_digits, split="test"), label_column="label")
    assert table.column_names == [*(f"image_{k}" for k in range(64)), "label"]
    pixels = np.stack([table.column(f"image_{k}").to_numpy() for k in range(64)], axis=1)
    np.testing.assert_array_equal(pixels, images[200:].reshape(100, 64))
    np.testing.assert_array_equal(table.column("label").to_numpy(), target[200:])


def test_import_huggingface_makes_a_source_of_the_split(
    tmp_path: Path, saved_digits: Path, digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, target = digits
    store = SourceDirectory(tmp_path / "sources")
    info = import_huggingface(saved_digits, split="train", label_column="label", directory=store)
    assert info.n_rows == 200 and info.created
    assert info.columns[0] == {"name": "image_0", "type": "int64"} and info.columns[-1]["name"] == "label"
    table = read_source(store, info.source_id)
    np.testing.assert_array_equal(table.column("image_9").to_numpy(), images[:200, 1, 1])
    np.testing.assert_array_equal(table.column("label").to_numpy(), target[:200])
    # The same content again is the same source, not a second one.
    again = import_huggingface(saved_digits, split="train", label_column="label", directory=store)
    assert again.source_id == info.source_id and not again.created


def test_feature_columns_choose_and_order(tmp_path: Path) -> None:
    ds = datasets.Dataset.from_dict({"a": [1.5, 2.5], "b": ["x", "y"], "c": [[1, 2], [3, 4]]})
    table = to_table(ds, feature_columns=["c", "a"], label_column="b")
    assert table.column_names == ["c_0", "c_1", "a", "b"]
    assert table.column("c_1").to_pylist() == [2, 4] and table.column("b").to_pylist() == ["x", "y"]


def test_unknown_column_names_it_and_the_columns(saved_digits: Path) -> None:
    ds = load_dataset(saved_digits, split="train")
    with pytest.raises(
        HuggingFaceError, match=r"no column 'digit' in the dataset; it has image, label"
    ) as err:
        to_table(ds, label_column="digit")
    assert err.value.field == "label_column"


def test_ragged_images_name_column_and_row() -> None:
    ds = datasets.Dataset.from_dict({"img": [np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((3, 2))]})
    with pytest.raises(HuggingFaceError, match=r"column 'img' row 2: shape \(3, 2\) differs"):
        to_table(ds)


def test_several_splits_need_split(saved_digits: Path) -> None:
    with pytest.raises(HuggingFaceError, match=r"has splits train, test; choose one with split="):
        load_dataset(saved_digits)
    with pytest.raises(HuggingFaceError, match=r"has no split 'validation'; it has train, test"):
        load_dataset(saved_digits, split="validation")


def test_local_directory_of_data_files(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.csv").write_text("x,y,label\n1.0,2.0,a\n3.0,4.0,b\n")
    table = to_table(load_dataset(tmp_path / "data", split="train"), label_column="label")
    assert table.column_names == ["x", "y", "label"]
    assert table.column("y").to_pylist() == [2.0, 4.0]


def test_hub_name_needs_offline_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    # Online mode (what datasets sets from HF_DATASETS_OFFLINE when imported): a Hub name is refused.
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    with pytest.raises(HuggingFaceError, match=r"read from the local cache only: set HF_DATASETS_OFFLINE=1"):
        load_dataset("ylecun/mnist", split="train")


def test_offline_hub_name_not_in_cache_is_a_clear_error(tmp_path: Path) -> None:
    # Offline mode is read when datasets is imported: a fresh interpreter, an empty cache.
    env = {**os.environ, "HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path)}
    code = (
        "from juniper_data_core.sources.huggingface import load_dataset, HuggingFaceError\n"
        "try:\n    load_dataset('ylecun/mnist', split='train')\n"
        "except HuggingFaceError as e:\n    print('ERROR', e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert out.stdout.startswith("ERROR dataset 'ylecun/mnist'"), out.stdout + out.stderr
    assert "not available offline" in out.stdout


# --------------------------------------------------------------------------- the other way
# Every Arrow artifact (write_arrow's stream, the service's body is the same bytes: see
# tests/service/test_sources_mnist.py) loads straight into Hugging Face datasets, pandas,
# polars and PyTorch (through NumPy).


def test_write_arrow_output_loads_in_datasets_pandas_polars_torch(tmp_path: Path) -> None:
    import pandas as pd
    import polars as pl

    # PyTorch is not in the test extra (CI installs its CPU build): a skip here, a failure in CI.
    torch = pytest.importorskip("torch")

    import juniper_data_core as jd

    recipe = jd.recipe("gaussian", {"n_classes": 3, "n_features": 5, "n_samples_per_class": 40, "seed": 7})
    expected = jd.generate(recipe).arrays
    path = tmp_path / "train.arrow"
    jd.write_arrow(recipe, path, split="train", batch_rows=25)  # several record batches
    X_want, label_want = expected["X_train"], expected["y_train"].argmax(axis=1)

    hf = datasets.Dataset.from_file(str(path)).with_format("numpy")
    assert hf.num_rows == len(X_want) and hf.features["label"].dtype == "int32"
    np.testing.assert_array_equal(hf[:]["X"], X_want)
    np.testing.assert_array_equal(hf[:]["label"], label_want)

    with pa.memory_map(str(path)) as f:
        frame = pyarrow.ipc.open_stream(f).read_all().to_pandas()
    assert isinstance(frame, pd.DataFrame) and list(frame.columns) == ["X", "y", "label"]
    np.testing.assert_array_equal(np.stack(frame["X"].to_numpy()), X_want)

    df = pl.read_ipc_stream(path)
    np.testing.assert_array_equal(df["X"].to_numpy(), X_want)
    np.testing.assert_array_equal(df["label"].to_numpy(), label_want)

    tensor = torch.from_numpy(hf[:]["X"])
    assert tensor.dtype == torch.float32 and tuple(tensor.shape) == X_want.shape
    torch_hf = datasets.Dataset.from_file(str(path)).with_format("torch")[:]["X"]
    np.testing.assert_array_equal(torch_hf.numpy(), X_want)


def test_mnist_reads_a_hugging_face_dataset_of_mnist_shape(
    tmp_path: Path, saved_digits: Path, digits: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    import juniper_data_core as jd
    from juniper_data_core.generators import mnist

    images, target = digits
    # No IDX files anywhere; offline mode on; the Hub name stands for the saved digits (same
    # columns, image and label, and splits, train and test, as ylecun/mnist).
    monkeypatch.setenv("JUNIPER_DATA_SOURCES_PATH", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setitem(mnist.HF_NAMES, "mnist", str(saved_digits))
    monkeypatch.setattr(mnist, "_CACHE", {})
    ds = jd.generate("mnist", {"split": "official", "normalize": False})
    assert ds.meta["source"]["kind"] == "huggingface" and ds.meta["n_train"] == 200
    np.testing.assert_array_equal(ds.arrays["X_train"], images[:200].reshape(200, 64))
    np.testing.assert_array_equal(ds.arrays["y_test"].argmax(axis=1), target[200:])
