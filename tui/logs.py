"""Errors, worker failures and alerts go to a JSON-lines log in the user state dir, never to the
screen raw. One line per record: {"time", "level", "logger", "message", ...extra, "exc"}."""

from __future__ import annotations

import json
import logging
import time
import traceback
from logging.handlers import RotatingFileHandler
from pathlib import Path

LOG_NAME = "gpuplan.jsonl"
_configured: Path | None = None


def state_dir() -> Path:
    from catalogs.files import app_dir

    return app_dir("state")


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(record.created)) + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, "data", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exc"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(entry, default=str)


def configure(path: Path | None = None) -> Path:
    """Route the `gpuplan` loggers to the rotating JSON-lines file (idempotent)."""
    global _configured
    target = path or state_dir() / LOG_NAME
    if _configured == target:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(target, maxBytes=5_000_000, backupCount=3, encoding="utf-8")
    handler.setFormatter(JsonLinesFormatter())
    root = logging.getLogger("gpuplan")
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    root.propagate = False
    _configured = target
    return target


def log_exception(where: str, exc: BaseException) -> Path:
    """Write one error record with its traceback; returns the log path for the user message."""
    try:
        path = configure()
    except OSError:
        return Path("(log unavailable)")
    logging.getLogger(f"gpuplan.{where}").error(
        "%s: %s", type(exc).__name__, exc, exc_info=(type(exc), exc, exc.__traceback__)
    )
    return path
