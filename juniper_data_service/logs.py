"""Logging for the service: text or JSON lines, one per request on ``juniper_data_service.access``."""

from __future__ import annotations

import json
import logging
from typing import Any

LOGGER = "juniper_data_service"
ACCESS_FIELDS = ("request_id", "method", "route", "path", "status", "ms", "client")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any access fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update({k: getattr(record, k) for k in ACCESS_FIELDS if hasattr(record, k)})
        if record.exc_info:
            doc["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def configure_logging(level: str, fmt: str) -> None:
    """Send the service's loggers to stderr in ``fmt`` (``text`` or ``json``); idempotent."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "_juniper", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._juniper = True  # type: ignore[attr-defined]
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
