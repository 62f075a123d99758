"""The eager bound of docs/api.md: a dataset whose full NPZ is at most 32 MiB is generated when
created (its checksum is known at once); one byte-step larger, when first downloaded (found by
mutation testing, docs/testing.md)."""

from __future__ import annotations

import httpx

import juniper_data_core as jd
from juniper_data_core.formats import npz_nbytes

BOUND = 32 * 2**20  # docs/api.md, "Datasets whose full NPZ is at most 32 MiB"


def _params(q: int) -> dict[str, int]:
    return {"n_points_per_quadrant": q, "seed": 31_337}


def _largest_eager() -> int:
    """The most points per quadrant whose full NPZ fits the bound (sizes known without generating)."""
    lo, hi = 1, 1 << 20
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if npz_nbytes(jd.recipe("xor", _params(mid))) <= BOUND else (lo, mid - 1)
    return lo


def test_datasets_up_to_32_mib_are_generated_when_created(client: httpx.Client) -> None:
    q = _largest_eager()
    assert npz_nbytes(jd.recipe("xor", _params(q + 1))) > BOUND
    at = client.post("/v1/datasets", json={"generator": "xor", "params": _params(q), "persist": False})
    past = client.post("/v1/datasets", json={"generator": "xor", "params": _params(q + 1), "persist": False})
    assert at.status_code == past.status_code == 201
    assert at.json()["meta"]["checksum"] is not None  # generated: the full NPZ's sha256 is known
    assert past.json()["meta"]["checksum"] is None  # not yet generated
