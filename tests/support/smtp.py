"""A real SMTP server (aiosmtpd) on a free loopback port that records mail and injects faults."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.postgres import free_port


@dataclass
class Recorder:
    """aiosmtpd handler. Faults: `recipient_faults[address]` is a reply (always) or a list of replies (used
    up one per try, then accepted); `data_faults[n]` is the reply to the n-th DATA (1-based), "cut" to drop
    the connection instead."""

    messages: list[EmailMessage] = field(default_factory=list)
    raw: list[bytes] = field(default_factory=list)  # the messages as they came over the wire
    recipient_faults: dict[str, str | list[str]] = field(default_factory=dict)
    data_faults: dict[int, str] = field(default_factory=dict)
    data_count: int = 0
    delay: float = 0.0  # seconds each DATA takes (a slow server)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self.lock:
            fault = self.recipient_faults.get(address.lower())
            if isinstance(fault, list):
                fault = fault.pop(0) if fault else None
        if fault:
            return fault
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.data_count += 1
            fault = self.data_faults.get(self.data_count)
        if fault == "cut":
            server.transport.close()
            return "421 cut"
        if fault:
            return fault
        msg = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.raw.append(envelope.content)
        return "250 Message accepted"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@contextlib.contextmanager
def smtp_server(port: int | None = None, recorder: Recorder | None = None) -> Iterator[tuple[str, Recorder]]:
    """Yield (`smtp://127.0.0.1:PORT`, recorder) while the server runs (on `port`, else a free one)."""
    recorder = recorder or Recorder()
    port = port or free_port()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{port}", recorder
    finally:
        controller.stop()
