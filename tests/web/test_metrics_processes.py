"""`dailypapers serve --workers 2` as an instance runs it (docs/operations.md): the two web processes count into one
directory (PROMETHEUS_MULTIPROC_DIR), so that a scrape answered by either reports every request of both; its
logs are JSON lines that carry each request's id, the caller's when it is valid, our own when it is not."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine

from dailypapers import telemetry
from dailypapers.config import Settings
from dailypapers.jobs.engine import JobSystem
from tests.support.jobs import ROOT
from tests.support.postgres import free_port
from tests.support.processes import serving
from tests.support.server import SECRET
from tests.web.test_metrics import parse, value

COUNT = "dailypapers_http_request_duration_seconds_count"


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[str, Path, Path]]:
    port, counts = free_port(), tmp_path / "metrics"
    counts.mkdir()
    env = {
        **os.environ,
        "DAILYPAPERS_DATA_DIR": str(tmp_path),
        "DAILYPAPERS_SECRET_KEY": SECRET,
        "DAILYPAPERS_JOBS": "off",
        "DAILYPAPERS_LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(counts),
    }
    env.pop("DAILYPAPERS_DATABASE_URL", None)
    with serving([port], env, tmp_path, "--workers", "2"):
        yield f"http://127.0.0.1:{port}", counts, tmp_path / f"serve{port}.log"


def _healthz_by_process(counts: Path) -> dict[str, float]:
    """Requests to /healthz each process counted in its own file."""
    found = {}
    for file in counts.glob("histogram_*.db"):
        for metric in MultiProcessCollector.merge([str(file)]):
            for s in metric.samples:
                if s.name == COUNT and s.labels.get("route") == "/healthz":
                    found[file.stem] = found.get(file.stem, 0) + s.value
    return found


def test_any_process_reports_the_requests_of_all(two_workers: tuple[str, Path, Path]) -> None:
    base, counts, log = two_workers
    sent = 0
    while len([n for n in _healthz_by_process(counts).values() if n]) < 2:  # until both processes answered some
        assert httpx.get(f"{base}/healthz").status_code == 200  # a new connection each: either process takes it
        sent += 1
        assert sent < 400, "one process took every connection"
    assert sum(_healthz_by_process(counts).values()) == sent
    for _ in range(8):  # each scrape is answered by one of the two, and reports both
        samples = parse(httpx.get(f"{base}/metrics").text)
        assert value(samples, COUNT, route="/healthz", method="GET", status="2xx") == sent

    # The logs: JSON lines; a valid X-Request-ID is kept and echoed, a hostile one replaced.
    kept = httpx.get(f"{base}/healthz", headers={"x-request-id": "trace-4f2a.17:b"})
    assert kept.headers["x-request-id"] == "trace-4f2a.17:b"
    hostile = ['evil" injected="1', "x" * 500, "a b"]
    replaced = [httpx.get(f"{base}/healthz", headers={"x-request-id": h}).headers["x-request-id"] for h in hostile]
    assert all(len(r) == 32 and r not in hostile for r in replaced)
    time.sleep(0.5)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    access = {r["request_id"]: r for r in lines if r["logger"] == "dailypapers.access"}
    line = access["trace-4f2a.17:b"]
    assert (line["method"], line["route"], line["path"], line["status"]) == ("GET", "/healthz", "/healthz", 200)
    assert isinstance(line["duration_ms"], float) and line["level"] == "INFO" and line["time"].endswith("Z")
    assert all(r in access for r in replaced)
    assert "injected" not in log.read_text() and "x" * 200 not in log.read_text()


def test_a_worker_serves_its_own_counts_and_logs_its_runs(pg: Engine, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "worker.log"
    url = pg.url.render_as_string(hide_password=False)
    env = {**os.environ, "DAILYPAPERS_DATABASE_URL": url, "DAILYPAPERS_DATA_DIR": str(tmp_path)}
    env |= {"DAILYPAPERS_LOG_FORMAT": "json", "DAILYPAPERS_METRICS_TOKEN": "worker-token"}
    env.pop(telemetry.MULTIPROC_ENV, None)
    code = f"from dailypapers.cli.main import app; app(['worker', '--metrics-port', '{port}'])"
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    settings = Settings(data_dir=tmp_path, database_url=url)
    system = JobSystem(settings, pg, worker=False, periodic=False).start()
    fixture = ROOT / "tests/fixtures/hf_papers_api/fastpaper_api_papers_2608.09888_pretty.json"
    bearer = {"authorization": "Bearer worker-token"}
    try:
        job_id = system.defer("import-file", path=str(fixture))
        assert system.wait(job_id, timeout=90) == "succeeded", log.read_text()[-3000:]
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 401
        samples = parse(httpx.get(f"http://127.0.0.1:{port}/metrics", headers=bearer).text)
    finally:
        system.stop()
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert value(samples, "dailypapers_job_runs_total", task="import-file", result="succeeded") == 1
    assert value(samples, "dailypapers_imported_papers_total", source="import-file", outcome="new") == 1
    assert value(samples, "process_cpu_seconds_total") > 0  # the worker's own process
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    runs = [r for r in lines if r.get("job_run") == f"import-file#{job_id}"]  # the engine's lines of the run
    assert {r["action"] for r in runs} >= {"start_job", "job_success"}, lines[-5:]
