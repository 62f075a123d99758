"""A generator defined here, in a test module, and registered with one call runs on every
backend present, is written as NPZ and Arrow, and is served by the service: adding a
generator touches nothing outside its own definition (docs/architecture.md).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from typing import Any, NamedTuple

import httpx
import numpy as np
import pyarrow as pa
import pytest
from pydantic import Field

import juniper_data_core as jd
from juniper_data_core.generators import unregister
from juniper_data_core.generators.base import GeneratorSpec, Shape, SplitParams
from juniper_data_core.generators.kernel import Kernel
from juniper_data_core.rng import stream_key, threefry2x32, uniform
from tests.service.conftest import LiveServer

# ---- the whole definition of the toy generator -----------------------------------


class PinwheelParams(SplitParams):
    """A pinwheel: ``n_blades`` blades of ``n_per_blade`` points; blade ``k`` is class ``k``."""

    n_per_blade: int = Field(default=40, ge=1, description="Points in each blade")
    n_blades: int = Field(default=3, ge=2, le=6, description="Blades (classes)")


class PinwheelConsts(NamedTuple):
    k0: np.uint32
    k1: np.uint32
    m: np.int64
    blades: np.float32


def _label(xp: Any, i: Any, c: Any) -> Any:
    return xp.i32(i // c.m)


def _point(xp: Any, i: Any, c: Any) -> tuple[Any, Any]:
    lo, hi = xp.counter(i)
    a, b = threefry2x32(c.k0, c.k1, lo, hi)
    r = uniform(xp, a)
    # Blade k covers the turns [k / B, k / B + 1/8); brought into [-1/2, 1/2) for cos and sin.
    turns = xp.f32(i // c.m) / c.blades + xp.float32(0.125) * uniform(xp, b)
    t = xp.float32(2 * math.pi) * (turns - xp.floor(turns + xp.float32(0.5)))
    return r * xp.cos(t), r * xp.sin(t)


def _build(p: PinwheelParams) -> tuple[Kernel, PinwheelConsts]:
    k0, k1 = stream_key(p.rng_seed, 0)
    consts = PinwheelConsts(np.uint32(k0), np.uint32(k1), np.int64(p.n_per_blade), np.float32(p.n_blades))
    return Kernel("pinwheel-test", label=_label, point=_point), consts


PINWHEEL = GeneratorSpec(
    name="pinwheel",
    description="A pinwheel of blades, one class per blade (a test's own generator)",
    params_model=PinwheelParams,
    shape=lambda p: Shape(p.n_blades * p.n_per_blade, 2, p.n_blades),
    build=_build,
    sized=lambda p, n: {"n_per_blade": max(1, n // p.get("n_blades", 3))},
)

# ---- the tests ---------------------------------------------------------------------

PARAMS = {"n_per_blade": 700, "n_blades": 4, "seed": 5}


@pytest.fixture(scope="module", autouse=True)
def registered() -> Iterator[None]:
    jd.register_generator(PINWHEEL)  # the one registration call
    yield
    unregister("pinwheel")


def assert_pinwheel(X: np.ndarray, y: np.ndarray, n_blades: int) -> None:
    """Every point inside the unit disc and in its class's blade."""
    labels = np.argmax(y, axis=1)
    np.testing.assert_array_equal(y.sum(axis=1), 1.0)
    assert np.all(np.hypot(X[:, 0], X[:, 1]) <= 1.0 + 1e-6)
    turns = np.mod(np.arctan2(X[:, 1], X[:, 0]) / (2 * np.pi), 1.0)
    offset = np.mod(turns - labels / n_blades + 1e-6, 1.0)
    assert np.all(offset < 0.125 + 2e-6), "a point lies outside its blade"


def test_registered_generator_is_in_the_catalog() -> None:
    info = jd.generator_catalog()["pinwheel"]
    assert info["versions"] == ["2.0.0"] and info["default_version"] == "2.0.0"
    assert set(info["schema"]["properties"]) >= {"n_per_blade", "n_blades", "seed"}
    with pytest.raises(jd.UnknownGeneratorError, match=r"no version '1\.0\.0'"):
        jd.recipe("pinwheel", PARAMS, version="1.0.0")


def test_generates_on_every_backend(backend: str) -> None:
    ds = jd.generate("pinwheel", PARAMS, backend=backend)
    ref = jd.generate("pinwheel", PARAMS, backend="numpy").arrays
    assert ds.meta["backend"] == backend and ds.meta["class_distribution"] == {str(k): 700 for k in range(4)}
    for split in jd.SPLITS:
        X, y = ds.arrays[f"X_{split}"], ds.arrays[f"y_{split}"]
        assert_pinwheel(X, y, 4)
        np.testing.assert_array_equal(y, ref[f"y_{split}"])
        np.testing.assert_allclose(X, ref[f"X_{split}"], rtol=0, atol=4 * np.spacing(np.float32(1)))
    X, y = jd.generate_rows("pinwheel", PARAMS, split="test", start=10, stop=25, backend=backend)
    np.testing.assert_array_equal(X, ds.arrays["X_test"][10:25])
    np.testing.assert_array_equal(y, ds.arrays["y_test"][10:25])


def test_written_as_npz_and_arrow() -> None:
    r = jd.recipe("pinwheel", PARAMS)
    ds = jd.generate(r, backend="numpy")
    npz = io.BytesIO()
    jd.write_npz(r, npz, backend="numpy")
    with np.load(io.BytesIO(npz.getvalue()), allow_pickle=False) as loaded:
        for name in jd.ARRAY_NAMES:
            np.testing.assert_array_equal(loaded[name], ds.arrays[name])
    arrow = io.BytesIO()
    jd.write_arrow(r, arrow, split="train", backend="numpy")
    table = pa.ipc.open_stream(arrow.getvalue()).read_all()
    assert table.schema.metadata[b"generator"] == b"pinwheel"
    X = np.asarray(table.column("X").combine_chunks().flatten()).reshape(-1, 2)
    np.testing.assert_array_equal(X, ds.arrays["X_train"])


@pytest.fixture(scope="module")
def pinwheel_server(start_server: Any) -> LiveServer:
    server: LiveServer = start_server()
    return server


def test_served_by_the_service(pinwheel_server: LiveServer) -> None:
    with httpx.Client(base_url=pinwheel_server.url, timeout=60) as client:
        listed = {g["name"]: g for g in client.get("/v1/generators").json()}
        assert "n_blades" in listed["pinwheel"]["schema"]["properties"]
        assert client.get("/v1/generators/pinwheel/schema").status_code == 200
        created = client.post("/v1/datasets", json={"generator": "pinwheel", "params": PARAMS})
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["dataset_id"] == jd.recipe("pinwheel", PARAMS).dataset_id
        assert body["meta"]["n_classes"] == 4 and body["meta"]["n_samples"] == 2800
        ds = jd.generate("pinwheel", PARAMS, backend="numpy")
        npz = client.get(f"/v1/datasets/{body['dataset_id']}/artifact")
        with np.load(io.BytesIO(npz.content), allow_pickle=False) as loaded:
            for name in jd.ARRAY_NAMES:
                np.testing.assert_array_equal(loaded[name], ds.arrays[name])
        arrow = client.get(f"/v1/datasets/{body['dataset_id']}/artifact", params={"format": "arrow"})
        table = pa.ipc.open_stream(arrow.content).read_all()
        np.testing.assert_array_equal(
            np.asarray(table.column("label")), np.argmax(ds.arrays["y_full"], axis=1)
        )
        bad = client.post("/v1/datasets", json={"generator": "pinwheel", "params": {"n_blades": 9}})
        assert bad.status_code == 400 and "n_blades" in bad.text
