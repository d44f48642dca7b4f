"""Files of random and damaged records imported into SQLite and PostgreSQL: the import never fails on one
database for what the other stores (a NUL, a number over PostgreSQL's INTEGER, an id over VARCHAR(64)),
every record is counted, as stored or rejected, and no stored text holds a control character."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import import_file
from dailypapers.sources.record import strip_bom
from tests.property.strategies import FAST
from tests.property.test_json_sources import hf_papers, kaggle_lines

_files = itertools.count()
# One database per test, shared by its examples (each imports a new file into it): a few dozen files each.
ON_A_DATABASE = settings(
    FAST, max_examples=60, suppress_health_check=[*FAST.suppress_health_check, HealthCheck.function_scoped_fixture]
)


def stored_texts(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT title, abstract, authors_text, comments, extra FROM papers")).all()
        users = conn.execute(text("SELECT name, fullname FROM users")).all()
    return [str(v) for row in (*rows, *users) for v in row if v is not None]


def clean(texts: list[str]) -> bool:
    return not any(ord(c) < 32 and c not in "\t\n" or 0x7F <= ord(c) <= 0x9F for t in texts for c in t)


@ON_A_DATABASE
@given(st.lists(kaggle_lines, min_size=1, max_size=6))
def test_kaggle_files_import_the_same_way_on_both_databases(engine: Engine, tmp_path: Path, lines: list[bytes]) -> None:
    lines = [line.replace(b"\n", b" ") for line in lines]
    path = tmp_path / f"random{next(_files)}.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = import_file(engine, path, fmt="kaggle", jobs=0)
    # Blank lines are skipped; lines of one paper count once, as that paper.
    written = sum(1 for line in lines if strip_bom(line).strip())
    assert min(written, 1) <= report.new + report.updated + report.unchanged + report.rejected <= written
    assert clean(stored_texts(engine))


@ON_A_DATABASE
@given(st.lists(hf_papers.map(lambda p: {"paper": p}), min_size=1, max_size=5))
def test_hugging_face_files_import_the_same_way_on_both_databases(
    engine: Engine, tmp_path: Path, items: list[dict[str, object]]
) -> None:
    path = tmp_path / f"random{next(_files)}.json"
    path.write_bytes(orjson.dumps(items))
    report = import_file(engine, path, fmt="hf")
    assert 1 <= report.new + report.updated + report.unchanged + report.rejected <= len(items)
    assert clean(stored_texts(engine))
