"""Fixtures of the harvest tests (the replay server, `server`, is shared from tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.support.harvest import FakeTime


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
