"""The JSON sources (Kaggle snapshot lines, seed papers, Hugging Face answers) on random bytes, random objects
and real records with a field replaced: each item is a record within every limit or a SourceError; a whole
Hugging Face document may be refused with a SourceError; nothing else ever escapes."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from dailypapers.sources import github_repo, hf_json, kaggle, seed
from dailypapers.sources.detect import detect_format
from dailypapers.sources.record import UTF8_BOM, SourceError
from tests.property.strategies import (
    DATE_TEXTS,
    FAST,
    ID_TEXTS,
    VERSION_TEXTS,
    big_texts,
    check_item,
    hf_items,
    json_objects,
    json_texts,
    json_values,
    kaggle_objects,
    one_of_these,
    replaced,
)

KAGGLE = kaggle_objects()
HF = hf_items()
KAGGLE_KEYS = [
    "id", "title", "abstract", "authors", "authors_parsed", "versions", "categories", "comments", "doi",
    "journal-ref", "license", "update_date", "submitter",
]  # fmt: skip
HF_KEYS = [
    "id", "title", "summary", "authors", "publishedAt", "submittedOnDailyAt", "submittedOnDailyBy", "upvotes",
    "githubRepo", "projectPage", "organization", "ai_summary", "ai_keywords", "mediaUrls", "githubStars",
]  # fmt: skip


def kaggle_field(key: str) -> st.SearchStrategy[Any]:
    """Values made for one field of a snapshot object."""
    if key == "id":
        return ID_TEXTS
    if key in ("update_date",):
        return DATE_TEXTS
    if key == "versions":
        version = st.fixed_dictionaries({"version": VERSION_TEXTS | json_values, "created": DATE_TEXTS | json_values})
        return st.lists(version, max_size=4)
    if key == "authors_parsed":
        return st.lists(st.lists(json_texts | json_values, max_size=5), max_size=4)
    if key == "categories":
        return st.sampled_from(["cs.CL", "hep-ph math.CO", "x" * 70, " ", "cs.CL\x00 cs.LG"]) | json_texts
    return json_texts | big_texts


def hf_field(key: str) -> st.SearchStrategy[Any]:
    if key == "id":
        return ID_TEXTS
    if key in ("publishedAt", "submittedOnDailyAt"):
        return DATE_TEXTS
    if key == "upvotes":
        return st.sampled_from([0, 5, -1, 2**31 - 1, 2**31, 2**63 - 1]) | st.integers(-(2**63), 2**64 - 1)
    if key in ("submittedOnDailyBy", "organization"):
        return st.fixed_dictionaries({"name": json_texts, "user": json_texts, "fullname": json_texts | json_values})
    if key == "authors":
        return st.lists(st.fixed_dictionaries({"name": json_texts | json_values, "hidden": st.booleans()}), max_size=4)
    if key in ("githubRepo", "projectPage"):
        return st.sampled_from(["https://github.com/a/b", "http://x.org/" + "p" * 3000, "http://\x00"]) | json_texts
    return json_texts | big_texts


kaggle_lines = st.one_of(
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    json_objects(KAGGLE_KEYS, kaggle_field).map(orjson.dumps),
    st.builds(replaced, one_of_these(KAGGLE), st.sampled_from(KAGGLE_KEYS), st.deferred(lambda: json_values)).map(
        orjson.dumps
    ),
    st.sampled_from(KAGGLE_KEYS).flatmap(
        lambda key: st.builds(replaced, one_of_these(KAGGLE), st.just(key), kaggle_field(key)).map(orjson.dumps)
    ),
)


@FAST
@given(st.lists(kaggle_lines, min_size=1, max_size=4), st.booleans())
def test_kaggle_lines_give_records_or_source_errors(lines: list[bytes], bom: bool) -> None:
    data = (UTF8_BOM if bom else b"") + b"\n".join(lines) + b"\n"
    for item in kaggle.iter_file(io.BytesIO(data), "f.jsonl"):
        check_item(item)
        if isinstance(item, SourceError):
            assert item.where.startswith("f.jsonl:")


@FAST
@given(one_of_these(KAGGLE))
def test_kaggle_records_with_a_bom_read_as_without(obj: dict[str, Any]) -> None:
    line = orjson.dumps(obj)
    plain = list(kaggle.iter_file(io.BytesIO(line), "f"))
    assert plain == list(kaggle.iter_file(io.BytesIO(UTF8_BOM + line), "f"))
    assert len(plain) == 1 and not isinstance(plain[0], SourceError)


seed_objects = st.fixed_dictionaries(
    {"rank": json_values, "title": json_texts | big_texts | json_values, "abstract": json_texts | json_values}
)
seed_lines = st.one_of(st.binary(max_size=200), json_values.map(orjson.dumps), seed_objects.map(orjson.dumps))


@FAST
@given(st.lists(seed_lines, min_size=1, max_size=4), st.booleans())
def test_seed_lines_give_records_or_source_errors(lines: list[bytes], bom: bool) -> None:
    data = (UTF8_BOM if bom else b"") + b"\n".join(lines)
    for item in seed.iter_file(io.BytesIO(data), "seed.jsonl"):
        check_item(item)


real_papers = one_of_these(HF).map(lambda item: item["paper"])
hf_papers = st.one_of(
    json_objects(HF_KEYS, hf_field),
    st.builds(replaced, real_papers, st.sampled_from(HF_KEYS), json_values),
    st.sampled_from(HF_KEYS).flatmap(lambda key: st.builds(replaced, real_papers, st.just(key), hf_field(key))),
)
hf_documents = st.one_of(
    st.binary(max_size=300),
    json_values.map(orjson.dumps),
    hf_papers.map(orjson.dumps),
    st.lists(st.one_of(hf_papers.map(lambda p: {"paper": p}), hf_papers, json_values), max_size=4).map(orjson.dumps),
)


@FAST
@given(hf_documents, st.booleans(), st.none() | st.dates())
def test_hugging_face_documents_give_records_or_source_errors(data: bytes, bom: bool, day: dt.date | None) -> None:
    try:
        records, errors = hf_json.parse((UTF8_BOM if bom else b"") + data, where="hf.json", day=day)
    except SourceError as exc:  # the whole document: not JSON, not a papers answer
        assert str(exc).startswith("hf.json: ")
        return
    for item in (*records, *errors):
        check_item(item)


@FAST
@given(st.binary(max_size=600) | kaggle_lines | hf_documents, st.sampled_from([b"", UTF8_BOM, b"\xff\xfe", b" \n"]))
def test_detect_format_names_a_format_or_refuses(data: bytes, prefix: bytes) -> None:
    try:
        form = detect_format(prefix + data, where="x")
    except SourceError as exc:
        assert str(exc).startswith("x: ")
    else:
        assert form.line_parser or form.document_parser


repo_fields = {
    "full_name": st.sampled_from(["a/b", "Owner/name.git", "a/b\x00", "/b", "a/", "a/" + "b" * 150]) | json_texts,
    "stargazers_count": st.sampled_from([0, 3, -1, 2**31]) | json_values,
    "watchers_count": json_values,
    "pushed_at": DATE_TEXTS | json_values,
    "id": json_values,
}


@FAST
@given(st.binary(max_size=200) | json_objects(list(repo_fields), repo_fields.__getitem__).map(orjson.dumps))
def test_github_answers_give_a_repository_or_a_source_error(body: bytes) -> None:
    try:
        info = github_repo.parse_repo(body, where="gh")
    except SourceError as exc:
        assert str(exc).startswith("gh: ")
        return
    owner, name = info.full_name.split("/")
    assert owner and name and info.full_name.isascii() and info.full_name.isprintable()
    assert 0 <= info.stars < 2**31 and len(info.full_name) <= 200  # INTEGER and VARCHAR(200) columns
    assert info.github_id is None or 0 < info.github_id < 2**63  # BIGINT
