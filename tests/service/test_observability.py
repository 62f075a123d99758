"""Observability on a live server: process and platform collectors, generation and
streaming histograms with bounded labels, the artifact cache's counters, and the Grafana
dashboard in docs/ querying only metrics that /metrics exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "docs" / "observability" / "grafana-dashboard.json"
Samples = list[tuple[str, dict[str, str], float]]


def samples(client: httpx.Client) -> Samples:
    text = client.get("/metrics").text
    return [(s.name, s.labels, s.value) for f in text_string_to_metric_families(text) for s in f.samples]


def value(found: Samples, name: str, **labels: str) -> float:
    return sum(v for n, lab, v in found if n == name and all(lab.get(k) == w for k, w in labels.items()))


def exercise(client: httpx.Client, generator: str = "xor", seed: int = 1) -> str:
    """A create, a cached download, a streamed range, a preview and a 404: a few of each."""
    created = client.post("/v1/datasets", json={"generator": generator, "params": {"seed": seed}})
    assert created.status_code == 201, created.text
    dataset_id = str(created.json()["dataset_id"])
    client.get(f"/v1/datasets/{dataset_id}/artifact").raise_for_status()
    client.get(
        f"/v1/datasets/{dataset_id}/artifact", params={"format": "arrow", "limit": 10}
    ).raise_for_status()
    client.get(
        f"/v1/datasets/{dataset_id}/preview.png", params={"width": 32, "height": 32}
    ).raise_for_status()
    client.get("/v1/datasets/nope-0")
    return dataset_id


def test_metrics_include_the_process_and_platform_collectors(client: httpx.Client) -> None:
    found = samples(client)
    names = {n for n, _, _ in found}
    for name in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "python_info",
        "python_gc_collections_total",
    ):
        assert name in names, name
    assert value(found, "process_resident_memory_bytes") > 10 * 2**20  # a Python with NumPy and FastAPI
    assert value(found, "process_open_fds") >= 3
    (info,) = [lab for n, lab, _ in found if n == "python_info"]
    assert info["implementation"] == "CPython"


def test_metrics_pass_promtool_when_it_is_installed(client: httpx.Client) -> None:
    # The prometheus-client parser above is the check everywhere; promtool, where present,
    # also applies Prometheus's own naming and format rules.
    promtool = shutil.which("promtool")
    text = client.get("/metrics").text
    assert list(text_string_to_metric_families(text))
    if promtool is not None:
        run = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
        problems = [line for line in (run.stdout + run.stderr).splitlines() if "error" in line.lower()]
        assert problems == []


def test_generation_and_streaming_histograms_are_labelled_by_generator_and_backend_only(
    client: httpx.Client,
) -> None:
    dataset_id = exercise(client, "moon", 21)
    found = samples(client)
    for family in ("juniper_data_generation_duration_seconds", "juniper_data_stream_duration_seconds"):
        series = [lab for n, lab, _ in found if n == f"{family}_count"]
        assert series, family
        assert all(set(lab) == {"generator", "backend"} for lab in series), series
        assert any(lab["generator"] == "moon" for lab in series)
        assert {lab["backend"] for lab in series} <= {"numpy", "numba", "jax", "cupy"}
    # No label anywhere carries a dataset ID.
    assert not any(dataset_id in json.dumps(lab) for _, lab, _ in found)
    # One more streamed range: one observation in each, its streaming time at least its
    # generation time (which leaves out the waits for the client).
    client.get(
        f"/v1/datasets/{dataset_id}/artifact", params={"format": "arrow", "limit": 20}
    ).raise_for_status()
    later = samples(client)
    delta = {
        (kind, part): value(later, f"juniper_data_{kind}_duration_seconds_{part}", generator="moon")
        - value(found, f"juniper_data_{kind}_duration_seconds_{part}", generator="moon")
        for kind in ("generation", "stream")
        for part in ("count", "sum")
    }
    assert delta["generation", "count"] == delta["stream", "count"] == 1
    assert delta["stream", "sum"] >= delta["generation", "sum"] > 0


def test_cache_hits_misses_bytes_and_evictions(start_server: Any) -> None:
    # A cache of 150 kB: each xor NPZ of 2,000 rows is 66 kB, so the third create evicts the first.
    server = start_server(cache_max_bytes=150_000)
    entries = Path(server.settings.storage_path) / "artifacts"
    with httpx.Client(base_url=server.url, timeout=60) as c:
        before = samples(c)
        assert value(before, "juniper_data_cache_max_bytes") == 150_000
        assert value(before, "juniper_data_cache_evictions_total") == 0
        ids = []
        for seed in (1, 2, 3):
            body = {"generator": "xor", "params": {"seed": seed, "n_points_per_quadrant": 500}}
            r = c.post("/v1/datasets", json=body)
            assert r.status_code == 201, r.text
            ids.append(r.json()["dataset_id"])
        filled = samples(c)
        on_disk = sorted(entries.glob("*.npz"))
        assert [p.name for p in on_disk] == sorted(f"{i}.npz" for i in ids[1:])
        assert value(filled, "juniper_data_cache_bytes") == sum(p.stat().st_size for p in on_disk)
        assert value(filled, "juniper_data_cache_evictions_total") == 1
        # The evicted NPZ has the shape of those kept, so the same size.
        assert value(filled, "juniper_data_cache_evicted_bytes_total") == on_disk[0].stat().st_size
        c.get(f"/v1/datasets/{ids[-1]}/artifact").raise_for_status()  # cached: a hit
        c.get(f"/v1/datasets/{ids[0]}/artifact").raise_for_status()  # evicted: a miss
        after = samples(c)
    assert value(after, "juniper_data_cache_hits_total") == value(filled, "juniper_data_cache_hits_total") + 1
    assert (
        value(after, "juniper_data_cache_misses_total")
        == value(filled, "juniper_data_cache_misses_total") + 1
    )


# ---- the dashboard -------------------------------------------------------------------------------

# What a PromQL query holds besides metric names.
_FUNCTIONS = re.compile(r"\b[a-z_]+\s*\(")
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_STRINGS = re.compile(r'"[^"]*"')
_KEYWORDS = {"by", "without", "on", "ignoring", "and", "or", "unless", "bool", "offset"}


def metric_names(query: str) -> set[str]:
    """The metric names a PromQL query (or a Grafana ``label_values(metric, label)``) reads."""
    label_values = re.fullmatch(r"\s*label_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)\s*", query)
    if label_values:
        return {label_values.group(1)}
    text = _STRINGS.sub(" ", _MATCHERS.sub(" ", _RANGES.sub(" ", query)))
    text = _FUNCTIONS.sub(" ( ", _GROUPING.sub(" ", text))
    names = set(re.findall(r"(?<![\w.$])[a-zA-Z_:][\w:]*", text))
    return names - _KEYWORDS


def dashboard_queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries += [v["query"] for v in dashboard["templating"]["list"] if v["type"] == "query"]
    return queries


def test_metric_names_reads_names_not_functions_or_labels() -> None:
    # Guards the scan: were it to miss names, every dashboard would pass.
    q = 'histogram_quantile(0.95, sum by (le, route) (rate(a_seconds_bucket{job=~"$job", x="y z"}[5m])))'
    assert metric_names(q) == {"a_seconds_bucket"}
    ratio = "sum(rate(a_total[1m])) / (sum(rate(b_total[1m])) + c)"
    assert metric_names(ratio) == {"a_total", "b_total", "c"}
    assert metric_names("label_values(juniper_data_build_info, job)") == {"juniper_data_build_info"}


def test_every_dashboard_query_names_a_metric_the_service_exports(client: httpx.Client) -> None:
    exercise(client)
    exported = {n for n, _, _ in samples(client)}
    queries = dashboard_queries()
    assert len(queries) >= 20
    used = set().union(*(metric_names(q) for q in queries))
    assert {"process_cpu_seconds_total", "juniper_data_stream_duration_seconds_bucket"} <= used
    assert sorted(used - exported) == []


def test_dashboard_panels_have_unique_ids_and_use_the_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for p in dashboard["panels"]:
        for t in p.get("targets", []):
            assert t["datasource"]["uid"] == "${datasource}"


def test_compose_observability_profile_scrapes_the_service() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML parses compose.yaml (test extra)")
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    prometheus = compose["services"]["prometheus"]
    assert prometheus["profiles"] == ["observability"]
    config_mount = next(v for v in prometheus["volumes"] if v.endswith(":/etc/prometheus/prometheus.yml:ro"))
    config = yaml.safe_load((ROOT / config_mount.split(":")[0]).read_text())
    (job,) = config["scrape_configs"]
    assert job["metrics_path"] == "/metrics"
    assert job["static_configs"][0]["targets"] == ["juniper-data:8100"]
    grafana = compose["services"]["grafana"]
    assert grafana["profiles"] == ["observability"]
    mounted = {v.split(":")[0] for v in grafana["volumes"]}
    assert "./docs/observability/grafana-dashboard.json" in mounted
    assert all((ROOT / m).exists() for m in mounted)
