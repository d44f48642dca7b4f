"""`/metrics` (web/metrics.py, web/observe.py, docs/operations.md): requests counted by route template (never a raw
path or id), cache hits before routing counted under their page's route, search latency by mode, the queue's
gauges read from the database on both backends; who may read it (a token, the metrics port, this machine);
the Grafana dashboard asks only for metrics the app exports."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine
from starlette.testclient import TestClient

from dailypapers import telemetry
from dailypapers.cli import serving
from dailypapers.config import Settings
from dailypapers.jobs.engine import JobSystem
from dailypapers.web.app import create_app
from dailypapers.web.metrics import StoreCollector
from tests.support.postgres import free_port

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ("127.0.0.1", 50000)
TOKEN = "metrics-token-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def scrape(client: TestClient, **headers: str) -> tuple[Samples, str]:
    r = client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return parse(r.text), r.text


@pytest.fixture
def settings(demo_engine: Engine, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=demo_engine.url.render_as_string(hide_password=False))


@pytest.fixture
def client(demo_engine: Engine, settings: Settings) -> TestClient:
    return TestClient(create_app(settings, demo_engine, background=False), client=LOCAL)


def test_requests_are_counted_by_route_template_and_cache_hits_under_their_route(client: TestClient) -> None:
    paper_id = client.get("/api/daily_papers?limit=1").json()[0]["paper"]["id"]
    before, _ = scrape(client)
    assert client.get(f"/papers/{paper_id}").status_code == 200  # rendered: a miss
    hit = client.get(f"/papers/{paper_id}")  # answered before routing (web/front.py)
    assert hit.status_code == 200 and hit.headers["x-request-id"]
    assert client.get("/papers/9999.99999").status_code == 404
    assert client.get("/no/such/page/4242").status_code == 404
    assert client.head("/trending").status_code == 200
    after, text = scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    http = "dailypapers_http_request_duration_seconds_count"
    assert moved(http, route="/papers/{paper_id}", method="GET", status="2xx") == 2
    assert moved(http, route="/papers/{paper_id}", method="GET", status="4xx") == 1
    assert moved(http, route="unmatched", method="GET", status="4xx") == 1
    assert moved(http, route="/trending", method="HEAD", status="2xx") == 1
    assert moved(http, route="/metrics", method="GET", status="2xx") == 1  # the first scrape
    cache = "dailypapers_page_cache_lookups_total"
    assert moved(cache, result="hit", layer="front") == 1
    assert moved(cache, result="miss", layer="route") >= 2  # the paper page, its 404, /trending
    # Latency buckets are there for a p95; no label holds a path or an id.
    assert value(after, "dailypapers_http_request_duration_seconds_bucket", route="/papers/{paper_id}", le="+Inf")
    # (in names and labels: a sample's value, e.g. a duration of 0.1067742420 s, may hold any digits)
    labelled = "\n".join(line.rsplit(" ", 1)[0] for line in text.splitlines() if not line.startswith("#"))
    for raw in (paper_id, "9999.99999", "/no/such/page", "4242"):
        assert raw not in labelled
    routes = {dict(labels).get("route") for name, labels in after if name == http}
    assert all(r == "unmatched" or r.startswith("/") for r in routes)
    # The database's gauges: the demo's papers, all embedded; the database answered.
    assert value(after, "dailypapers_papers") > 100
    assert value(after, "dailypapers_paper_embeddings") == value(after, "dailypapers_papers")
    assert value(after, "dailypapers_database_up") == 1


def test_search_latency_by_mode(client: TestClient) -> None:
    before, _ = scrape(client)
    assert client.get("/search?q=transformer&mode=keyword").status_code == 200
    assert client.get("/api/papers/search?q=attention&mode=keyword").status_code == 200
    after, _ = scrape(client)
    name = "dailypapers_search_duration_seconds_count"
    assert value(after, name, mode="keyword") - value(before, name, mode="keyword") == 2
    assert value(after, name, mode="semantic") == value(before, name, mode="semantic")


def test_who_may_read_the_metrics(demo_engine: Engine, settings: Settings) -> None:
    def client_of(s: Settings, where: tuple[str, int]) -> TestClient:
        return TestClient(create_app(s, demo_engine, background=False), client=where)

    # By default: a client on this machine, not through a proxy.
    assert client_of(settings, LOCAL).get("/metrics").status_code == 200
    assert client_of(settings, ("203.0.113.9", 4000)).get("/metrics").status_code == 404
    proxied = client_of(settings, LOCAL).get("/metrics", headers={"x-forwarded-for": "203.0.113.9"})
    assert proxied.status_code == 404  # a proxy on this machine makes every visitor look local
    # With a token: anyone bearing it, no one else, from anywhere.
    tokened = client_of(dataclasses.replace(settings, metrics_token=TOKEN), ("203.0.113.9", 4000))
    refused = tokened.get("/metrics")
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert tokened.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 401
    assert tokened.get("/metrics", headers={"authorization": TOKEN}).status_code == 401
    assert tokened.get("/metrics", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert tokened.get("/metrics", headers={"authorization": f"bearer {TOKEN}"}).status_code == 200
    # With a metrics port: never on the site's port.
    ported = client_of(dataclasses.replace(settings, metrics_port=9464), LOCAL)
    assert ported.get("/metrics").status_code == 404
    assert ported.get("/healthz").status_code == 200


def test_the_metrics_port_serves_the_database_gauges_and_asks_for_the_token(settings: Settings) -> None:
    port = free_port()
    with serving.metrics_port(dataclasses.replace(settings, metrics_port=port, metrics_token=TOKEN)) as served:
        assert served == port
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/metrics").status_code == 401
        assert httpx.get(f"{base}/", headers={"authorization": f"Bearer {TOKEN}"}).status_code == 404
        r = httpx.get(f"{base}/metrics", headers={"authorization": f"Bearer {TOKEN}"})
        assert r.status_code == 200
        samples = parse(r.text)
        assert value(samples, "dailypapers_papers") > 100 and value(samples, "dailypapers_database_up") == 1
        assert ("dailypapers_page_cache_lookups_total", frozenset({("result", "hit"), ("layer", "front")})) in samples
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{base}/metrics", timeout=2)


def test_several_web_processes_count_into_one_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(telemetry.MULTIPROC_ENV, raising=False)
    with serving.multiprocess_dir(1) as none:
        assert none is None and telemetry.MULTIPROC_ENV not in os.environ
    with serving.multiprocess_dir(3) as made:
        assert made and Path(made).is_dir()
        assert os.environ[telemetry.MULTIPROC_ENV] == made
    assert not Path(made).exists() and telemetry.MULTIPROC_ENV not in os.environ


@pytest.fixture
def queued(engine: Engine, tmp_path: Path) -> Iterator[tuple[Settings, JobSystem]]:
    settings = Settings(data_dir=tmp_path, database_url=engine.url.render_as_string(hide_password=False))
    system = JobSystem(settings, engine, worker=False, periodic=False).start()
    try:
        yield settings, system
    finally:
        system.stop()


def test_the_queue_gauges_on_both_databases(engine: Engine, queued: tuple[Settings, JobSystem]) -> None:
    settings, system = queued
    system.defer("import-file", path="/nonexistent/a.jsonl")
    system.defer("import-file", path="/nonexistent/b.jsonl")
    collector = StoreCollector(engine, settings, system.queue_stats)
    samples = parse(telemetry.render(collector).decode())
    assert value(samples, "dailypapers_jobs", task="import-file", status="queued") == 2
    assert value(samples, "dailypapers_jobs", status="running") == 0
    assert value(samples, "dailypapers_jobs", task="send-digests", status="failed") == 0  # every job is listed
    assert 0 <= value(samples, "dailypapers_jobs_oldest_queued_age_seconds") < 60
    if not settings.is_sqlite:
        assert value(samples, "dailypapers_job_workers") == 0  # none runs here
    assert value(samples, "dailypapers_database_up") == 1


METRIC_NAME = re.compile(r"\bdailypapers_[a-zA-Z0-9_]+")


def test_the_dashboard_asks_only_for_exported_metrics(client: TestClient) -> None:
    dashboard = json.loads((ROOT / "docs/grafana-dashboard.json").read_text())
    assert dashboard["schemaVersion"] >= 30 and dashboard["panels"]
    _, text = scrape(client)
    exported: set[str] = set()
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}
    for family in text_string_to_metric_families(text):
        exported.update(family.name + suffix for suffix in suffixes.get(family.type, ("",)))
        exported.update(s.name for s in family.samples)
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 20
    for expr in exprs:
        names = set(METRIC_NAME.findall(expr))
        assert names, expr
        assert names <= exported, f"{expr}: {names - exported} not exported"
    used = {n for e in exprs for n in METRIC_NAME.findall(e)}
    for wanted in ("dailypapers_jobs", "dailypapers_digests_total", "dailypapers_embedded_papers_total"):
        assert wanted in used


def test_jobs_imports_and_embeddings_are_counted(tmp_path: Path) -> None:
    from prometheus_client import REGISTRY

    from dailypapers.search.backlog import embed_pending
    from dailypapers.store.db import make_engine, migrate
    from tests.support.jobs import run_job
    from tests.support.semantic import PAPERS, HashEmbedder, add_papers

    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate(engine)
    before = parse(telemetry.render(REGISTRY).decode())
    fixture = ROOT / "tests/fixtures/hf_papers_api/fastpaper_api_papers_2608.09888_pretty.json"
    settings = Settings(data_dir=tmp_path, database_url=str(engine.url))
    assert run_job(engine, settings, "import-file", path=str(fixture))[0] == "succeeded"
    # On a database of its own: SQLite's in-memory queue numbers jobs from 1 again in each job system, and
    # a wait on job 1 here could read the first run's record in the job log.
    other = make_engine(f"sqlite:///{tmp_path / 'other.sqlite'}")
    migrate(other)
    missing = str(tmp_path / "missing.json")
    other_settings = Settings(data_dir=tmp_path / "other", database_url=str(other.url))
    assert run_job(other, other_settings, "import-file", path=missing)[0] in ("failed", "retrying")
    other.dispose()
    add_papers(engine, PAPERS)
    embedded = embed_pending(engine, HashEmbedder()).embedded  # type: ignore[arg-type]
    after = parse(telemetry.render(REGISTRY).decode())
    engine.dispose()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("dailypapers_imported_papers_total", source="import-file", outcome="new") == 1
    assert moved("dailypapers_job_runs_total", task="import-file", result="succeeded") == 1
    assert moved("dailypapers_job_runs_total", task="import-file", result="failed") == 1
    assert moved("dailypapers_job_duration_seconds_count", task="import-file") == 2
    assert moved("dailypapers_embedded_papers_total") == embedded == len(PAPERS) + 1
