"""Records that once stopped an import, or were stored on one database and refused by the other: control
characters (a NUL, which PostgreSQL refuses), a byte order mark, fields over the limits of sources/limits.py,
numbers over PostgreSQL's INTEGER. Text is normalized the same on both; a record over a limit is rejected
alone, naming its file, line, id, field and limit, and the rest of its file imports. SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, text

from dailypapers.ingest.importer import import_file
from dailypapers.sources import limits
from dailypapers.sources.record import UTF8_BOM, Author, SourceError
from tests.ingest.test_import import (
    KAGGLE_A,
    PNF_HF,
    PNF_XML,
    SEED,
    contents,
    count,
    counts,
    error_place,
    kaggle_lines,
    kaggle_objects,
    one,
    stored,
    users,
    write_jsonl,
)

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def no_controls(engine: Engine) -> bool:
    """Whether no stored text of the import's tables holds a control character (other than \\n and \\t)."""
    return not any(
        isinstance(value, str) and CONTROLS.search(value)
        for rows in contents(engine).values()
        for row in rows
        for value in row
    )


# ---------------------------------------------------------------------------------------------
# Control characters


def test_a_nul_and_other_controls_are_dropped_and_the_file_imports(engine: Engine, tmp_path: Path) -> None:
    objects = kaggle_objects()[:5]
    clean = objects[1]
    dirty = dict(clean)
    dirty["title"] = "Sparsity\u0000-certifying\u0007 Graph\u0085Decompositions"
    dirty["abstract"] = clean["abstract"] + "\u0000\u009f"
    dirty["comments"] = "To appear\u0000 in\u0008 Graphs"
    dirty["authors_parsed"] = [["Streinu\u0000", "Ileana", ""], ["Theran", "Louis", "", "UMass\u0000 Amherst"]]
    dirty["journal-ref"] = "Graphs\u001b[31m and Combinatorics"
    objects[1] = dirty
    report = import_file(engine, write_jsonl(tmp_path / "nul.jsonl", objects))
    assert counts(report) == (5, 0, 0, 0) and report.errors == []
    p = one(engine, dirty["id"])
    assert p.title == "Sparsity-certifying Graph Decompositions"
    assert p.abstract == " ".join(clean["abstract"].split())
    assert p.comments == "To appear in Graphs"
    assert p.journal_ref == "Graphs[31m and Combinatorics"
    assert p.authors == [Author("Ileana Streinu"), Author("Louis Theran", ("UMass Amherst",))]
    assert no_controls(engine)


def test_nul_in_hugging_face_fields_kept_as_json(engine: Engine, tmp_path: Path) -> None:
    items = orjson.loads(PNF_HF.read_bytes())
    paper = items[0]["paper"]
    paper["ai_summary"] = "Compresses\u0000 tokens."
    paper["ai_keywords"] = ["token\u0000 compression", "omni\u0085modal"]
    paper["submittedOnDailyBy"]["fullname"] = "Jinsen\u0000 Su"
    paper["authors"][0]["name"] = "\u0000" + paper["authors"][0]["name"]
    (tmp_path / "hf.json").write_bytes(orjson.dumps(items))
    report = import_file(engine, tmp_path / "hf.json")
    assert counts(report) == (30, 0, 0, 0)
    p = one(engine, paper["id"])
    assert p.extra["ai_summary"] == "Compresses tokens."
    assert p.extra["ai_keywords"] == ["token compression", "omni\nmodal"]
    assert p.authors[0].name == orjson.loads(PNF_HF.read_bytes())[0]["paper"]["authors"][0]["name"]
    assert users(engine)["Consonnm"][0] == "Jinsen Su"
    assert no_controls(engine)


# ---------------------------------------------------------------------------------------------
# A byte order mark


@pytest.mark.parametrize(
    ("path", "new"),
    [(KAGGLE_A, 200), (SEED, 69), (PNF_HF, 30), (PNF_XML, 25)],
    ids=["kaggle", "seed", "hf", "atom"],
)
def test_a_byte_order_mark_loses_no_record(engine: Engine, tmp_path: Path, path: Path, new: int) -> None:
    with_bom = tmp_path / path.name
    with_bom.write_bytes(UTF8_BOM + path.read_bytes())
    report = import_file(engine, with_bom)
    assert counts(report) == (new, 0, 0, 0) and report.errors == []
    assert counts(import_file(engine, path)) == (0, 0, new, 0)  # the same papers as the file without one


def test_files_joined_with_their_byte_order_marks_import_whole(engine: Engine, tmp_path: Path) -> None:
    lines = kaggle_lines()
    joined = tmp_path / "joined.jsonl"
    joined.write_bytes(UTF8_BOM + b"\n".join(lines[:100]) + b"\n" + UTF8_BOM + b"\n".join(lines[100:]) + b"\n")
    assert counts(import_file(engine, joined)) == (200, 0, 0, 0)


def test_a_utf16_file_is_refused_by_name(engine: Engine, tmp_path: Path) -> None:
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes(KAGGLE_A.read_text().encode("utf-16"))
    with pytest.raises(ValueError, match=re.escape(f"{utf16}: the file is in UTF-16: save it as UTF-8")):
        import_file(engine, utf16)
    assert count(engine) == 0


# ---------------------------------------------------------------------------------------------
# Limits


def _over(objects: list[dict[str, Any]]) -> dict[int, tuple[dict[str, Any], str]]:
    """Line number -> (a snapshot object over one limit, what its rejection says)."""
    o = objects
    return {
        3: ({**o[2], "abstract": "a" * (limits.MAX_ABSTRACT + 1)}, "abstract longer than 20,000 characters (20,001)"),
        4: ({**o[3], "title": "t" * (limits.MAX_TITLE + 1)}, "title longer than 1,000 characters (1,001)"),
        5: (
            {**o[4], "authors_parsed": [[f"Name{i}", "A.", ""] for i in range(limits.MAX_AUTHORS + 1)]},
            "more than 10,000 authors (10,001)",
        ),
        6: ({**o[5], "comments": "c" * (limits.MAX_COMMENTS + 1)}, "comments longer than 4,000 characters (4,001)"),
        7: (
            {**o[6], "versions": [{"version": "v1", "created": "Mon, 2 Apr 3007 19:18:42 GMT"}]},
            "published date 3007-04-02T19:18:42+00:00 is outside the years 1900 to 2999",
        ),
        8: ({**o[7], "categories": "hep-ph " + "x" * 65}, "category longer than 64 characters (65)"),
        9: ({**o[8], "versions": [{"version": "v99999999999", "created": None}]}, "version number out of range"),
        10: ({**o[9], "authors_parsed": [["N" * 301, "A.", ""]]}, "author name longer than 300 characters (304)"),
    }


def test_records_over_a_limit_are_rejected_alone_and_change_nothing(engine: Engine, tmp_path: Path) -> None:
    import_file(engine, KAGGLE_A)
    state = contents(engine)
    objects = kaggle_objects()
    over = _over(objects)
    lines = kaggle_lines()
    for number, (obj, _) in over.items():
        lines[number - 1] = orjson.dumps(obj)
    lines[10] = orjson.dumps({**objects[10], "abstract": "b" * 5_000_000})  # line 11: 5 MB, over MAX_LINE_BYTES
    path = tmp_path / "over.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    report = import_file(engine, path)
    assert counts(report) == (0, 0, 200 - 9, 9)
    assert [error_place(e) for e in report.errors] == [(str(path), n) for n in (*over, 11)]
    for error, (number, (obj, says)) in zip(report.errors, over.items(), strict=False):
        assert error.startswith(f"{path}:{number} (id {obj['id']}): {says}")
    assert report.errors[-1] == f"{path}:11: line longer than 4,194,304 bytes"
    assert contents(engine) == state  # nothing half-written: the stored papers are as they were


def test_records_over_a_limit_are_not_stored_and_the_rest_are(engine: Engine, tmp_path: Path) -> None:
    objects = kaggle_objects()
    over = _over(objects)
    for number, (obj, _) in over.items():
        objects[number - 1] = obj
    report = import_file(engine, write_jsonl(tmp_path / "over.jsonl", objects))
    assert counts(report) == (200 - 8, 0, 0, 8)
    with engine.connect() as conn:
        ids = set(conn.execute(text("SELECT id FROM papers")).scalars())
    assert ids == {o["id"] for o in objects} - {obj["id"] for obj, _ in over.values()}


def test_a_record_at_every_limit_imports_whole(engine: Engine, tmp_path: Path) -> None:
    obj = kaggle_objects()[0]
    abstract = " ".join(["We study diphoton production at https://github.com/big/abstract."] * 400)
    abstract = abstract[: limits.MAX_ABSTRACT - 1] + "."
    at_limits = {
        **obj,
        "title": "T" * limits.MAX_TITLE,
        "abstract": abstract,
        "comments": "c" * limits.MAX_COMMENTS,
        "authors_parsed": [[f"Author{i}", "A.", ""] for i in range(limits.MAX_AUTHORS)],
    }
    report = import_file(engine, write_jsonl(tmp_path / "big.jsonl", [at_limits]))
    assert counts(report) == (1, 0, 0, 0)
    p = one(engine, obj["id"])
    assert (len(p.title), len(p.abstract), len(p.comments)) == (1_000, 20_000, 4_000)
    assert p.abstract == abstract and len(p.authors) == 10_000
    assert p.code_urls == ["https://github.com/big/abstract"]


@pytest.mark.parametrize("batch_size", [50, 5000], ids=["line-over-many-blocks", "line-inside-a-block"])
def test_an_overlong_line_is_skipped_without_being_held(engine: Engine, tmp_path: Path, batch_size: int) -> None:
    """Blocks of 50 x 1,600 bytes meet the 5 MB line over many reads: it is skipped past, never held whole."""
    lines = kaggle_lines()
    huge = orjson.dumps({**kaggle_objects()[10], "abstract": "b" * 5_000_000})
    path = tmp_path / "overlong.jsonl"
    path.write_bytes(b"\n".join([*lines[:10], huge, *lines[10:20], huge]))  # the last line has no newline
    report = import_file(engine, path, batch_size=batch_size)
    assert counts(report) == (20, 0, 0, 2)
    assert report.errors == [f"{path}:{n}: line longer than 4,194,304 bytes" for n in (11, 22)]
    assert set(stored(engine, *(o["id"] for o in kaggle_objects()[:20]))) == {o["id"] for o in kaggle_objects()[:20]}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM import_checkpoints")).scalar() == 0


def test_hugging_face_numbers_and_days_out_of_range_are_rejected(engine: Engine, tmp_path: Path) -> None:
    items = orjson.loads(PNF_HF.read_bytes())
    items[0]["paper"]["upvotes"] = 2**31  # over PostgreSQL's INTEGER: it once failed the whole file there
    items[1]["paper"]["submittedOnDailyAt"] = "3000-01-01T00:00:00.000Z"
    path = tmp_path / "hf.json"
    path.write_bytes(orjson.dumps(items))
    report = import_file(engine, path)
    assert counts(report) == (28, 0, 0, 2)
    first, second = items[0]["paper"]["id"], items[1]["paper"]["id"]
    assert report.errors == [
        f"{path} item 0 (id {first}): upvotes out of range 0 to 2,147,483,647 (2,147,483,648)",
        f"{path} item 1 (id {second}): featured day 3000-01-01 is outside the years 1900 to 2999",
    ]
    assert stored(engine, first, second) == {}


def test_atom_entries_over_a_limit_are_rejected_naming_entry_line_and_id(engine: Engine, tmp_path: Path) -> None:
    data = PNF_XML.read_bytes()
    data = data.replace(b"<id>http://arxiv.org/abs/2607.28628v1</id>", b"<id>http://arxiv.org/abs/2607.28628v9999</id>")
    title = re.search(rb"<title>([^<]*)</title>", data.split(b"2607.28627v1", 1)[1])
    assert title
    data = data.replace(title[0], b"<title>" + b"long " * 201 + b"</title>", 1)
    parts = data.split(b"<summary>")
    parts[3] = b"\xc2\x80\xc2\x9f" + parts[3]  # C1 controls (which XML allows) in entry 3's abstract
    data = b"<summary>".join(parts)
    path = tmp_path / "feed.xml"
    path.write_bytes(data)
    report = import_file(engine, path)
    assert counts(report) == (23, 0, 0, 2)
    assert report.errors == [
        f"{path}, entry 1 (line 10) (id 2607.28628): version number out of range 0 to 1,000 (9,999)",
        f"{path}, entry 2 (line 37) (id 2607.28627): title longer than 1,000 characters (1,004)",
    ]
    assert no_controls(engine)


@pytest.mark.parametrize("source", [PNF_HF, PNF_XML])
def test_a_document_too_large_to_parse_in_memory_is_refused_whole(
    engine: Engine, tmp_path: Path, source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_DOCUMENT_BYTES", len(source.read_bytes()) - 1)
    with pytest.raises(SourceError, match=r"document larger than .* MiB: split it"):
        import_file(engine, source)
    assert count(engine) == 0
    monkeypatch.setattr(limits, "MAX_DOCUMENT_BYTES", len(source.read_bytes()))
    assert import_file(engine, source).new > 0  # at the limit it imports
