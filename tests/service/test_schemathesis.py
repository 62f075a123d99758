"""Schemathesis over the service's own OpenAPI document, every check, every operation.

Bounded to fit CI: a fixed seed (derandomised), a few dozen examples per operation, on a
server whose budgets keep fuzzed datasets small (a generated request may ask for 1e8 rows;
the budget then answers 422, as documented, instead of generating them).

One check is told more than its defaults: a request that fits the schema may still be
refused with a documented 400 (params the engine validates per generator and version,
which the schema's free ``params`` object cannot express: ``{"n_spirals": 99}``, moon at
version 1.0.0) or 422 (a size past the budgets). And a 503 is what the contract asks of a
route whose back end is not configured (exports without a Dask scheduler), not a fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.service.conftest import LiveServer

EXAMPLES = 30


@pytest.fixture(scope="module")
def api_schema(start_server: Callable[..., Any]) -> Any:
    server: LiveServer = start_server(max_rows=20_000, max_bytes=4 << 20, backend="numpy")
    accepted = ["2xx", "3xx", "400", "401", "404", "409", "422", "429", "503"]
    checks = {
        "positive_data_acceptance": {"expected-statuses": accepted},
        "not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "503"]},
    }
    config = SchemathesisConfig.from_dict({"checks": checks})
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_conforms(case: Any) -> None:
    case.call_and_validate()
