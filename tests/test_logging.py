"""Logs (dailypapers/logs.py, docs/operations.md): JSON lines or text, each record carrying the id of the request
(from a valid X-Request-ID, or our own) or the job run it was emitted for, even from a worker thread; no value
can forge a line."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from dailypapers import logs
from dailypapers.config import Settings
from dailypapers.jobs.runtime import Context, Job, logged
from dailypapers.store.db import make_engine, migrate
from dailypapers.web.app import create_app


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """JSON lines of the `dailypapers` loggers (the access log included), at INFO."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    logger = logging.getLogger("dailypapers")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def records(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


@pytest.mark.parametrize("given", ["0af7651916cd43dd8448eb211c80319c", "req-42", "host:1234.5", "A_b-c.d:e"])
def test_a_valid_request_id_is_kept(given: str) -> None:
    assert logs.request_id(given) == given


@pytest.mark.parametrize("given", [None, "", "x" * 129, "a\nb", 'a"b', "a b", "é", "a;b", "<script>", "a\x00"])
def test_any_other_request_id_is_replaced(given: str | None) -> None:
    made = logs.request_id(given)
    assert made != given and len(made) == 32 and int(made, 16) >= 0


def test_json_lines_carry_the_request_id_of_each_request(sqlite: Engine, tmp_path: Path, captured: io.StringIO) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=str(sqlite.url)), sqlite, background=False)

    @app.get("/log-something")
    def log_something() -> dict[str, str]:  # a plain def: it runs in a worker thread
        logging.getLogger("dailypapers.test").warning("inside %s", "the handler")
        return {"ok": "yes"}

    client = TestClient(app)
    answered = client.get("/log-something", headers={"x-request-id": "abc-123"})
    assert answered.headers["x-request-id"] == "abc-123"
    hostile = client.get("/log-something", headers={"x-request-id": 'x" forged="1'})
    replaced = hostile.headers["x-request-id"]
    assert replaced != 'x" forged="1' and len(replaced) == 32
    lines = records(captured)
    inside = [r for r in lines if r["logger"] == "dailypapers.test"]
    assert [r["request_id"] for r in inside] == ["abc-123", replaced]
    assert inside[0]["message"] == "inside the handler" and inside[0]["level"] == "WARNING"
    access = [r for r in lines if r["logger"] == "dailypapers.access"]
    assert [r["request_id"] for r in access] == ["abc-123", replaced]
    first = access[0]
    assert (first["method"], first["route"], first["path"], first["status"]) == (
        "GET",
        "/log-something",
        "/log-something",
        200,
    )
    assert isinstance(first["duration_ms"], float) and str(first["time"]).endswith("Z")
    assert "forged" not in captured.getvalue()
    assert logs.REQUEST_ID.get() is None  # nothing leaks out of the request


def test_a_job_runs_logs_name_the_run(sqlite: Engine, tmp_path: Path, captured: io.StringIO) -> None:
    def body(ctx: Context, progress: object) -> None:
        logging.getLogger("dailypapers.test").info("working")

    run = logged(Job("test-job", "logs a line", body), Context(sqlite, Settings(data_dir=tmp_path)))
    job = SimpleNamespace(id=77, attempts=0, task_kwargs={})
    run(SimpleNamespace(job=job, worker_name="test"))
    (line,) = [r for r in records(captured) if r["logger"] == "dailypapers.test"]
    assert line["job_run"] == "test-job#77" and "request_id" not in line
    assert logs.JOB_RUN.get() is None


def test_text_lines_cannot_be_forged_and_show_the_request() -> None:
    formatter = logs.TextFormatter()
    record = logging.LogRecord("dailypapers.x", logging.INFO, __file__, 1, "path %s", ("/a\nFAKE ERROR line",), None)
    record.request_id = "req-1"
    line = formatter.format(record)
    assert "\n" not in line and "[req-1]" in line and "/a\\nFAKE ERROR line" in line


def test_json_lines_hold_the_exception_and_the_extras() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    record.status, record.big = 500, 1 << 70
    out = json.loads(logs.JsonFormatter().format(record))
    assert out["status"] == 500 and "ValueError: boom" in out["exception"] and out["big"] == 1 << 70


def test_configure_sets_up_the_process() -> None:
    code = (
        "import logging; from dailypapers import logs; logs.configure('json', 'info');"
        "logging.getLogger('dailypapers.x').info('hello'); logging.getLogger('procrastinate').info('tick');"
        "logging.getLogger('uvicorn.error').warning('up')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    lines = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(r["logger"], r["message"]) for r in lines] == [("dailypapers.x", "hello"), ("uvicorn.error", "up")]


def test_an_unhandled_error_is_logged_with_its_id(sqlite: Engine, tmp_path: Path, captured: io.StringIO) -> None:
    app = create_app(Settings(data_dir=tmp_path, database_url=str(sqlite.url)), sqlite, background=False)

    @app.get("/broken")
    def broken() -> None:
        raise RuntimeError("a bug")

    answered = TestClient(app, raise_server_exceptions=False).get("/broken", headers={"x-request-id": "bug-1"})
    assert answered.status_code == 500 and answered.headers["x-request-id"] == "bug-1"
    lines = records(captured)
    (error,) = [r for r in lines if r["level"] == "ERROR"]
    assert error["request_id"] == "bug-1" and "RuntimeError: a bug" in str(error["exception"])
    (access,) = [r for r in lines if r["logger"] == "dailypapers.access"]
    assert (access["status"], access["route"], access["request_id"]) == (500, "/broken", "bug-1")
    with pytest.raises(RuntimeError) as raised:  # raised on, for the server (and tests) to see
        TestClient(app).get("/broken")
    server_line = logging.LogRecord("uvicorn.error", logging.ERROR, "", 1, "Exception in ASGI application\n", (), None)
    server_line.exc_info = (RuntimeError, raised.value, None)
    assert not logs.DropLogged().filter(server_line)  # the server's own line, without the id, is dropped
    server_line.exc_info = (RuntimeError, RuntimeError("elsewhere"), None)
    assert logs.DropLogged().filter(server_line)


def test_the_handler_writes_to_the_stderr_of_the_moment(monkeypatch: pytest.MonkeyPatch) -> None:
    # A CLI runner swaps stderr, then closes its copy: records afterwards go to the real one, with no error.
    logs.configure("json", "info")
    try:
        swapped = io.StringIO()
        monkeypatch.setattr(sys, "stderr", swapped)
        logging.getLogger("dailypapers.test").warning("while swapped")
        assert json.loads(swapped.getvalue())["message"] == "while swapped"
        swapped.close()
        monkeypatch.undo()
        after = io.StringIO()
        monkeypatch.setattr(sys, "stderr", after)
        logging.getLogger("dailypapers.test").warning("after")
        assert json.loads(after.getvalue())["message"] == "after"
    finally:
        monkeypatch.undo()
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
