"""bench/bench_scale.py's pieces that need no servers: its queries, its wrk command lines and search script
(run by wrk against a stub server when wrk is installed), its CPU split and its report."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from bench import common
from bench.scale_load import (
    SEARCH_PATH,
    combine,
    markdown_table,
    search_queries,
    search_script,
    with_ratios,
    wrk_command,
)

TITLES = [
    "Attention Is All You Need",
    "Deep Residual Learning for Image Recognition",
    "Language Models are Few-Shot Learners",
]


def test_queries_are_distinct_word_pairs_of_one_title_then_words() -> None:
    queries = search_queries(TITLES, 1000)
    assert len(queries) == len(set(queries))
    assert queries == search_queries(TITLES, 1000)  # the same order every run
    words = {t: set(t.lower().split()) for t in TITLES}
    pairs = [q.split() for q in queries if " " in q]
    assert pairs and all(any({a, b} <= ws for ws in words.values()) for a, b in pairs)
    assert "attention need" in queries and "residual" in queries  # pairs first, then single words
    assert queries.index("residual") > max(queries.index(" ".join(p)) for p in pairs)
    assert not {"for", "are", "all", "is", "you"} & set(" ".join(queries).split())  # short words left out
    assert len(search_queries(TITLES, 5)) == 5


def test_wrk_command_pins_and_never_has_fewer_connections_than_threads(tmp_path: Path) -> None:
    script = tmp_path / "s.lua"
    cmd = wrk_command("http://127.0.0.1:1/", 7, 2, threads=4, script=script, cpus=[2, 3])
    assert cmd[:3] == ["taskset", "-c", "2,3"]
    assert cmd[3:8] == ["wrk", "-t4", "-c4", "-d7s", "--latency"]
    assert cmd[-3:] == ["-s", str(script), "http://127.0.0.1:1/"]
    assert wrk_command("http://h/", 5, 32)[:4] == ["wrk", "-t1", "-c32", "-d5s"]


def test_cpu_split(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common.os, "sched_getaffinity", lambda pid: {0, 1})
    assert common.split_cpus() is None
    monkeypatch.setattr(common.os, "sched_getaffinity", lambda pid: set(range(16)))
    assert common.split_cpus() == (list(range(12)), [12, 13, 14, 15])
    assert common.split_cpus(2) == (list(range(14)), [14, 15])
    with pytest.raises(ValueError):
        common.split_cpus(16)
    assert common.pinned(["wrk"], None) == ["wrk"]


def test_ratios_and_table() -> None:
    def m(rps: float) -> dict[str, float]:
        return {"rps": rps, "p50_ms": 1.0, "p99_ms": 1234.4, "failed": 0}

    results = with_ratios(
        {
            1: {"feed": m(1000), "api": m(800), "search": m(20), "votes": m(300)},
            2: {"feed": m(1800), "api": m(800), "search": m(30), "votes": m(150)},
        }
    )
    assert results[1]["feed"]["vs_first"] == 1.0
    assert [results[2][k]["vs_first"] for k in ("feed", "api", "search", "votes")] == [1.8, 1.0, 1.5, 0.5]
    table = markdown_table(results)
    assert "| 2 | 1,800 (1.80) | 800 (1.00) | 30 (1.50) | 150 (0.50) |" in table
    assert "| 1 | 1,234 | 1,234 | 1,234 | 1,234 |" in table


def test_rounds_combine_into_medians() -> None:
    runs = [
        {"feed": {"rps": 100, "p99_ms": 9.0, "failed": 1, "requests": 1000}},
        {"feed": {"rps": 300, "p99_ms": 3.0, "failed": 0, "requests": 3000}},
        {"feed": {"rps": 200, "p99_ms": 5.0, "failed": 2, "requests": 2000, "papers": 30}},
    ]
    assert combine(runs) == {
        "feed": {"rps": 200, "p99_ms": 5.0, "failed": 3, "requests": 6000, "papers": 0, "rps_samples": [100, 300, 200]}
    }


@pytest.fixture
def stub_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on a free port that answers 200 to every GET and records the paths."""
    paths: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            paths.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"[]")

        def log_message(self, *args: object) -> None:
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: object, client_address: object) -> None:
            pass  # wrk drops its connections when it stops

    server = Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", paths
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk (a benchmark tool, not a test dependency) is absent")
def test_search_script_rotates_through_the_queries_from_each_thread(
    tmp_path: Path, stub_server: tuple[str, list[str]]
) -> None:
    url, paths = stub_server
    queries = [f"word{i} other{i}" for i in range(50_000)]
    script = search_script(tmp_path / "search.lua", queries)
    subprocess.run(wrk_command(url, 1, 2, threads=2, script=script), check=True, capture_output=True, timeout=20)
    assert len(paths) > 20
    assert all(p.startswith(SEARCH_PATH) for p in paths)
    asked = [parse_qs(urlsplit(p).query)["q"][0] for p in paths]
    assert set(asked) <= set(queries)
    assert len(set(asked)) == len(asked)  # no repeat: each thread walks on from its own place
    # The two threads began at different places in the list (wrk may make a request it never sends).
    where = [queries.index(q) for q in asked]
    assert min(where) < 5 and any(7919 <= i < 7924 for i in where)
