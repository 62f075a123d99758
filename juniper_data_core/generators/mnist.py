"""mnist: MNIST and Fashion-MNIST from their four IDX files (docs/sources.md).

**Where the data is.** The published files, gzipped or not (``train-images-idx3-ubyte``,
``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``,
each optionally ``.gz``), in ``<dir>/mnist/`` or ``<dir>/fashion_mnist/`` for ``<dir>``
each source directory (``JUNIPER_DATA_SOURCES_PATH``, and those the service adds; see
:func:`juniper_data_core.sources.source_directories`); ``juniper-data fetch mnist``
puts them there. Failing that, the Hugging Face cache (``ylecun/mnist``,
``zalando-datasets/fashion_mnist``) when ``datasets`` is installed and offline mode is on.
Nothing is downloaded here: without the data, a :class:`DataUnavailableError` (503 from
the service) says how to get it.

**Identity.** Validation reads the files (once per file version: cached by path, size and
modification time) and puts the content's hash in the canonical params as ``source_id``
(``sha256:`` of the four arrays' shapes and bytes, however they were stored), so a
dataset ID names the data, not just the word "mnist"; a recipe whose ``source_id``
differs from the files here is refused rather than silently made from other data.

**Rows.** Generation order is the training file's rows, then the test file's
(``n_samples``: the first ``n_samples`` of those). ``split="ratios"`` splits and
shuffles like every generator; ``split="official"`` keeps the published split and order:
train is the training file's images and test the test file's, as published
(``train_ratio`` and ``test_ratio`` are set from the files, ``shuffle`` to false; asking
for ``shuffle=true`` with it is an error naming both).
Features are the pixels, row-major, float32, divided by 255 when ``normalize`` (a fixed
scale: nothing is fitted, so nothing leaks from test to train).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from juniper_data_core.errors import DataUnavailableError, FieldValueError
from juniper_data_core.generators.base import FromTable, GeneratorSpec, SplitParams
from juniper_data_core.generators.kernel import FloatArray

DATASETS = ("mnist", "fashion_mnist")
#: The four files, by role, under their published names (each may also end in ``.gz``;
#: some mirrors write ``train-images.idx3-ubyte``, accepted too).
IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
#: The Hugging Face Hub dataset of each, read from the local cache only.
HF_NAMES = {"mnist": "ylecun/mnist", "fashion_mnist": "zalando-datasets/fashion_mnist"}
LABEL_NAMES = {
    "mnist": [str(d) for d in range(10)],
    "fashion_mnist": [
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ],
}  # fmt: skip
N_CLASSES = 10
PIXEL_SCALE = 255.0
_HF_OFFLINE = ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE")


def _hf_offline_asked() -> bool:
    """Whether the environment turns Hugging Face's offline mode on (``datasets`` reads these
    when imported: checked first so as not to import it, which takes seconds, for nothing)."""
    return any(os.environ.get(v, "").strip().lower() in ("1", "true", "yes", "on") for v in _HF_OFFLINE)


class MnistParams(SplitParams):
    """Parameters of mnist (the earlier service's names, plus ``split`` and ``source_id``)."""

    dataset: Literal["mnist", "fashion_mnist"] = Field(default="mnist", description="mnist or fashion_mnist")
    n_samples: int | None = Field(
        default=None, ge=1, description="Use the first n_samples images (training file first); null: all"
    )
    flatten: bool = Field(
        default=True, description="Images as rows of pixels (the only layout artifacts have)"
    )
    normalize: bool = Field(default=True, description="Pixels divided by 255 (to [0, 1]); else 0..255")
    one_hot_labels: bool = Field(
        default=True, description="One-hot labels (else one column holding the digit)"
    )
    split: Literal["ratios", "official"] = Field(
        default="ratios",
        description="ratios: train_ratio/test_ratio of a shuffle; official: the published split",
    )
    source_id: str | None = Field(
        default=None, description="sha256 of the files' content; filled from the files here when null"
    )
    seed: int | None = Field(default=42, ge=0, lt=2**63, description="Random seed; null draws one")

    @model_validator(mode="after")
    def _from_the_files(self) -> MnistParams:
        if not self.flatten:
            raise FieldValueError(
                "flatten",
                "flatten=false is not offered: every artifact holds 2-D arrays (rows x pixels); "
                "reshape X to (-1, *meta['image_shape']) after loading",
            )
        data = load_images(self.dataset)
        if self.source_id is not None and self.source_id != data.source_id:
            raise FieldValueError(
                "source_id",
                f"the {self.dataset} data here has source_id {data.source_id}, not {self.source_id}: "
                f"the files in {data.origin} changed; leave source_id out to use them",
            )
        self.source_id = data.source_id
        n = len(data.labels)
        if self.split == "official":
            if self.n_samples is not None:
                raise FieldValueError(
                    "n_samples",
                    "n_samples applies to split='ratios'; split='official' is every image of both files",
                )
            if self.shuffle and "shuffle" in self.model_fields_set:
                raise FieldValueError(
                    "shuffle",
                    "split='official' keeps the published order (train: the training file, test: the "
                    "test file); leave shuffle out (or false) and shuffle when you train, "
                    "or use split='ratios'",
                )
            self.shuffle = False
            # Exact sizes: round(n * (n_train / n)) is n_train for any n below 2**52.
            self.train_ratio, self.test_ratio = data.n_train / n, (n - data.n_train) / n
        elif self.n_samples is not None and self.n_samples > n:
            raise FieldValueError("n_samples", f"n_samples must be at most {n} (the images in {data.origin})")
        return self


# ------------------------------------------------------------------------------ the data


@dataclass(frozen=True)
class Images:
    """Both files of a dataset: ``images`` uint8 ``(n, h, w)`` (training file first),
    ``labels`` uint8 ``(n,)``, ``n_train`` rows from the training file, ``source_id``,
    ``origin`` (where they were read, for messages: ``mnist/``, never a server path)."""

    images: npt.NDArray[np.uint8]
    labels: npt.NDArray[np.uint8]
    n_train: int
    source_id: str
    origin: str
    files: dict[str, str] = field(default_factory=dict)


def data_directories(dataset: str) -> list[Path]:
    """Where the files of ``dataset`` may be: ``<source directory>/<dataset>/`` for each
    source directory, in search order."""
    from juniper_data_core.sources.directory import source_directories

    return [Path(d) / dataset for d in source_directories()]


def find_files(directory: Path) -> dict[str, Path] | None:
    """The four files in ``directory`` by role (plain or ``.gz``), or None if one is missing."""
    found: dict[str, Path] = {}
    for role, name in IDX_NAMES.items():
        dotted = name.replace("-idx", ".idx")
        for candidate in (name, f"{name}.gz", dotted, f"{dotted}.gz"):
            if (directory / candidate).is_file():
                found[role] = directory / candidate
                break
        else:
            return None
    return found


_LOCK = threading.Lock()
_CACHE: dict[tuple[Any, ...], Images] = {}


def load_images(dataset: str) -> Images:
    """The images and labels of ``dataset`` (see the module docstring for where they are
    looked for), read once per version of the files; a DataUnavailableError saying how to
    get them when they are nowhere."""
    for directory in data_directories(dataset):
        files = find_files(directory)
        if files is not None:
            key = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files.values())
            with _LOCK:
                if key not in _CACHE:
                    _CACHE.clear()  # one version of one dataset at a time: 55 MB each
                    _CACHE[key] = _read_checked(files, dataset)
                return _CACHE[key]
    with _LOCK:
        cached = _CACHE.get(("huggingface", dataset))
    hf = cached or _from_huggingface_cache(dataset)
    if hf is not None:
        with _LOCK:
            _CACHE[("huggingface", dataset)] = hf
        return hf
    where = ", ".join(str(d) for d in data_directories(dataset))
    raise DataUnavailableError(
        f"the {dataset} files are not on this server (looked in {where}); run `juniper-data fetch {dataset}` "
        f"there (or copy the four IDX files {', '.join(IDX_NAMES.values())} into "
        f"$JUNIPER_DATA_SOURCES_PATH/{dataset}/)"
    )


def _read_checked(files: Mapping[str, Path], dataset: str) -> Images:
    """:func:`read_idx_files`, a damaged file being the server's problem (503), not the request's."""
    from juniper_data_core.sources.idx import IdxFormatError

    try:
        return read_idx_files(files, dataset)
    except IdxFormatError as err:
        raise DataUnavailableError(
            f"{err}; run `juniper-data fetch {dataset}` again to replace the files"
        ) from None


def read_idx_files(files: Mapping[str, Path], dataset: str = "mnist") -> Images:
    """The four IDX files (by role, as :func:`find_files` gives them), checked against each
    other: images 3-D uint8 of one image shape, labels 1-D uint8 below 10, one label per image."""
    from juniper_data_core.sources.idx import IdxFormatError, read_idx

    roles = list(IDX_NAMES)

    def read_and_hash(role: str) -> tuple[np.ndarray[Any, Any], str]:
        array = read_idx(files[role])
        return array, _digest(array)

    # Inflating and hashing release the GIL: the four files are read at once.
    with ThreadPoolExecutor(len(roles)) as pool:
        done = dict(zip(roles, pool.map(read_and_hash, roles), strict=True))
    arrays = {role: done[role][0] for role in roles}
    for role, ndim in (("train_images", 3), ("test_images", 3), ("train_labels", 1), ("test_labels", 1)):
        array = arrays[role]
        if array.ndim != ndim or array.dtype != np.uint8:
            raise IdxFormatError(
                f"{files[role]}: holds {array.dtype} of shape {array.shape}; {role.replace('_', ' ')} are "
                f"{ndim}-D unsigned bytes"
            )
    for part in ("train", "test"):
        n_images, n_labels = len(arrays[f"{part}_images"]), len(arrays[f"{part}_labels"])
        if n_images != n_labels:
            raise IdxFormatError(
                f"{files[f'{part}_images']} has {n_images} images but "
                f"{files[f'{part}_labels']} {n_labels} labels"
            )
        if n_labels and int(arrays[f"{part}_labels"].max()) >= N_CLASSES:
            raise IdxFormatError(
                f"{files[f'{part}_labels']}: a label above 9 ({int(arrays[f'{part}_labels'].max())})"
            )
    if arrays["train_images"].shape[1:] != arrays["test_images"].shape[1:]:
        raise IdxFormatError(
            f"training images are {arrays['train_images'].shape[1:]} but test images "
            f"{arrays['test_images'].shape[1:]}; the four files must be of one dataset"
        )
    images = np.concatenate([arrays["train_images"], arrays["test_images"]])
    labels = np.concatenate([arrays["train_labels"], arrays["test_labels"]])
    return Images(
        images, labels, len(arrays["train_labels"]), content_id([done[role][1] for role in roles]),
        f"{dataset}/", {role: p.name for role, p in files.items()},
    )  # fmt: skip


def _digest(array: np.ndarray[Any, Any]) -> str:
    """sha256 of an array's shape and bytes."""
    sha = hashlib.sha256(json.dumps(list(array.shape)).encode())
    sha.update(np.ascontiguousarray(array).data)
    return sha.hexdigest()


def content_id(digests: list[str]) -> str:
    """``sha256:`` of the four arrays' digests (:func:`_digest`: shape and bytes), in the
    order of :data:`IDX_NAMES` (train images, train labels, test images, test labels):
    the content, however it was stored (gzipped or not, IDX or the Hugging Face cache)."""
    return "sha256:" + hashlib.sha256(json.dumps(digests).encode()).hexdigest()


def _from_huggingface_cache(dataset: str) -> Images | None:
    """The dataset from the Hugging Face cache when ``datasets`` is installed, offline mode
    is on (so nothing is fetched) and the data is there; else None."""
    if not _hf_offline_asked():
        return None
    try:
        from juniper_data_core.sources.huggingface import HuggingFaceError, load_dataset, offline

        if not offline():
            return None
        parts = [load_dataset(HF_NAMES[dataset], split=s).with_format("numpy") for s in ("train", "test")]
    except (ImportError, HuggingFaceError):
        return None
    split_images = [np.asarray(p[:]["image"], dtype=np.uint8) for p in parts]
    split_labels = [np.asarray(p[:]["label"], dtype=np.uint8) for p in parts]
    digests = [_digest(a) for pair in zip(split_images, split_labels, strict=True) for a in pair]
    return Images(
        np.concatenate(split_images), np.concatenate(split_labels), len(split_labels[0]), content_id(digests),
        f"Hugging Face cache {HF_NAMES[dataset]}",
    )  # fmt: skip


# ------------------------------------------------------------------------------ the rows


class MnistRows:
    """The :class:`~juniper_data_core.generators.base.TableRows` of an mnist recipe: table
    row ``r`` is image ``r`` of :class:`Images` (training file first)."""

    normalize = False  # a fixed scale (divide by 255), applied here; nothing fitted by the plan

    def __init__(self, p: MnistParams) -> None:
        data = load_images(p.dataset)
        self.data = data
        self.params = p
        total = len(data.labels)
        self.n_rows = total if p.n_samples is None else p.n_samples
        self.image_shape = tuple(int(s) for s in data.images.shape[1:])
        self.n_features = int(np.prod(self.image_shape))
        self.n_classes = N_CLASSES
        self.one_hot = p.one_hot_labels

    def features(self, rows: slice | npt.NDArray[np.int64]) -> FloatArray:
        pixels = self.data.images[rows]
        flat = pixels.reshape(len(pixels), self.n_features)
        X = np.empty(flat.shape, np.float32)
        if self.params.normalize:
            # One pass, bytes cast to float32 then divided (not multiplied by 1/255): the
            # correctly rounded quotient, as torchvision's ToTensor.
            np.divide(flat, np.float32(PIXEL_SCALE), out=X)
        else:
            X[...] = flat
        return X

    def labels(self, rows: slice | npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return self.data.labels[rows].astype(np.int64)

    def meta(self) -> dict[str, Any]:
        meta: dict[str, Any] = {
            "source_id": self.data.source_id,
            # File names only: the server's directories are not the client's business.
            "source": {"kind": "idx" if self.data.files else "huggingface", "files": dict(self.data.files)},
            "split": self.params.split,
            "image_shape": list(self.image_shape),
            "label_classes": LABEL_NAMES[self.params.dataset],
            "n_train_file": self.data.n_train,
        }  # fmt: skip
        if self.params.normalize:
            meta["normalization"] = {"method": "scale", "divide_by": PIXEL_SCALE, "fitted_on": None}
        return meta


TABLE = FromTable(open=MnistRows)
_DATASETS = ("mnist", "fashion_mnist")


def _missing() -> str | None:
    """How to get the files when neither dataset's are in a data directory and the Hugging
    Face cache is not consulted (its library missing, or offline mode off); else None."""
    import importlib.util

    if any(find_files(d) is not None for name in _DATASETS for d in data_directories(name)):
        return None
    if _hf_offline_asked() and importlib.util.find_spec("datasets") is not None:
        return None  # the cache may have them; a request that finds nothing gets the 503
    return (
        "no MNIST or Fashion-MNIST files here: run `juniper-data fetch mnist` (or fashion_mnist), "
        "or copy the four IDX files into $JUNIPER_DATA_SOURCES_PATH/mnist/"
    )


SPEC = GeneratorSpec(
    name="mnist",
    description="MNIST or Fashion-MNIST (70,000 28x28 images) from their IDX files in the data directory",
    params_model=MnistParams,
    shape=TABLE.shape,
    table=TABLE,
    unavailable=_missing,
)

__all__ = ["SPEC", "Images", "MnistParams", "find_files", "load_images", "read_idx_files"]
