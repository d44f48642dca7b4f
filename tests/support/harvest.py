"""For tests that talk to a replayed arXiv (harvests in ingest/, `dailypapers fetch` in cli/, submissions
in curation/): real recorded arXiv answers, settings that point every arXiv endpoint at the replay server,
a fake clock, and what a harvest stored."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text

from dailypapers.config import Settings
from tests.support.fixtures import FIXTURES
from tests.support.replay import ReplayServer, load_recorded

RECORDED = FIXTURES / "arxiv_api" / "arxiv_py" / "recorded_2026"
OAI = FIXTURES / "arxiv_oai"
RSS = FIXTURES / "arxiv_rss"


def recorded(prefix: str) -> bytes:
    """The original bytes of the one recording whose name starts with `prefix`."""
    (path,) = RECORDED.glob(f"{prefix}_*.json")
    return load_recorded(path)[2]


def api_page(start: int, size: int = 10) -> bytes:
    """The recorded `search_query=testing` page at `start` of `size` results."""
    return recorded(f"q_testing_s{start}_m{size}")


def oai_last_page(path: Path, *, complete: int, cursor: int) -> bytes:
    """A real ListRecords page ended as arXiv ends the last page: with an empty resumptionToken."""
    token = f'<resumptionToken completeListSize="{complete}" cursor="{cursor}"/>\n</ListRecords>'
    return path.read_bytes().replace(b"</ListRecords>", token.encode(), 1)


class FakeTime:
    """A monotonic clock that only moves when `sleep` is called; `sleeps` records each wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)


def make_settings(server: ReplayServer, tmp_path: Path, db_url: str = "", **overrides: object) -> Settings:
    """Settings pointing every arXiv endpoint at the replay server; no real waits unless asked."""
    values: dict[str, object] = {
        "data_dir": tmp_path,
        "database_url": db_url,
        "arxiv_api_url": f"{server.url}/api/query",
        "arxiv_oai_url": f"{server.url}/oai",
        "arxiv_rss_url": f"{server.url}/rss",
        "request_interval": 0.0,
        "request_timeout": 5.0,
        "max_retries": 2,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def paper_titles(engine: Engine) -> dict[str, str]:
    """Every stored paper's id and title."""
    with engine.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(text("SELECT id, title FROM papers"))}


def harvest_state(engine: Engine, key: str) -> tuple[str, bool] | None:
    from dailypapers.store import bookkeeping

    with engine.connect() as conn:
        return bookkeeping.load_harvest(conn, key)
