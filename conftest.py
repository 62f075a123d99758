"""Test-run policy for the whole repository (tests/ and benchmarks/).

With ``JUNIPER_DATA_TEST_STRICT=1`` (CI sets it), a skipped test fails unless its reason is
a missing GPU: a CPU backend, pyarrow, the service, a server or a library that did not get
installed cannot hide behind a skip.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

#: Words of the skip reasons that may stand in a strict run: those of absent GPUs.
ALLOWED_SKIPS = ("GPU", "cupy")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome: Any = yield
    report = outcome.get_result()
    if os.environ.get("JUNIPER_DATA_TEST_STRICT", "").strip() not in ("1", "true", "yes"):
        return
    if report.skipped and not hasattr(report, "wasxfail"):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else str(report.longrepr)
        if not any(word in reason for word in ALLOWED_SKIPS):
            report.outcome = "failed"
            report.longrepr = f"skipped in a strict run (JUNIPER_DATA_TEST_STRICT=1): {reason}"
