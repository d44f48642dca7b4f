"""`dailypapers fetch rss` end to end: environment settings, the replay server, the database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, text
from typer.testing import CliRunner

from dailypapers.cli.main import app
from tests.support.harvest import RSS, paper_titles
from tests.support.replay import ReplayServer, status


def env(server: ReplayServer, tmp_path: Path, db_url: str, **more: str) -> dict[str, str]:
    values = {
        "DAILYPAPERS_DATA_DIR": str(tmp_path),
        "DAILYPAPERS_DATABASE_URL": db_url,
        "DAILYPAPERS_ARXIV_RSS_URL": f"{server.url}/rss",
        "DAILYPAPERS_REQUEST_INTERVAL": "0.01",
        "DAILYPAPERS_MAX_RETRIES": "1",
    }
    values.update({f"DAILYPAPERS_{k}": v for k, v in more.items()})
    return values


def test_fetch_rss_stores_and_features(server: ReplayServer, tmp_path: Path, db_url: str, engine: Engine) -> None:
    server.add("/rss/cs.CL+cs.AI", (RSS / "new2024_cs_cl_2026-04-27_3items_distill.xml").read_bytes())
    result = CliRunner().invoke(
        app, ["fetch", "rss", "cs.CL", "cs.AI"], env=env(server, tmp_path, db_url, AUTO_FEATURE="cs.CL")
    )
    assert result.exit_code == 0, result.output
    assert "arXiv listing: cs.CL cs.AI" in result.output
    assert set(paper_titles(engine)) == {"2604.22002", "2604.22027", "2604.22038"}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM daily_listings")).scalar() == 3


def test_fetch_error_exits_non_zero_with_the_message(
    server: ReplayServer, tmp_path: Path, db_url: str, engine: Engine
) -> None:
    server.inject_from(1, status(503))
    result = CliRunner().invoke(app, ["fetch", "rss", "cs.CL"], env=env(server, tmp_path, db_url))
    output = " ".join(result.output.split())
    assert result.exit_code == 1, output
    assert f"GET {server.url}/rss/cs.CL failed after 2 attempts: HTTP 503" in output, output
    assert paper_titles(engine) == {}


def test_fetch_hf_a_day_and_a_range(server: ReplayServer, tmp_path: Path, db_url: str, engine: Engine) -> None:
    import gzip

    from tests.support.fixtures import FIXTURES

    archive = FIXTURES / "hf_daily_papers" / "curation_archive"
    for day in ("2026-01-27", "2026-01-28"):
        server.add("/api/daily_papers", gzip.decompress((archive / f"{day}.json.gz").read_bytes()), date=day)
    settings = env(server, tmp_path, db_url, HF_API_URL=server.url)
    one = CliRunner().invoke(app, ["fetch", "hf", "--date", "2026-01-27"], env=settings)
    assert one.exit_code == 0, one.output
    assert "Hugging Face daily papers 2026-01-27..2026-01-27" in one.output and "│  22 │" in one.output
    both = CliRunner().invoke(app, ["fetch", "hf", "--from", "2026-01-27", "--to", "2026-01-28"], env=settings)
    assert both.exit_code == 0, both.output
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM daily_listings")).scalar() == 31
    for args in (["--date", "2026-01-27", "--from", "2026-01-27"], ["--from", "2026-01-28", "--to", "2026-01-27"], []):
        refused = CliRunner().invoke(app, ["fetch", "hf", *args], env=settings)
        assert refused.exit_code == 2, (args, refused.output)
