"""Worker processes on PostgreSQL's shared queue (`dailypapers worker`): periodic jobs run once per tick
across all workers, and a worker killed with SIGKILL in the middle of a job loses nothing: another
worker takes the job over and finishes it (an import, an embedding batch, a digest run)."""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
from pathlib import Path

import orjson
from bench.gen_kaggle import records
from sqlalchemy import Engine, text

from dailypapers.config import Settings
from dailypapers.jobs.engine import JobSystem
from dailypapers.store import jobs as job_log
from dailypapers.store import papers
from dailypapers.store.db import read_tx
from dailypapers.store.jobs import JobRunInfo
from tests.support.digest import DAY, add_papers, confirmed
from tests.support.jobs import at, wait_for, workers
from tests.support.semantic import add_bare_papers, stored_keys
from tests.support.server import SECRET
from tests.support.smtp import smtp_server

STALLED = "3"  # seconds without a heartbeat before a worker counts as dead
FAST = "retry-stalled=* * * * * */1"


def _env(engine: Engine, tmp_path: Path, **more: str) -> dict[str, str]:
    env = {
        "DAILYPAPERS_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "DAILYPAPERS_DATA_DIR": str(tmp_path),
        "DAILYPAPERS_SECRET_KEY": SECRET,
        "DAILYPAPERS_JOB_STALLED_SECONDS": STALLED,
        "DAILYPAPERS_JOB_SCHEDULES": FAST,
        "DAILYPAPERS_JOB_RETRY_SECONDS": "1",
        "DAILYPAPERS_DIGEST_SCHEDULER": "0",
        "DAILYPAPERS_EMBED_BACKGROUND": "0",
    }
    return {**env, **{f"DAILYPAPERS_{k.upper()}": v for k, v in more.items()}}


def _runs(engine: Engine, name: str) -> list[JobRunInfo]:
    with read_tx(engine) as conn:
        return sorted(job_log.runs(conn, name=name, limit=10_000), key=lambda r: r.pk)


def _queue(engine: Engine, tmp_path: Path, name: str, **args: object) -> int:
    """Queue a job from this process (as the admin page or `dailypapers jobs run` would)."""
    settings = Settings(data_dir=tmp_path, database_url=engine.url.render_as_string(hide_password=False))
    system = JobSystem(settings, engine, worker=False).start()
    try:
        return system.defer(name, **args)
    finally:
        system.stop()


def _kill_the_one_running(engine: Engine, name: str, job_id: int, started: object) -> int:
    """SIGKILL the worker process running job `job_id` once `started(run)` holds; returns its pid."""
    wait_for(
        lambda: any(r.job_id == job_id and r.status == "running" and started(r) for r in _runs(engine, name)),  # type: ignore[operator]
        what=f"{name} to be under way",
    )
    run = next(r for r in _runs(engine, name) if r.job_id == job_id and r.status == "running")
    pid = int(run.worker.rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)
    return pid


def _finished_elsewhere(engine: Engine, name: str, job_id: int, killed: int) -> list[JobRunInfo]:
    """Wait until another worker finished the job; its runs, oldest first."""
    wait_for(
        lambda: any(r.job_id == job_id and r.status == "succeeded" for r in _runs(engine, name)),
        timeout=90,
        what=f"{name} to be finished by another worker",
    )
    runs = [r for r in _runs(engine, name) if r.job_id == job_id]
    # An attempt may fail and be retried before the killed one: seen once in a full parallel run on 2 cores
    # (its error was not recorded; the message below shows it). The kill and the finish elsewhere are tested.
    statuses = [r.status for r in runs]
    assert statuses[-2:] == ["interrupted", "succeeded"], [(r.status, r.error) for r in runs]
    assert set(statuses[:-2]) <= {"failed"}, [(r.status, r.error) for r in runs]
    assert runs[-2].worker.endswith(f":{killed}") and not runs[-1].worker.endswith(f":{killed}")
    return runs[-2:]


def test_each_tick_of_a_periodic_job_runs_once_across_workers(pg: Engine, tmp_path: Path) -> None:
    env = _env(pg, tmp_path, job_schedules=f"{FAST};housekeeping=* * * * * */1")
    with workers(3, env, tmp_path):
        wait_for(lambda: len(_runs(pg, "housekeeping")) >= 6, what="six ticks")
    ticks = collections.Counter(orjson.loads(r.args)["timestamp"] for r in _runs(pg, "housekeeping"))
    assert ticks and max(ticks.values()) == 1, f"ticks run more than once: {ticks}"
    assert len({r.worker for r in _runs(pg, "housekeeping")}) >= 2  # the workers shared them


def test_an_import_survives_its_worker_being_killed(pg: Engine, tmp_path: Path) -> None:
    count = 20_000
    data = tmp_path / "papers.jsonl"
    with data.open("wb") as fp:
        for obj in records(count):
            fp.write(orjson.dumps(obj) + b"\n")
    with workers(2, _env(pg, tmp_path), tmp_path):
        job_id = _queue(pg, tmp_path, "import-file", path=str(data), fmt=None)
        killed = _kill_the_one_running(pg, "import-file", job_id, lambda r: r.done > 0)
        runs = _finished_elsewhere(pg, "import-file", job_id, killed)
    with read_tx(pg) as conn:
        assert papers.count_papers(conn) == count
        assert conn.execute(text("SELECT count(*) FROM import_checkpoints")).scalar() == 0
    assert runs[1].note.endswith("0 rejected")


def test_an_embedding_batch_survives_its_worker_being_killed(pg: Engine, tmp_path: Path) -> None:
    pks = add_bare_papers(pg, 120)
    env = _env(pg, tmp_path, embed_model="slow-hash", embed_batch_size="16")
    boot = "from tests.support.semantic import register_slow_model\nregister_slow_model()"
    with workers(2, env, tmp_path, boot=boot):
        job_id = _queue(pg, tmp_path, "embed-backlog")
        killed = _kill_the_one_running(pg, "embed-backlog", job_id, lambda r: 16 <= r.done < 120)
        runs = _finished_elsewhere(pg, "embed-backlog", job_id, killed)
    assert stored_keys(pg, "test-model") == set(pks)
    assert runs[1].total is not None and runs[1].total < 120  # what the killed worker wrote was kept


def test_a_digest_run_survives_its_worker_being_killed(pg: Engine, tmp_path: Path) -> None:
    add_papers(pg, DAY, ("2601.00001", "Sparse retrieval", "cs.IR", 5))
    emails = [f"r{n:02d}@example.org" for n in range(40)]
    for email in emails:
        confirmed(pg, email)
    with smtp_server() as (url, smtp):
        smtp.delay = 0.1
        with workers(2, _env(pg, tmp_path, smtp_url=url), tmp_path):
            at_eight = at(dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time(8), tzinfo=dt.UTC))
            job_id = _queue(pg, tmp_path, "send-digests", timestamp=at_eight)
            killed = _kill_the_one_running(pg, "send-digests", job_id, lambda r: len(smtp.messages) >= 5)
            _finished_elsewhere(pg, "send-digests", job_id, killed)
        received = collections.defaultdict(set)
        for m in smtp.messages:
            received[str(m["To"])].add(str(m["Message-ID"]))
    assert sorted(received) == emails  # everyone got the digest...
    assert all(len(ids) == 1 for ids in received.values())  # ...and any repeat is the same message
    with read_tx(pg) as conn:
        statuses = conn.execute(text("SELECT status, count(*) FROM digest_deliveries GROUP BY status")).all()
    assert dict(statuses) == {"sent": 40}
