"""`dailypapers jobs list|run|retry`, `dailypapers worker` and `import --queue` from the command line."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from typer.testing import CliRunner

from dailypapers.cli.main import app
from tests.support.fixtures import recording


def _run(engine: Engine, tmp_path: Path, *args: str) -> tuple[int, str]:
    env = {"DAILYPAPERS_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    env |= {"DAILYPAPERS_DATA_DIR": str(tmp_path), "DAILYPAPERS_EMBED_BACKGROUND": "0"}
    result = CliRunner().invoke(app, list(args), env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, " ".join(result.output.split())


def test_jobs_are_listed_run_and_queued(engine: Engine, tmp_path: Path) -> None:
    code, out = _run(engine, tmp_path, "jobs", "list")
    assert code == 0 and "keyword-index" in out and "send-digests" in out and "import-file" in out
    code, out = _run(engine, tmp_path, "jobs", "run", "housekeeping")
    if engine.dialect.name == "sqlite":  # no shared queue: it runs here
        assert code == 0 and "running here" in out and ": succeeded" in out
        assert "housekeeping" in _run(engine, tmp_path, "jobs", "list")[1]
    else:  # queued for the workers (none runs in this test)
        assert code == 0 and "queued." in out
        assert "queued: 1 #1 housekeeping" in _run(engine, tmp_path, "jobs", "list")[1]
    code, out = _run(engine, tmp_path, "jobs", "run", "nope")
    assert code == 2 and "no job named 'nope'" in out


def test_shared_queue_commands_need_postgresql(engine: Engine, tmp_path: Path) -> None:
    kaggle = str(recording("kaggle_arxiv_snapshot", "head200_wanng-ide_arxivSpider_mnbvc.jsonl"))
    if engine.dialect.name == "sqlite":
        for args in (("worker",), ("jobs", "retry", "1"), ("import", "--queue", kaggle)):
            code, out = _run(engine, tmp_path, *args)
            assert code == 2 and "PostgreSQL" in out, (args, out)
    else:
        code, out = _run(engine, tmp_path, "import", "--queue", kaggle)
        assert code == 0 and "Queued job #" in out
        code, out = _run(engine, tmp_path, "jobs", "retry", "12345")
        assert code == 1 and "no failed job #12345" in out
        code, out = _run(engine, tmp_path, "import", "--queue", str(tmp_path / "missing.jsonl"))
        assert code == 2 and "no such file" in out
