"""Paging the arXiv API through the replay server into both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from dailypapers.ingest.harvest import harvest_arxiv_api, harvest_key
from dailypapers.ingest.http import FetchError, PoliteClient
from dailypapers.sources.arxiv_atom import ArxivApiError
from dailypapers.sources.record import SourceError
from dailypapers.store import search_index
from tests.support.harvest import FakeTime, api_page, harvest_state, make_settings, paper_titles, recorded
from tests.support.replay import ReplayServer, status

KEY = harvest_key("api", q="testing", max=30)


def serve_pages(server: ReplayServer, *starts: int) -> None:
    for start in starts:
        server.add("/api/query", api_page(start), search_query="testing", start=str(start), max_results="10")


def test_pages_are_harvested_spaced_and_stored(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    serve_pages(server, 0, 10, 20)
    settings = make_settings(server, tmp_path, request_interval=0.2)
    report = harvest_arxiv_api(engine, settings, "testing", max_results=30, page_size=10)
    assert (report.new, report.updated, report.rejected, report.pages, report.requests) == (30, 0, 0, 3, 3)
    assert report.total_results == 214881 and report.key == KEY
    titles = paper_titles(engine)
    assert len(titles) == 30
    assert titles["2202.12139"].startswith("Testing Deep Learning Models: A First Comparative Study")
    assert titles["2403.16981"] == "The Sample Complexity of Simple Binary Hypothesis Testing"
    assert titles["2306.03845"] == "$ω$Test: WebView-Oriented Testing for Android Applications"
    log = server.requests("/api/query")
    assert [r.query["start"] for r in log] == ["0", "10", "20"]
    assert all(r.query["sortBy"] == "submittedDate" and r.query["max_results"] == "10" for r in log)
    assert min(b.at - a.at for a, b in zip(log, log[1:], strict=False)) >= 0.15
    assert harvest_state(engine, KEY) == ("30", True)
    with engine.connect() as conn:
        assert search_index.pending(conn) == 0


def test_finished_harvest_starts_afresh(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    serve_pages(server, 0, 10, 20)
    settings = make_settings(server, tmp_path)
    harvest_arxiv_api(engine, settings, "testing", max_results=30, page_size=10)
    again = harvest_arxiv_api(engine, settings, "testing", max_results=30, page_size=10)
    assert again.resumed_from is None and (again.new, again.unchanged, again.pages) == (0, 30, 3)
    assert len(server.requests("/api/query", start="0")) == 2


def test_failure_keeps_earlier_pages_and_rerun_resumes(
    server: ReplayServer, tmp_path: Path, engine: Engine, fake_time: FakeTime
) -> None:
    serve_pages(server, 0, 10, 20)
    server.inject_from(2, status(500))
    settings = make_settings(server, tmp_path, max_retries=2)
    client = PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep)
    with pytest.raises(FetchError, match=r"start=10.*after 3 attempts: HTTP 500"):
        harvest_arxiv_api(engine, settings, "testing", max_results=30, page_size=10, client=client)
    assert len(paper_titles(engine)) == 10
    assert harvest_state(engine, KEY) == ("10", False)

    server.fail_from = None  # the "crash" is over: run the same harvest again
    report = harvest_arxiv_api(engine, settings, "testing", max_results=30, page_size=10, client=client)
    assert report.resumed_from == "10" and (report.new, report.pages, report.requests) == (20, 2, 2)
    assert len(server.requests("/api/query", start="0")) == 1  # page 1 was never asked again
    assert len(paper_titles(engine)) == 30
    assert harvest_state(engine, KEY) == ("30", True)


def test_malformed_page_names_the_url_and_keeps_committed_pages(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    serve_pages(server, 0)
    server.add("/api/query", api_page(10)[:5000], search_query="testing", start="10")
    settings = make_settings(server, tmp_path)
    with pytest.raises(SourceError, match=r"/api/query\?search_query=testing&start=10.*malformed XML") as err:
        harvest_arxiv_api(engine, settings, "testing", max_results=30, page_size=10)
    assert err.value.where.startswith(settings.arxiv_api_url)
    assert len(paper_titles(engine)) == 10 and harvest_state(engine, KEY) == ("10", False)


def test_api_error_feed_is_a_clear_error(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    server.add("/api/query", status(400, body=recorded("id_abc")), search_query="id:abc")
    settings = make_settings(server, tmp_path)
    with pytest.raises(ArxivApiError, match="arXiv API error: incorrect id format for abc"):
        harvest_arxiv_api(engine, settings, "id:abc", max_results=10)
    assert len(server.log) == 1 and paper_titles(engine) == {}


def test_spurious_empty_page_is_asked_again(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    serve_pages(server, 0, 20)
    empty = recorded("id_0000.0000")  # a real empty result feed
    server.add("/api/query", empty, api_page(10), search_query="testing", start="10")
    report = harvest_arxiv_api(engine, make_settings(server, tmp_path), "testing", max_results=30, page_size=10)
    assert (report.new, report.pages, report.requests) == (30, 3, 4)
    assert len(server.requests("/api/query", start="10")) == 2
