"""Request limits as plain ASGI middleware: body size (no per-request overhead beyond a header check) and
the nesting depth of JSON bodies."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dailypapers.sources.library_record import MAX_LIBRARY_BYTES

# Paths whose bodies may be larger than the site's limit (uploads), and their own limits: a library file
# and the multipart form around it (web/library.py).
LARGER_BODIES: Mapping[str, int] = {
    "/settings/library/import": MAX_LIBRARY_BYTES + (64 << 10),
    "/api/library/import": MAX_LIBRARY_BYTES + (64 << 10),
}
MAX_QUERY_BYTES = 8192  # a query string: the longest real one (a search of 500 characters, encoded) is < 2 KiB
MAX_JSON_DEPTH = 32  # no request body of this API nests deeper than 4; parsers recurse per level
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_OPEN = np.zeros(256, dtype=np.int32)
_OPEN[[ord("["), ord("{")]] = 1
_OPEN[[ord("]"), ord("}")]] = -1


def json_depth(body: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets inside strings not counted)."""
    skeleton = _JSON_STRING.sub(b"", body)
    if not skeleton:
        return 0
    steps = _OPEN[np.frombuffer(skeleton, dtype=np.uint8)]
    return int(np.cumsum(steps).max(initial=0))


class JsonDepthLimit:
    """Answer 400 to JSON bodies nested deeper than `max_depth`, before any parser recurses into them.

    Python's JSON parser recurses once per level and fails with RecursionError (a 500) near a thousand;
    every endpoint that reads JSON, through FastAPI's models or by hand, is covered here at once."""

    def __init__(self, app: ASGIApp, max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if json_depth(body) > self.max_depth:
            await _refuse(send, 400, f"JSON body nested deeper than {self.max_depth} levels".encode())
            return
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return False


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


class BodyLimit:
    """Answer 413 to requests whose body is larger than `max_bytes` (or, on a path of `larger`, than that
    path's own limit), declared or streamed, and 414 to a query string longer than MAX_QUERY_BYTES (before
    anything parses its parameters)."""

    def __init__(self, app: ASGIApp, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(LARGER_BODIES if larger is None else larger)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            await _refuse(send, 414, f"Query string longer than {MAX_QUERY_BYTES} bytes".encode())
            return
        max_bytes = self.larger.get(scope.get("path", ""), self.max_bytes) if self.larger else self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > max_bytes:
                    await _too_large(send)
                    return
                break
        seen = 0
        refused = started = False

        async def limited() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > max_bytes:
                    # Answer now and tell the app the client left: frameworks that wrap errors raised
                    # while parsing a body (FastAPI turns them into 400) cannot turn this into anything else.
                    refused = True
                    if not started:
                        await _too_large(send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = True
            await send(message)

        await self.app(scope, limited, guarded)


async def _too_large(send: Send) -> None:
    await _refuse(send, 413, b"Request body too large")


async def _refuse(send: Send, status: int, message: bytes) -> None:
    body = b'{"error":"' + message + b'"}'
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
