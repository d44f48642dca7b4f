"""Fixtures of the search tests."""

from __future__ import annotations

import pytest

from dailypapers.search.embedder import Embedder
from tests.support.semantic import load_embedder


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real all-MiniLM-L6-v2 on CPU: loaded once per test process (get_embedder caches it)."""
    return load_embedder()
