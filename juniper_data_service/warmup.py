"""Compiling the generators' Numba kernels when the service starts, not in a request.

Numba compiles each generator's loops on their first call in a process: about 4-6 s
for the first generator (the RNG and the permutation are compiled with it) and a few
seconds for each one after, about 25 s for all six on the 2-core machine of
``docs/benchmarks.md``, several times that when the machine is busy. Left to requests,
the first create or download on Numba waits that long, and a client counting requests
over a few seconds (Cascor's create-and-download loop) sees almost none. So the app
compiles them in a background thread at start-up, spiral (Cascor's) first, and
readiness reports the progress as the ``kernels`` dependency.

The price: while it runs, the compilation competes with requests for the CPU and the
GIL, and the compiled kernels of all six generators stay resident (about 70 MB more
than spiral's alone). ``JUNIPER_DATA_WARM_KERNELS=false`` turns it off. The compiled
loops are kept in Numba's on-disk cache (see the README),
so a later start on the same machine loads them in about a second instead.

Only Numba is warmed: NumPy compiles nothing, and JAX compiles per array shape, so a
warm-up with a small dataset would not cover the shapes of real requests.
"""

from __future__ import annotations

import logging
import threading
import time

import juniper_data_core as jd
from juniper_data_service.logs import LOGGER
from juniper_data_service.schemas import DependencyHealth

log = logging.getLogger(f"{LOGGER}.warmup")
#: Rows large enough that ``auto`` picks what it picks for real downloads.
_LARGE_ROWS = 10**9
_FIRST = "spiral"


def compiled_backend(setting: str) -> str | None:
    """The backend large work resolves to under ``setting`` when it compiles kernels (Numba),
    else None."""
    try:
        name = jd.backend_for(jd.recipe(_FIRST, {"seed": 0}), setting, n_rows=_LARGE_ROWS)
    except jd.BackendUnavailableError:
        return None
    return name if name == "numba" else None


class KernelWarmup:
    """Compiles every available generator's kernels in a daemon thread, when the backend
    that ``setting`` picks for large work is Numba.

    A daemon thread, not the app's thread pool, so that stopping the service never waits
    for a compilation (which cannot be interrupted). Requests that need a kernel being
    compiled wait for Numba's compiler lock and then use it; nothing is compiled twice.
    """

    def __init__(self, setting: str | None) -> None:
        self.setting = setting
        self.backend: str | None = None
        self.warmed: list[str] = []
        self.error: str | None = None
        self.seconds = 0.0
        self._finished = threading.Event()
        self._started = False
        if setting is None:
            self._finished.set()

    @property
    def finished(self) -> bool:
        return self._finished.is_set()

    def start(self) -> None:
        if not self.finished and not self._started:
            self._started = True
            threading.Thread(target=self._run, name="juniper-data-warmup", daemon=True).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the warm-up has finished (or failed); False on timeout."""
        return self._finished.wait(timeout)

    def _run(self) -> None:
        t0 = time.perf_counter()
        try:
            self.backend = compiled_backend(str(self.setting))
            if self.backend is None:
                return
            # Generators from sources read rows; they have no kernels to compile.
            catalog = jd.generator_catalog().items()
            available = [name for name, info in catalog if info["available"] and not info["from_source"]]
            for name in sorted(available, key=lambda name: name != _FIRST):
                jd.generate(jd.recipe(name, {"seed": 0}), backend=self.backend)
                self.warmed.append(name)
            seconds = time.perf_counter() - t0
            log.info("%s kernels of %s compiled in %.1f s", self.backend, ", ".join(self.warmed), seconds)
        except Exception as err:  # noqa: BLE001 - requests still work; they compile on first use
            self.error = f"{type(err).__name__}: {err}"
            log.warning("warming the %s kernels failed: %s", self.backend, self.error)
        finally:
            self.seconds = time.perf_counter() - t0
            self._finished.set()

    def health(self) -> DependencyHealth:
        """The ``kernels`` entry of readiness: ``warming`` until done, then ``healthy``
        (``unhealthy`` if compiling failed; requests then compile on first use)."""
        done = ", ".join(self.warmed) or "none"
        if not self.finished:
            message = f"{self.backend or self.setting}: compiling; done: {done}"
            return DependencyHealth(status="warming", latency_ms=None, message=message)
        if self.error is not None:
            return DependencyHealth(status="unhealthy", latency_ms=None, message=self.error)
        if self.backend is None:
            return DependencyHealth(status="healthy", latency_ms=None, message="no compiled backend to warm")
        message = f"{self.backend}: {done} compiled in {self.seconds:.1f} s"
        return DependencyHealth(status="healthy", latency_ms=None, message=message)
