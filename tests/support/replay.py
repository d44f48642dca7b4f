"""A real local HTTP server that replays recorded responses and injects network faults.

Routes match a path and a subset of query parameters (the most specific match wins), so a
recorded page is served whatever else the client adds. Every request is logged with its
arrival time (`time.monotonic()`) before anything is answered. Faults are injected by request
number (1-based, counting every request the server saw): an HTTP status with headers, a
connection cut (reset) in the middle of the response headers, or the route's own response
with only half of its body sent before the connection closes (shorter than its Content-Length).
A reply with an ETag header answers a request whose If-None-Match names it with 304 Not Modified.
"""

from __future__ import annotations

import ast
import json
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit


def load_recorded(path: Path) -> tuple[str, int, bytes]:
    """`(url, status, body bytes)` of an arxiv.py recording (`{url, status_code, body}` JSON).

    The body was stored as a latin-1 decoding of the UTF-8 response; encoding it back gives the
    original bytes.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    return data["url"], int(data["status_code"]), data["body"].encode("latin-1")


@dataclass(frozen=True)
class Exchange:
    """One recorded request and its answer, from PyGithub's `tests/ReplayData/*.txt`."""

    method: str
    host: str
    path: str  # with its query string
    request_headers: dict[str, str]
    status: int
    headers: tuple[tuple[str, str], ...]  # as recorded, names in the recording's case
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def reply(self, base_url: str = "") -> Reply:
        """The answer to replay: its status, body and headers, less those the server sets itself (length,
        encoding, connection; the recorded body is already decoded). With `base_url`, a `Location` on the
        recorded host points at the replay server instead."""
        skip = {"status", "content-length", "content-type", "content-encoding", "transfer-encoding", "connection"}
        headers = []
        for name, value in self.headers:
            if name.lower() in skip:
                continue
            if base_url and name.lower() == "location":
                value = value.replace(f"https://{self.host}", base_url.rstrip("/"), 1)
            headers.append((name, value))
        content_type = self.header("Content-Type") or "application/json; charset=utf-8"
        return Reply(self.body, self.status, tuple(headers), content_type=content_type)


def load_replay_data(path: Path) -> list[Exchange]:
    """The exchanges of a PyGithub ReplayData file: per exchange, ten lines (protocol, method, host, port,
    path, request headers, request body, status, response headers as a Python list of pairs, response
    body on one line) and a blank line."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found = []
    i = 0
    while i + 9 < len(lines):
        if lines[i] not in ("http", "https"):
            i += 1
            continue
        found.append(
            Exchange(
                method=lines[i + 1],
                host=lines[i + 2],
                path=lines[i + 4],
                request_headers=ast.literal_eval(lines[i + 5]),
                status=int(lines[i + 7]),
                headers=tuple((str(k), str(v)) for k, v in ast.literal_eval(lines[i + 8])),
                body=lines[i + 9].encode("utf-8"),
            )
        )
        i += 10
    return found


@dataclass(frozen=True)
class Reply:
    """What to answer: `kind` is "ok" (a normal response), "cut", "truncate" or "stall" (say nothing for
    STALL_SECONDS, as a server that accepted the connection and hung)."""

    body: bytes = b""
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    kind: str = "ok"
    content_type: str = "application/xml; charset=utf-8"


def status(code: int, retry_after: str | None = None, body: bytes = b"") -> Reply:
    """An error status, optionally with a Retry-After header."""
    headers = (("Retry-After", retry_after),) if retry_after is not None else ()
    return Reply(body or f"status {code}".encode(), code, headers, content_type="text/plain")


CUT = Reply(kind="cut")
STALL = Reply(kind="stall")
STALL_SECONDS = 60.0
TRUNCATE = Reply(kind="truncate")


@dataclass(frozen=True)
class Logged:
    """One request as it arrived."""

    number: int
    at: float
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Route:
    path: str
    params: dict[str, str]
    replies: list[Reply]
    hits: int = 0


@dataclass
class ReplayServer:
    """Start with `with ReplayServer() as server:`; `server.url` is its base URL."""

    routes: list[_Route] = field(default_factory=list)
    log: list[Logged] = field(default_factory=list)
    faults: dict[int, Reply] = field(default_factory=dict)
    fail_from: tuple[int, Reply] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _httpd: ThreadingHTTPServer | None = None

    def add(self, path: str, *replies: Reply | bytes, **params: str) -> None:
        """Serve `replies` in turn (the last one again after that) for `path` with these query params."""
        items = [r if isinstance(r, Reply) else Reply(r) for r in replies]
        self.routes.append(_Route(path, dict(params), items))

    def inject(self, number: int, reply: Reply) -> None:
        """Answer request `number` (1-based) with `reply` instead of its route."""
        self.faults[number] = reply

    def inject_from(self, number: int, reply: Reply) -> None:
        """Answer every request from `number` on with `reply` (a permanent failure)."""
        self.fail_from = (number, reply)

    def requests(self, path: str | None = None, **params: str) -> list[Logged]:
        """Logged requests to `path` whose query includes `params`."""
        with self._lock:
            return [
                r
                for r in self.log
                if (path is None or r.path == path) and all(r.query.get(k) == v for k, v in params.items())
            ]

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def _choose(self, number: int, path: str, query: dict[str, str]) -> Reply:
        fault = self.faults.get(number)
        if fault is None and self.fail_from and number >= self.fail_from[0]:
            fault = self.fail_from[1]
        if fault is not None and fault.kind != "truncate":
            return fault
        reply = self._route_reply(path, query)
        if fault is not None:  # the route's own response, cut short
            return Reply(reply.body, reply.status, reply.headers, "truncate", reply.content_type)
        return reply

    def _route_reply(self, path: str, query: dict[str, str]) -> Reply:
        matching = [r for r in self.routes if r.path == path and all(query.get(k) == v for k, v in r.params.items())]
        if not matching:
            return status(404, body=f"no route for {path} {query}".encode())
        route = max(matching, key=lambda r: len(r.params))
        reply = route.replies[min(route.hits, len(route.replies) - 1)]
        route.hits += 1
        return reply

    def _record(self, handler: BaseHTTPRequestHandler) -> Reply:
        at = time.monotonic()
        parts = urlsplit(handler.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            number = len(self.log) + 1
            self.log.append(Logged(number, at, parts.path, query, dict(handler.headers.items())))
            return self._choose(number, parts.path, query)

    def __enter__(self) -> ReplayServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                reply = server._record(self)
                body = reply.body
                etag = dict(reply.headers).get("ETag")
                if etag and reply.status == 200 and self.headers.get("If-None-Match") == etag:
                    self.send_response(304)  # conditional request: the client's copy is current
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if reply.kind == "stall":
                    time.sleep(STALL_SECONDS)
                    self.close_connection = True
                    return
                if reply.kind == "cut":
                    self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Ty")
                    self.wfile.flush()
                    # SO_LINGER 0: close with a reset, as a dropped connection looks.
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers:
                    self.send_header(name, value)
                if reply.kind == "truncate":
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(body)))
                if reply.status >= 400:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        serve = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})
        serve.daemon = True
        serve.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
