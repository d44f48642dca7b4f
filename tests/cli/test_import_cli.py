"""`dailypapers import` and `dailypapers demo` as a user runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text
from typer.testing import CliRunner

from dailypapers.cli import main as cli
from dailypapers.ingest.demo import demo_files
from dailypapers.store.db import make_engine
from tests.support.fixtures import recording

KAGGLE = recording("kaggle_arxiv_snapshot", "head200_wanng-ide_arxivSpider_mnbvc.jsonl")
HF = recording("hf_daily_papers", "personal-news-feed_daily_papers_2026-08.json")


@pytest.fixture
def run(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Invoke the CLI on the test database, from a folder of its own (short relative file names)."""
    monkeypatch.chdir(tmp_path)
    return RunCli(db_url, tmp_path)


class RunCli:
    def __init__(self, db_url: str, data_dir: Path) -> None:
        self.db_url = db_url
        self.env = {
            "DAILYPAPERS_DATABASE_URL": db_url,
            "DAILYPAPERS_DATA_DIR": str(data_dir),
            "DAILYPAPERS_AUTO_FEATURE": "",
        }

    def __call__(self, *args: str) -> tuple[Result, str]:
        result = CliRunner().invoke(cli.app, list(args), env=self.env)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result, " ".join(result.output.split())

    def papers(self) -> int:
        engine = make_engine(self.db_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM papers")).scalar() or 0)
        finally:
            engine.dispose()


def table_counts(output: str) -> dict[str, int]:
    """The report table's one row, by column."""
    m = re.search(r"(\d+)\s*[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]\s*(\d+)\s*[│|]", output)
    assert m, output
    for name in ("new", "updated", "unchanged", "rejected", "featured"):
        assert name in output
    return dict(zip(("new", "updated", "unchanged", "rejected", "featured"), map(int, m.groups()), strict=True))


def test_import_prints_what_it_did(run: RunCli, tmp_path: Path) -> None:
    result, out = run("import", str(KAGGLE))
    assert result.exit_code == 0, out
    assert table_counts(out) == {"new": 200, "updated": 0, "unchanged": 0, "rejected": 0, "featured": 0}
    assert run.papers() == 200

    result, out = run("import", str(KAGGLE), str(HF))
    assert result.exit_code == 0, out
    assert table_counts(out) == {"new": 30, "updated": 0, "unchanged": 200, "rejected": 0, "featured": 30}

    lines = KAGGLE.read_bytes().splitlines()
    lines[4] = b'{"id": "not-an-id", "title": "x", "versions": []}'
    (tmp_path / "some_bad.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    result, out = run("import", "some_bad.jsonl")
    assert result.exit_code == 0, out  # a rejected record is reported, not a failure
    assert table_counts(out) == {"new": 0, "updated": 0, "unchanged": 199, "rejected": 1, "featured": 0}
    assert "rejected:" in out
    assert "some_bad.jsonl:5 (id not-an-id): not an arXiv id" in out


def test_import_with_an_unknown_format_exits_2_listing_the_formats(run: RunCli) -> None:
    result, out = run("import", "--format", "csv", str(KAGGLE))
    assert result.exit_code == 2
    assert "unknown format 'csv'; choose from kaggle, seed, hf, arxiv-api, oai, rss" in out


def test_import_with_an_explicit_format(run: RunCli) -> None:
    result, out = run("import", "--format", "kaggle", str(KAGGLE))
    assert result.exit_code == 0 and table_counts(out)["new"] == 200
    # The wrong reader for the file: every line rejected, nothing written, the run still ends.
    result, out = run("import", "--format", "seed", str(HF))
    assert result.exit_code == 0, out
    assert run.papers() == 200


def test_a_bad_file_fails_the_run_naming_it_while_the_others_import(run: RunCli, tmp_path: Path) -> None:
    (tmp_path / "broken.xml").write_bytes(b'<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom"><entry>')
    (tmp_path / "empty.json").write_bytes(b"")
    result, out = run("import", "broken.xml", "missing.jsonl", str(KAGGLE), "empty.json")
    assert result.exit_code == 1, out
    assert out.count("error:") == 3
    assert "broken.xml: malformed XML at line 2" in out
    assert "missing.jsonl: no such file" in out
    assert "empty.json: the file is empty" in out
    assert table_counts(out)["new"] == 200
    assert run.papers() == 200


def test_demo_if_empty_loads_once(run: RunCli) -> None:
    result, out = run("demo", "--if-empty")
    assert result.exit_code == 0, out
    assert "Demo data" in out
    counted = table_counts(out)
    assert counted["new"] > 400 and counted["rejected"] == 0 and counted["featured"] > 0
    loaded = run.papers()
    assert loaded == counted["new"]
    assert len(demo_files()) >= 4

    result, out = run("demo", "--if-empty")
    assert result.exit_code == 0, out
    assert "Database already has papers; demo data not loaded." in out
    assert run.papers() == loaded


def test_messages_show_no_markup_tags(run: RunCli, tmp_path: Path) -> None:
    (tmp_path / "empty.json").write_bytes(b"")
    (tmp_path / "one_bad.jsonl").write_bytes(KAGGLE.read_bytes().splitlines()[0] + b"\n{]\n")
    result, out = run("import", "empty.json", "one_bad.jsonl")
    assert result.exit_code == 1
    assert table_counts(out)["rejected"] == 1
    assert "error: empty.json: the file is empty" in out
    assert "rejected: one_bad.jsonl:2: malformed JSON" in out
    assert "[red]" not in out and "[yellow]" not in out
