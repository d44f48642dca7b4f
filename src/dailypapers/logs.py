"""Logs of `dailypapers serve` and `dailypapers worker` (docs/operations.md): text for a terminal, or one JSON
object a line for a log collector (DAILYPAPERS_LOG_FORMAT=json), on stderr.

Each record carries the id of the request it was emitted for (`request_id`, set by web/observe.py for the
whole request, worker threads included) or of the job run (`job_run`, set by jobs/runtime.py), through
context variables that `ContextFilter` copies onto the record. The standard library's logging, with a
small formatter: a dependency would add nothing the dozen lines below do not.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import logging.config
import os
import re
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from typing import Any

import orjson

REQUEST_ID: ContextVar[str | None] = ContextVar("dailypapers_request_id", default=None)
JOB_RUN: ContextVar[str | None] = ContextVar("dailypapers_job_run", default=None)

MAX_REQUEST_ID = 128
# What an incoming X-Request-ID may be to be kept: UUIDs, hex and base32 ids, a proxy's `host:n` ones. Anything
# else (too long, quotes, spaces, newlines that would forge a log line) is replaced by an id of our own.
_REQUEST_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_REQUEST_ID}}}")
# Libraries that say something at INFO on every job tick or outgoing request: WARNING unless debugging.
CHATTY = ("procrastinate", "httpx", "httpcore", "sentence_transformers", "multipart", "alembic")
# A LogRecord's own attributes; anything else on a record came as `extra=` and goes into the JSON object.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


def request_id(incoming: str | None) -> str:
    """The request's id: the one a proxy or client sent in `X-Request-ID` when it is safe to log and echo,
    otherwise a fresh one (32 hex digits)."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return os.urandom(16).hex()


class ContextFilter(logging.Filter):
    """Puts the current request id and job run on each record (on the handler: records of every logger)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = REQUEST_ID.get()
        if getattr(record, "job_run", None) is None:
            record.job_run = JOB_RUN.get() or _procrastinate_run(record)
        return True


def mark_logged(exc: BaseException) -> None:
    """Say that `exc` was logged with its request's id, so that the server's own line about it is dropped."""
    with contextlib.suppress(AttributeError, TypeError):
        exc.__dailypapers_logged__ = True  # type: ignore[attr-defined]


class DropLogged(logging.Filter):
    """Drops a record about an exception already logged with its request id (uvicorn's "Exception in ASGI
    application", which comes after the request and without the id)."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not getattr(exc, "__dailypapers_logged__", False)


def _procrastinate_run(record: logging.LogRecord) -> str | None:
    """The job run a record of the job engine's is about (its `job` extra: the run's start and end)."""
    job = getattr(record, "job", None)
    if isinstance(job, dict) and job.get("task_name") and job.get("id") is not None:
        return f"{job['task_name']}#{job['id']}"
    return None


def _printable(text: str) -> str:
    """`text` with control characters escaped, so that no value can start a forged line of a text log."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger [request id]: message`, one line (a traceback follows on its own lines)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(context)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = [i for i in (getattr(record, "request_id", None), getattr(record, "job_run", None)) if i]
        record.context = f" [{' '.join(ids)}]" if ids else ""
        return super().format(record)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        record.message = _printable(record.message)
        return super().formatMessage(record)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the request id or job run, what
    the record carried as `extra` (an access line: method, route, path, status, duration_ms, cache), and
    the exception's traceback as one string."""

    def format(self, record: logging.LogRecord) -> str:
        when = dt.datetime.fromtimestamp(record.created, dt.UTC)
        out: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key != "context" and value is not None:
                out[key] = value
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        try:
            return orjson.dumps(out, default=str).decode()
        except TypeError:  # what orjson refuses (an integer past 64 bits, a key not a string)
            return json.dumps(out, default=str)


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler that writes to whatever `sys.stderr` is when a record comes, not the one it was made with:
    a test runner or a CLI runner that swaps stderr and closes its copy leaves no dead stream behind."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def dict_config(fmt: str = "text", level: str = "info", chatty: Sequence[str] = CHATTY) -> dict[str, Any]:
    """The `logging.config.dictConfig` of a process: one stderr handler on the root logger, in `fmt`, at
    `level` (the `chatty` libraries at WARNING unless debugging); uvicorn's loggers go through it too
    (`dailypapers serve` hands it to uvicorn, which applies it in every web worker process)."""
    level = level.upper()
    formatter = "dailypapers.logs.JsonFormatter" if fmt == "json" else "dailypapers.logs.TextFormatter"
    quiet = "DEBUG" if level == "DEBUG" else "WARNING"
    loggers: dict[str, Any] = {name: {"level": quiet} for name in chatty}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's own handlers, if it made any, go
        loggers[name] = {"handlers": [], "propagate": True}
    loggers["uvicorn.error"]["filters"] = ["logged"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "dailypapers.logs.ContextFilter"},
            "logged": {"()": "dailypapers.logs.DropLogged"},
        },
        "formatters": {"main": {"()": formatter}},
        "handlers": {
            "stderr": {
                "()": "dailypapers.logs.StderrHandler",
                "formatter": "main",
                "filters": ["context"],
            }
        },
        "loggers": loggers,
        "root": {"level": level, "handlers": ["stderr"]},
    }


def configure(fmt: str = "text", level: str = "info", chatty: Sequence[str] = CHATTY) -> None:
    """Set up this process's logging (see `dict_config`)."""
    logging.config.dictConfig(dict_config(fmt, level, chatty))
