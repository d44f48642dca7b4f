"""`dailypapers digest send` (typer) and the subscribe rate limit."""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import Engine
from typer.testing import CliRunner

from dailypapers.cli.digest import digest_app
from dailypapers.digest.compose import digest_period, ledger_key
from tests.support.digest import DAY, SECRET, add_papers, confirmed
from tests.support.server import serve_app


def test_cli_sends_once_and_reports(engine: Engine, tmp_path: Path) -> None:
    add_papers(engine, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5))
    confirmed(engine, "a@example.org")
    env = {
        "DAILYPAPERS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DAILYPAPERS_DATA_DIR": str(tmp_path),
        "DAILYPAPERS_SECRET_KEY": SECRET,
    }
    runner = CliRunner()
    args = ["send", "--frequency", "daily", "--period", "2026-01-05"]
    first = runner.invoke(digest_app, args, env=env)
    assert first.exit_code == 0, first.output
    assert "sent 1" in first.output
    again = runner.invoke(digest_app, args, env=env)
    assert again.exit_code == 0 and "already sent 1" in again.output
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    bad = runner.invoke(digest_app, ["send", "--frequency", "weekly", "--period", "2026-13"], env=env)
    assert bad.exit_code == 2


def test_default_period_is_the_latest_complete_one() -> None:
    assert ledger_key(digest_period("daily", today=DAY)) == "daily:2026-01-04"
    assert ledger_key(digest_period("weekly", today=DAY.replace(day=7))) == "weekly:2026-W01"


def test_subscribing_is_rate_limited(engine: Engine, tmp_path: Path) -> None:
    with serve_app(engine, tmp_path) as base:
        codes = [
            httpx.post(
                f"{base}/api/subscriptions", json={"email": f"p{n}@example.org", "frequency": "daily"}
            ).status_code
            for n in range(11)
        ]
    assert codes[:10] == [202] * 10 and codes[10] == 429
