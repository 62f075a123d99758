"""``/metrics``: Prometheus text with route templates, never dataset IDs."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def _samples(client: httpx.Client) -> list[tuple[str, dict[str, str], float]]:
    text = client.get("/metrics").text
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def test_metrics_parse_and_names(client: httpx.Client, spiral_id: str) -> None:
    client.get(f"/v1/datasets/{spiral_id}/artifact")
    names = {name for name, _, _ in _samples(client)}
    for name in (
        "juniper_data_http_requests_total",
        "juniper_data_http_request_duration_seconds_count",
        "juniper_data_generation_duration_seconds_count",
        "juniper_data_rows_generated_total",
        "juniper_data_artifact_bytes_total",
        "juniper_data_cache_hits_total",
        "juniper_data_cache_misses_total",
        "juniper_data_datasets_stored",
        "juniper_data_build_info",
    ):
        assert name in names, name


def test_metrics_labels_are_templates_not_ids(client: httpx.Client, spiral_id: str) -> None:
    client.get(f"/v1/datasets/{spiral_id}")
    client.get("/v1/datasets/unknown-id-123")
    samples = _samples(client)
    routes = {labels["route"] for name, labels, _ in samples if "route" in labels}
    assert "/v1/datasets/{dataset_id}" in routes
    assert not any(spiral_id in str(labels) or "unknown-id-123" in str(labels) for _, labels, _ in samples)


def test_metrics_count_artifact_bytes(client: httpx.Client, spiral_id: str) -> None:
    def npz_bytes() -> float:
        return sum(
            v
            for n, lab, v in _samples(client)
            if n == "juniper_data_artifact_bytes_total" and lab["format"] == "npz"
        )

    before = npz_bytes()
    size = len(client.get(f"/v1/datasets/{spiral_id}/artifact").content)
    assert npz_bytes() - before == size


def test_metrics_datasets_stored_gauge(client: httpx.Client, spiral_id: str) -> None:
    stored = next(v for n, _, v in _samples(client) if n == "juniper_data_datasets_stored")
    assert stored == len(client.get("/v1/datasets", params={"limit": 10_000}).json())
