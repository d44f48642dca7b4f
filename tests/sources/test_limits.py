"""The one text normalizer every source's text goes through, and the limits every record is admitted by
(sources/limits.py): what they keep, what they drop, and what a rejection says."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pytest

from dailypapers.sources import limits
from dailypapers.sources.detect import detect_format
from dailypapers.sources.limits import admit
from dailypapers.sources.record import (
    UTF8_BOM,
    Author,
    Listing,
    PaperRecord,
    SourceError,
    Submitter,
    Version,
    clean_text,
    normalize_text,
    strip_bom,
)
from dailypapers.sources.seed import iter_file as seed_lines

UTC = dt.UTC


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("plain", "plain"),
        ("NUL\x00 in\x00side", "NUL inside"),
        ("bell\x07 escape\x1b[0m del\x7f", "bell escape[0m del"),
        ("C1\x80\x9f controls", "C1 controls"),
        ("lines\r\nand\rbreaks\x0bvt\x0cff\x85nel", "lines\nand\nbreaks\nvt\nff\nnel"),
        ("tab\tand\nnewline stay", "tab\tand\nnewline stay"),
        ("unpaired \ud800surrogate\udfff", "unpaired surrogate"),
        ("Bal\u0061\u0301zs", "Balázs"),  # NFC: one character, as typed
        ("\u212b ångström", "\u00c5 ångström"),  # the angstrom sign's canonical form
        ("ﬁ full-width ｘ", "ﬁ full-width ｘ"),  # compatibility forms are text, not damage: NFC keeps them
        ("", ""),
    ],
)
def test_the_normalizer_drops_controls_and_surrogates_and_composes(raw: str, normalized: str) -> None:
    assert normalize_text(raw) == normalized
    assert normalize_text(normalized) == normalized
    assert clean_text(raw) == " ".join(normalized.split())


def test_a_byte_order_mark_is_stripped_only_at_the_start() -> None:
    assert strip_bom(UTF8_BOM + b'{"a": 1}') == b'{"a": 1}'
    assert strip_bom(b'{"a": "\xef\xbb\xbf"}') == b'{"a": "\xef\xbb\xbf"}'
    assert detect_format(UTF8_BOM + b'{"rank": 1, "title": "x"}\n').name == "seed"
    assert detect_format(UTF8_BOM + b"\n <?xml version='1.0'?><rss/>").name == "rss"
    with pytest.raises(SourceError, match="f.jsonl: the file is in UTF-16: save it as UTF-8"):
        detect_format('{"id": "0704.0001"}'.encode("utf-16"), where="f.jsonl")


def record(**fields: object) -> PaperRecord:
    return PaperRecord(**{"id": "2401.01234", "source": "test", "title": "A title", **fields})  # type: ignore[arg-type]


def test_admit_normalizes_every_text_of_a_record_even_inside_extra() -> None:
    rec = admit(
        record(
            title="A\x00 title",
            authors=[Author("Ada\x00 Lovelace", ("Analytical\x07 Engine",))],
            categories=["cs.CL\x00"],
            versions=[Version(1, None, "12kb\x00")],
            code_urls=["https://github.com/a/b\x00"],
            listing=Listing(dt.date(2026, 1, 5), "test", Submitter("ada\x00", "Ada\x00 L.", "/a\x00.png")),
            extra={"ai_summary": "Sums\x00 up", "keys\x00": ["one\x00", {"deep\x00": "er\x00"}], "n": 3},
        )
    )
    assert (rec.title, rec.authors, rec.categories) == (
        "A title",
        [Author("Ada Lovelace", ("Analytical Engine",))],
        ["cs.CL"],
    )
    assert rec.versions == [Version(1, None, "12kb")] and rec.code_urls == ["https://github.com/a/b"]
    assert rec.listing is not None and rec.listing.submitter == Submitter("ada", "Ada L.", "/a.png")
    assert rec.extra == {"ai_summary": "Sums up", "keys": ["one", {"deep": "er"}], "n": 3}


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"title": "t" * 1_001}, "title longer than 1,000 characters (1,001)"),
        ({"title": " "}, "empty title"),
        ({"abstract": "a" * 20_001}, "abstract longer than 20,000 characters (20,001)"),
        ({"comments": "c" * 4_001}, "comments longer than 4,000 characters (4,001)"),
        ({"journal_ref": "j" * 1_001}, "journal ref longer than 1,000 characters"),
        ({"doi": "10." + "d" * 300}, "doi longer than 300 characters"),
        ({"license": "l" * 301}, "license longer than 300 characters"),
        ({"authors": [Author(f"A{i}") for i in range(10_001)]}, "more than 10,000 authors (10,001)"),
        ({"authors": [Author("n" * 301)]}, "author name longer than 300 characters"),
        ({"authors": [Author("Ada", tuple(f"U{i}" for i in range(51)))]}, "more than 50 affiliations of 'Ada'"),
        ({"authors": [Author("Ada", ("u" * 1_001,))]}, "affiliation longer than 1,000 characters"),
        ({"categories": [f"c{i}" for i in range(101)]}, "more than 100 categories"),
        ({"categories": ["cs.CL", "x" * 65]}, "category longer than 64 characters (65)"),
        ({"versions": [Version(2**31)]}, "version number out of range 0 to 1,000 (2,147,483,648)"),
        ({"versions": [Version(n) for n in range(1, 1_002)]}, "more than 1,000 versions"),
        ({"code_urls": ["https://x.org/" + "p" * 2_000]}, "link longer than 2,000 characters"),
        ({"project_urls": [f"https://x.org/{i}" for i in range(101)]}, "more than 100 project links"),
        ({"published": dt.datetime(1899, 12, 31, tzinfo=UTC)}, "published date 1899-12-31T00:00:00+00:00 is outside"),
        ({"announced": dt.date(3000, 1, 1)}, "announcement day 3000-01-01 is outside the years 1900 to 2999"),
        ({"listing": Listing(dt.date(2026, 1, 5), "t", upvotes=2**31)}, "upvotes out of range 0 to 2,147,483,647"),
        ({"listing": Listing(dt.date(2026, 1, 5), "t", Submitter("s" * 97))}, "submitter name longer than 96"),
        ({"extra": {"ai_summary": "s" * 100_000}}, "other fields longer than 100,000 bytes of JSON"),
    ],
)
def test_a_record_over_a_limit_is_refused_naming_the_field_and_the_limit(fields: dict[str, object], says: str) -> None:
    with pytest.raises(SourceError) as refused:
        admit(record(**fields))
    assert refused.value.problem.startswith(says)


def test_the_limits_are_above_real_papers_and_the_columns_they_fill() -> None:
    assert limits.MAX_ID == 64 and limits.MAX_CATEGORY == 64 and limits.MAX_USER_NAME == 96  # VARCHAR sizes
    assert limits.MAX_UPVOTES == 2**31 - 1  # INTEGER
    assert limits.MAX_AUTHORS > 5_154  # ATLAS and CMS, arXiv:1503.07589
    exactly = record(title="t" * 1_000, abstract="a" * 20_000, comments="c" * 4_000)
    assert admit(dataclasses.replace(exactly)) == exactly


def test_a_seed_line_over_a_limit_is_rejected_with_its_local_id() -> None:
    lines = b'{"rank": 1, "title": "Fine"}\n{"rank": 2, "title": "' + b"t" * 1_001 + b'"}\n'
    fine, over = seed_lines(io.BytesIO(lines), "seed.jsonl")
    assert isinstance(fine, PaperRecord) and isinstance(over, SourceError)
    assert str(over).startswith("seed.jsonl:2 (id local-") and "title longer than 1,000 characters" in str(over)
