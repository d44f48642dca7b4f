from __future__ import annotations
import os, signal, subprocess, sys, time
from pathlib import Path
import orjson
from sqlalchemy import Engine, text
from bench.gen_kaggle import records
from dailypapers.ingest.importer import import_file
from dailypapers.store.db import make_engine
from tests.conftest import new_database

def rows(engine, table, order):
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(f"SELECT * FROM {table} ORDER BY {order}"))]

def test_crash(engine, db_url, tmp_path, request):
    path = tmp_path / "s.jsonl"
    with path.open("wb") as fp:
        for o in records(60000 if db_url.startswith("sqlite") else 30000):
            fp.write(orjson.dumps(o) + b"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    env.update(DAILYPAPERS_DATABASE_URL=db_url, DAILYPAPERS_DATA_DIR=str(tmp_path))
    cmd = [sys.executable, "-c", "from dailypapers.cli import app; app()", "import", str(path), "--batch-size", "1000"]
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    line = 0
    while proc.poll() is None:
        with engine.connect() as c:
            line = c.execute(text("SELECT coalesce(max(line), 0) FROM import_checkpoints")).scalar()
        if line >= 8000:
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    proc.wait()
    print("killed at", line, proc.returncode, time.time() - t0)
    with engine.connect() as c:
        print("papers", c.execute(text("select count(*), max(pk) from papers")).all(), c.execute(text("select * from import_checkpoints")).all())
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    print(out.stdout[-800:], out.stderr[-1500:], time.time() - t0)
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    clean = make_engine(new_database(backend, request, tmp_path))
    import_file(clean, path)
    print(time.time() - t0)
    a, b = rows(engine, "papers", "id"), rows(clean, "papers", "id")
    print(len(a), len(b), sum(x != y for x, y in zip(a, b)))
    diff = [(x, y) for x, y in zip(a, b) if x != y][:1]
    for x, y in diff:
        print([(i, p, q) for i, (p, q) in enumerate(zip(x, y)) if p != q])
    clean.dispose()
