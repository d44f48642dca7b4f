"""The polite client against a real local server: spacing, retries, Retry-After, final errors."""

from __future__ import annotations

import email.utils
import threading
from pathlib import Path

import pytest

from dailypapers import __version__
from dailypapers.config import Settings
from dailypapers.ingest.http import MAX_RETRY_AFTER, FetchError, PoliteClient, parse_retry_after
from tests.support.harvest import FakeTime, api_page, make_settings
from tests.support.postgres import free_port
from tests.support.replay import CUT, TRUNCATE, ReplayServer, status

PAGE = api_page(0)


def test_requests_are_spaced_by_the_interval_across_threads(server: ReplayServer, tmp_path: Path) -> None:
    server.add("/api/query", PAGE)
    settings = make_settings(server, tmp_path, request_interval=0.2)
    with PoliteClient(settings) as client:
        url = settings.arxiv_api_url

        def fetch_twice() -> None:
            for _ in range(2):
                assert client.get(url, {"search_query": "testing"}).content == PAGE

        threads = [threading.Thread(target=fetch_twice) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    arrivals = [r.at for r in server.log]
    assert len(arrivals) == 4
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # 0.2 s apart at the client; the slack covers a handler thread scheduled late on a busy
    # machine. Without the limiter the gaps are about a millisecond.
    assert min(gaps) >= 0.15, gaps
    headers = server.log[0].headers
    assert headers["User-Agent"].startswith(f"dailypapers/{__version__} ")


def test_retry_after_in_seconds_and_as_http_date_is_honoured(
    server: ReplayServer, tmp_path: Path, fake_time: FakeTime
) -> None:
    server.add("/api/query", PAGE)
    wall = 1_800_000_000.0
    server.inject(1, status(429, retry_after="7"))
    server.inject(2, status(503, retry_after=email.utils.formatdate(wall + 42, usegmt=True)))
    server.inject(3, status(503, retry_after="86400"))
    settings = make_settings(server, tmp_path, request_interval=3.0, max_retries=3)
    client = PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep, wallclock=lambda: wall)
    with client:
        response = client.get(settings.arxiv_api_url)
    assert response.status_code == 200 and response.content == PAGE
    assert client.requests == 4 and len(server.log) == 4
    # The server's waits, the long one capped; the 3 s interval is already over after each.
    assert fake_time.sleeps == [7.0, 42.0, MAX_RETRY_AFTER]


def test_cut_truncated_and_5xx_responses_are_retried_with_backoff(
    server: ReplayServer, tmp_path: Path, fake_time: FakeTime
) -> None:
    server.add("/api/query", PAGE)
    server.inject(1, CUT)
    server.inject(2, TRUNCATE)
    server.inject(3, status(502))
    server.inject(4, status(504))
    settings = make_settings(server, tmp_path, request_interval=3.0, max_retries=4)
    with PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep) as client:
        assert client.get(settings.arxiv_api_url).content == PAGE
    assert client.requests == 5 and len(server.log) == 5
    assert fake_time.sleeps == [3.0, 6.0, 12.0, 24.0]  # exponential backoff from the interval


def test_interval_applies_to_retries_without_retry_after(
    server: ReplayServer, tmp_path: Path, fake_time: FakeTime
) -> None:
    server.add("/api/query", PAGE)
    server.inject(1, status(429, retry_after="0"))
    settings = make_settings(server, tmp_path, request_interval=3.0)
    with PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep) as client:
        client.get(settings.arxiv_api_url)
    assert fake_time.sleeps == [0.0, 3.0]  # Retry-After 0, then the rate limit


def test_permanent_failure_names_url_and_last_status(server: ReplayServer, tmp_path: Path, fake_time: FakeTime) -> None:
    server.inject_from(1, status(503))
    settings = make_settings(server, tmp_path, max_retries=2)
    with (
        PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep) as client,
        pytest.raises(FetchError) as err,
    ):
        client.get(settings.arxiv_api_url, {"search_query": "testing"})
    assert err.value.status == 503 and err.value.attempts == 3
    assert f"{settings.arxiv_api_url}?search_query=testing" in str(err.value)
    assert "after 3 attempts: HTTP 503 Service Unavailable" in str(err.value)
    assert len(server.log) == 3


def test_persistent_cut_names_the_transport_error(server: ReplayServer, tmp_path: Path, fake_time: FakeTime) -> None:
    server.inject_from(1, CUT)
    settings = make_settings(server, tmp_path, max_retries=1)
    with (
        PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep) as client,
        pytest.raises(FetchError) as err,
    ):
        client.get(settings.arxiv_api_url)
    assert err.value.status is None and err.value.attempts == 2
    assert "Error" in err.value.reason and len(server.log) == 2


def test_client_errors_are_not_retried(server: ReplayServer, tmp_path: Path, fake_time: FakeTime) -> None:
    settings = make_settings(server, tmp_path)
    with (
        PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep) as client,
        pytest.raises(FetchError, match="HTTP 404"),
    ):
        client.get(f"{server.url}/nothing")
    assert len(server.log) == 1 and fake_time.sleeps == []


def test_connection_refused_is_retried_then_reported(tmp_path: Path, fake_time: FakeTime) -> None:
    url = f"http://127.0.0.1:{free_port()}/api/query"
    settings = Settings(data_dir=tmp_path, arxiv_api_url=url, request_interval=1.0, max_retries=2)
    with (
        PoliteClient(settings, clock=fake_time.clock, sleep=fake_time.sleep) as client,
        pytest.raises(FetchError, match=r"after 3 attempts: ConnectError") as err,
    ):
        client.get(url)
    assert url in str(err.value) and client.requests == 3
    assert fake_time.sleeps == [1.0, 2.0]


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("soon", None), ("5", 5.0), ("1e9", MAX_RETRY_AFTER), ("-3", 0.0)],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header) == seconds


def test_parse_retry_after_date_in_the_past_is_zero() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=lambda: 1_800_000_000.0) == 0.0
