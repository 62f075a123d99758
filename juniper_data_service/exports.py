"""Export jobs: a dataset written as partitioned Parquet or Arrow files by a Dask cluster.

The service connects to ``JUNIPER_DATA_DASK_SCHEDULER`` when the first export is asked
for (so it starts, and serves everything else, without a cluster), submits each export
with :func:`juniper_data_core.dask.submit_export` and keeps the job in memory by its ID.
The cluster's workers compute and write every byte; the service holds the job's futures
and, once it is over, its manifest or error: never the data. Jobs belong to this
process: a restart forgets them (their files stay, and the same export submitted again
keeps every finished file). The methods here block (they may talk to the scheduler):
routes call them off the event loop.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from juniper_data_core import Recipe
from juniper_data_core.dask import ExportJob, connect, submit_export

SCHEDULER_HINT = "JUNIPER_DATA_DASK_SCHEDULER"
#: Finished jobs kept for GET; the oldest finished are forgotten first.
MAX_JOBS = 1000
#: Seconds to wait for the scheduler when connecting.
CONNECT_SECONDS = 10.0
FINISHED = ("done", "failed", "cancelled")


class ExportsUnavailableError(Exception):
    """No cluster configured, or it cannot be reached (503)."""


@dataclass
class _Entry:
    """One job: what was asked, the running job, and its last status once it is over."""

    job: ExportJob | None
    request: dict[str, Any]
    final: dict[str, Any] | None = None
    created_at: float = field(default_factory=time.time)


class ExportJobs:
    """The export jobs of one app, and its client of the Dask scheduler (made on first use)."""

    def __init__(self, scheduler: str | None, *, max_jobs: int = MAX_JOBS) -> None:
        self.scheduler = scheduler
        self.max_jobs = max_jobs
        self._client: Any = None
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, _Entry] = OrderedDict()

    @property
    def configured(self) -> bool:
        return bool(self.scheduler)

    def check_configured(self) -> None:
        """An :class:`ExportsUnavailableError` when no scheduler is configured."""
        if not self.configured:
            raise ExportsUnavailableError(
                f"exports run on a Dask cluster and none is configured: set {SCHEDULER_HINT} to a "
                "scheduler address (tcp://host:8786) or local:N, and JUNIPER_DATA_EXPORT_ROOTS"
            )

    def _connected(self) -> Any:
        self.check_configured()
        with self._lock:
            if self._client is None:
                try:
                    self._client = connect(str(self.scheduler), timeout=CONNECT_SECONDS)
                except (OSError, ValueError) as err:
                    # The operator's setting or the cluster is at fault, not the request: 503.
                    raise ExportsUnavailableError(
                        f"cannot reach the Dask scheduler at {self.scheduler!r} ({SCHEDULER_HINT}): {err}"
                    ) from None
            return self._client

    def submit(
        self, dataset_id: str, recipe: Recipe, url: str, *, fmt: str, split: str, rows_per_file: int | None
    ) -> dict[str, Any]:
        """Start an export of ``recipe`` to ``url`` (already allowed); its status."""
        job = submit_export(self._connected(), recipe, url, fmt=fmt, split=split, rows_per_file=rows_per_file)
        request = {
            "dataset_id": dataset_id,
            "format": fmt,
            "split": split,
            "url": url,
            "rows_per_file": job.export.rows_per_file,
        }
        entry = _Entry(job, request)
        with self._lock:
            self._jobs[job.job_id] = entry
            self._forget_oldest()
        return self._describe(job.job_id, entry)

    def status(self, job_id: str) -> dict[str, Any] | None:
        """The job's status, progress and (when done) manifest; None for an unknown ID."""
        entry = self._jobs.get(job_id)
        return None if entry is None else self._describe(job_id, entry)

    def cancel(self, job_id: str) -> dict[str, Any] | None:
        """Cancel the job (nothing changes for one already over); its status."""
        entry = self._jobs.get(job_id)
        if entry is None:
            return None
        if entry.job is not None:
            entry.job.cancel()
        return self._describe(job_id, entry)

    def close(self) -> None:
        """Close the scheduler client (and a ``local:N`` cluster with it); jobs not over are cancelled."""
        with self._lock:
            client, self._client = self._client, None
            for entry in self._jobs.values():
                if entry.job is not None and entry.final is None:
                    entry.job.cancel()
        if client is not None:
            client.close()

    def _describe(self, job_id: str, entry: _Entry) -> dict[str, Any]:
        job = entry.job
        if job is None:
            # Over: the answer was kept (final is set before job is dropped).
            assert entry.final is not None
            return entry.final
        status = job.status
        progress = job.progress()
        body: dict[str, Any] = {
            "job_id": job_id,
            "status": status,
            **entry.request,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.created_at)),
            "progress": round(progress.fraction, 6),
            "files_done": progress.files_done,
            "files_total": progress.files_total,
            "rows_done": progress.rows_done,
            "rows_total": progress.rows_total,
            "manifest": None,
            "error": None,
        }
        if status == "done":
            result = job.result()
            body.update(manifest=result.manifest, files_written=len(result.written))
        elif status == "failed":
            body["error"] = job.error()
        if status in FINISHED:
            # Over: keep the answer and drop the futures, so the cluster forgets the job.
            entry.final, entry.job = body, None
        return body

    def _forget_oldest(self) -> None:
        finished = [k for k, e in self._jobs.items() if e.final is not None]
        for key in finished[: max(0, len(self._jobs) - self.max_jobs)]:
            del self._jobs[key]
