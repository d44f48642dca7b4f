"""arXiv ids, links in abstracts, format detection and the small line/JSON readers, without a database."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from dailypapers.sources import hf_json, kaggle, seed
from dailypapers.sources.arxiv_ids import InvalidArxivId, abs_url, normalize_arxiv_id, parse_arxiv_id, pdf_url
from dailypapers.sources.code_links import find_links, is_code_url
from dailypapers.sources.detect import detect_format
from dailypapers.sources.record import PaperRecord, SourceError
from tests.support.fixtures import DEMO, FIXTURES, recording

KAGGLE = recording("kaggle_arxiv_snapshot", "head200_wanng-ide_arxivSpider_mnbvc.jsonl")
SEED = DEMO / "seed_papers.jsonl"


def hf_daily(name: str) -> Path:
    """A recorded `/api/daily_papers` answer (tests/fixtures/hf_daily_papers/, or the demo folder)."""
    return recording("hf_daily_papers", name)


# ---------------------------------------------------------------------------------------------
# arXiv identifiers


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # new style: 4 digits 0704-1412, 5 digits from 1501
        ("0704.0001", ("0704.0001", None)),
        ("1412.8765", ("1412.8765", None)),
        ("1501.00001", ("1501.00001", None)),
        ("2401.01234", ("2401.01234", None)),
        ("2401.01234v3", ("2401.01234", 3)),
        ("2401.01234v12", ("2401.01234", 12)),
        ("  2401.01234\n", ("2401.01234", None)),
        # old style; the subject class is not part of the key
        ("hep-th/9901001", ("hep-th/9901001", None)),
        ("hep-th/9901001v2", ("hep-th/9901001", 2)),
        ("cond-mat/0603029v1", ("cond-mat/0603029", 1)),
        ("math.GT/0309136", ("math/0309136", None)),
        ("math.GT/0309136v1", ("math/0309136", 1)),
        # prefixes and URLs
        ("arXiv:2401.01234", ("2401.01234", None)),
        ("arxiv:2401.01234v2", ("2401.01234", 2)),
        ("ARXIV:hep-th/9901001", ("hep-th/9901001", None)),
        ("oai:arXiv.org:2401.01234", ("2401.01234", None)),
        ("oai:arXiv.org:math/0309136", ("math/0309136", None)),
        ("https://arxiv.org/abs/2401.01234", ("2401.01234", None)),
        ("http://arxiv.org/abs/2401.01234v2", ("2401.01234", 2)),
        ("https://www.arxiv.org/abs/2401.01234/", ("2401.01234", None)),
        ("https://export.arxiv.org/abs/hep-th/9901001v3", ("hep-th/9901001", 3)),
        ("arxiv.org/abs/2401.01234", ("2401.01234", None)),
        ("https://arxiv.org/abs/2401.01234?context=cs.LG#section", ("2401.01234", None)),
        ("https://arxiv.org/pdf/2401.01234", ("2401.01234", None)),
        ("https://arxiv.org/pdf/2401.01234v2", ("2401.01234", 2)),
        ("https://arxiv.org/pdf/2401.01234v2.pdf", ("2401.01234", 2)),
        ("http://arxiv.org/pdf/cond-mat/0603029v1.pdf", ("cond-mat/0603029", 1)),
        ("https://arxiv.org/html/2401.01234v1", ("2401.01234", 1)),
        ("https://arxiv.org/abs/math.GT/0309136", ("math/0309136", None)),
        ("https://arxiv.org/abs/hep-th%2F9901001", ("hep-th/9901001", None)),
    ],
)
def test_parse_arxiv_id(text: str, expected: tuple[str, int | None]) -> None:
    assert parse_arxiv_id(text) == expected
    assert normalize_arxiv_id(text) == expected[0]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "not an arXiv id or arXiv URL"),
        ("2313.00001", "month 13 out of range"),
        ("2400.01234", "month 00 out of range"),
        ("1401.12345", "5-digit numbers start in 2015"),
        ("0808.05394", "5-digit numbers start in 2015"),
        ("2401.0123", "4-digit numbers are from 0704 to 1412"),
        ("0612.1234", "4-digit numbers are from 0704 to 1412"),
        ("2401.01234v0", "not an arXiv id or arXiv URL"),
        ("2401.01234v", "not an arXiv id or arXiv URL"),
        ("2401.123", "not an arXiv id or arXiv URL"),
        ("2401.123456", "not an arXiv id or arXiv URL"),
        ("hep-th/990100", "not an arXiv id or arXiv URL"),
        ("HEP-TH/9901001", "not an arXiv id or arXiv URL"),
        ("x2401.01234", "not an arXiv id or arXiv URL"),
        ("https://example.com/abs/2401.01234", "not an arXiv id or arXiv URL"),
        ("https://arxiv.org/list/cs.LG/recent", "not an arXiv id or arXiv URL"),
        ("1' OR '1'='1", "not an arXiv id or arXiv URL"),
        ("2401.01234'; DROP TABLE papers; --", "not an arXiv id or arXiv URL"),
        ("2401.01234 OR 1=1", "not an arXiv id or arXiv URL"),
        # digits of other scripts are not arXiv digits
        ("２４０１.０１２３４", "not an arXiv id or arXiv URL"),
        ("٢٤٠١.٠١٢٣٤", "not an arXiv id or arXiv URL"),
        ("2401.01234é", "not an arXiv id or arXiv URL"),
        ("", "not an arXiv id or arXiv URL"),
        ("   ", "not an arXiv id or arXiv URL"),
    ],
)
def test_parse_arxiv_id_rejects_with_a_message_naming_the_text(text: str, reason: str) -> None:
    with pytest.raises(InvalidArxivId) as info:
        parse_arxiv_id(text)
    message = str(info.value)
    assert reason in message
    assert repr(text.strip()) in message
    assert isinstance(info.value, ValueError)


def test_parse_arxiv_id_of_none_is_rejected() -> None:
    with pytest.raises(InvalidArxivId, match="not an arXiv id"):
        parse_arxiv_id(None)  # type: ignore[arg-type]


def test_every_kaggle_fixture_id_is_its_own_normal_form() -> None:
    for line in KAGGLE.read_bytes().splitlines():
        raw = orjson.loads(line)["id"]
        assert parse_arxiv_id(raw) == (raw, None)
        assert parse_arxiv_id(abs_url(raw) + "v2") == (raw, 2)
        assert parse_arxiv_id(pdf_url(raw) + "v1.pdf") == (raw, 1)


# ---------------------------------------------------------------------------------------------
# Links in abstracts


def test_links_trailing_punctuation_is_stripped() -> None:
    abstract = (
        "We release our code at https://github.com/thu-coai/SPaR. Results (see "
        "https://github.com/naver-ai/RRR), and https://gitlab.com/group/tool, are robust; "
        "data: https://zenodo.org/record/123456; demo at https://sites.google.com/view/demo!"
    )
    code, project = find_links(abstract)
    assert code == [
        "https://github.com/thu-coai/SPaR",
        "https://github.com/naver-ai/RRR",
        "https://gitlab.com/group/tool",
    ]
    assert project == ["https://zenodo.org/record/123456", "https://sites.google.com/view/demo"]


def test_links_balanced_parentheses_are_kept() -> None:
    abstract = (
        "Following https://en.wikipedia.org/wiki/Transformer_(deep_learning_architecture), we "
        "(as in https://en.wikipedia.org/wiki/Attention_(machine_learning)) compare. "
        "Our code (https://github.com/org/repo) is public."
    )
    code, project = find_links(abstract)
    assert project == [
        "https://en.wikipedia.org/wiki/Transformer_(deep_learning_architecture)",
        "https://en.wikipedia.org/wiki/Attention_(machine_learning)",
    ]
    assert code == ["https://github.com/org/repo"]


def test_links_github_io_pages_are_project_pages_and_repositories_are_code() -> None:
    abstract = (
        "Project page: https://sunchipsster1.github.io/projects/outlandish/. "
        "Code: https://github.com/ChristianYang37/chiwun/tree/main/src/NTK-Attention. "
        "Models: https://huggingface.co/MiniMaxAI/MiniMax-M3 and the demo "
        "https://huggingface.co/spaces/Jiaqi-hkust/Robust-U1; data https://huggingface.co/datasets/nvidia/HelpSteer2."
    )
    code, project = find_links(abstract)
    assert project == ["https://sunchipsster1.github.io/projects/outlandish/"]
    assert code == [
        "https://github.com/ChristianYang37/chiwun/tree/main/src/NTK-Attention",
        "https://huggingface.co/MiniMaxAI/MiniMax-M3",
        "https://huggingface.co/spaces/Jiaqi-hkust/Robust-U1",
        "https://huggingface.co/datasets/nvidia/HelpSteer2",
    ]
    assert is_code_url("https://github.com/org/repo")
    assert not is_code_url("https://github.com/org")  # a profile, not a repository
    assert not is_code_url("https://huggingface.co/papers/2401.01234")
    assert not is_code_url("https://org.github.io/repo")


def test_links_to_arxiv_and_doi_are_ignored() -> None:
    abstract = (
        "Extends arXiv:2301.00001 (https://arxiv.org/abs/2301.00001v2, http://export.arxiv.org/pdf/2301.00001). "
        "Published as https://doi.org/10.1103/PhysRevD.76.013009 and http://dx.doi.org/10.1000/182. "
        "Licensed https://creativecommons.org/licenses/by/4.0/."
    )
    assert find_links(abstract) == ([], [])


def test_links_are_not_repeated() -> None:
    abstract = (
        "Code: https://github.com/foo/bar. Also see https://github.com/foo/bar/ and "
        "HTTPS://GITHUB.COM/foo/bar, or github.com/foo/bar, at https://foo.github.io/bar and https://foo.github.io/bar/."
    )
    comments = "Code at https://github.com/foo/bar"
    code, project = find_links(abstract, comments)
    assert code == ["https://github.com/foo/bar"]
    assert project == ["https://foo.github.io/bar"]


def test_links_without_scheme_and_inside_latex() -> None:
    code, project = find_links(r"Code is at \url{https://github.com/a/b}; see also www.example.org/page.")
    assert code == ["https://github.com/a/b"]
    assert project == ["https://www.example.org/page"]
    assert find_links("No links here, e.g. 3.5 m/s or x.com", "") == ([], [])
    assert find_links("", "") == ([], [])


def test_links_in_real_kaggle_comments() -> None:
    rec = _kaggle_record("0704.0156")
    assert rec.project_urls == ["http://rwcc.bao.ac.cn:8001/swap/NLFFF_DBIE_code/HeHan_NLFFF_JGR.pdf"]
    assert _kaggle_record("0704.0086").project_urls == ["http://www.imstat.org/aap/", "http://www.imstat.org"]


# ---------------------------------------------------------------------------------------------
# The Kaggle, HF and seed readers on their own


def _kaggle_record(arxiv_id: str) -> PaperRecord:
    for line in KAGGLE.read_bytes().splitlines():
        if orjson.loads(line)["id"] == arxiv_id:
            return kaggle.record_from_object(orjson.loads(line))
    raise AssertionError(arxiv_id)


def _kaggle_items(data: bytes, where: str = "f.jsonl") -> list[PaperRecord | SourceError]:
    return list(kaggle.iter_file(io.BytesIO(data), where))


def test_kaggle_fields_of_the_wrong_type_are_rejected_not_raised() -> None:
    good = orjson.loads(KAGGLE.read_bytes().splitlines()[0])
    bad_values = [
        {"title": 5},
        {"categories": ["hep-ph"]},
        {"versions": ["v1"]},
        {"versions": [{"version": "v1", "created": 20070402}]},
        {"doi": 10},
        {"authors_parsed": None, "authors": ["A. B."]},
        {"update_date": 2008},
        {"id": 704.0001},
        {"categories": "x" * 65},
    ]
    data = b"\n".join(orjson.dumps({**good, **change}) for change in bad_values) + b"\n"
    data += orjson.dumps(good) + b"\n"
    items = _kaggle_items(data)
    errors = [i for i in items if isinstance(i, SourceError)]
    assert [e.where.split(" ")[0] for e in errors] == [f"f.jsonl:{n}" for n in range(1, len(bad_values) + 1)]
    assert "(id 0704.0001)" in errors[0].where
    assert "wrong type" in errors[0].problem
    assert "category longer than 64" in errors[-1].problem
    assert [i.id for i in items if isinstance(i, PaperRecord)] == ["0704.0001"]


def test_kaggle_reader_numbers_lines_after_a_resume() -> None:
    items = list(kaggle.iter_file(io.BytesIO(b"\n{broken\n"), "snap.jsonl", start_line=41))
    assert len(items) == 1 and isinstance(items[0], SourceError)
    assert items[0].where == "snap.jsonl:43"


def test_hf_links_from_fields_and_summary_are_not_repeated() -> None:
    # Real items whose projectPage differs from the summary's link only by a trailing slash.
    items = orjson.loads(hf_daily("ai-weekly-radar_daily_papers_2026-07-09.json").read_bytes())
    items += orjson.loads(hf_daily("sotawhat_daily_papers_2026-06-12.json").read_bytes())
    records = {}
    for item in items:
        rec = hf_json.record_from_paper(item["paper"], item)
        records[rec.id] = rec
        for urls in (rec.code_urls, rec.project_urls):
            keys = [u.rstrip("/").lower() for u in urls]
            assert len(keys) == len(set(keys)), (rec.id, urls)
    assert records["2607.09024"].project_urls == ["https://genception.github.io/"]
    paper = {
        "id": "2401.01234",
        "title": "T",
        "summary": "Code: https://github.com/Org/Repo/ and https://org.github.io/page.",
        "githubRepo": "https://github.com/org/repo",
        "projectPage": "https://org.github.io/page/",
    }
    rec = hf_json.record_from_paper(paper)
    assert rec.code_urls == ["https://github.com/org/repo"]
    assert rec.project_urls == ["https://org.github.io/page/"]


@pytest.mark.parametrize(
    "document",
    [b'{"foo": 1}', b'{"error": "Invalid paper id"}', b'"a string"', b"42", b"null"],
)
def test_hf_document_that_is_not_a_papers_response_is_an_error(document: bytes) -> None:
    with pytest.raises(SourceError) as info:
        hf_json.parse(document, where="resp.json")
    assert str(info.value).startswith("resp.json: ")


def test_hf_bad_items_become_errors_and_the_others_records() -> None:
    good = orjson.loads(hf_daily("all-news-ai_daily_papers_2026-07_5items_pretty.json").read_bytes())[0]
    doc = [good, {"paper": 3}, 7, {"paper": {"id": "abc", "title": "x"}}, {"paper": {"id": "2401.01234", "title": 5}}]
    long_name = {**good, "paper": {**good["paper"], "submittedOnDailyBy": {"name": "x" * 97}}}
    doc.append(long_name)
    records, errors = hf_json.parse(orjson.dumps(doc), where="d.json")
    assert [r.id for r in records] == [good["paper"]["id"]]
    assert [e.where for e in errors] == [
        "d.json item 1",
        "d.json item 2",
        "d.json item 3 (id abc)",
        "d.json item 4 (id 2401.01234)",
        f"d.json item 5 (id {good['paper']['id']})",
    ]
    assert "submitter name longer than 96" in errors[-1].problem


def test_seed_reader_gives_stable_local_ids() -> None:
    items = list(seed.iter_file(io.BytesIO(SEED.read_bytes()), "seed.jsonl"))
    assert len(items) == 69 and all(isinstance(i, PaperRecord) for i in items)
    ids = [i.id for i in items if isinstance(i, PaperRecord)]
    assert len(set(ids)) == 69
    again = [i.id for i in seed.iter_file(io.BytesIO(SEED.read_bytes()), "seed.jsonl") if isinstance(i, PaperRecord)]
    assert ids == again
    assert seed.local_id("Attention  Calibration\nfor X") == seed.local_id("attention calibration for x")
    bad = list(seed.iter_file(io.BytesIO(b'{"rank": 1, "title": ""}\n[1]\n{"rank": 2'), "s.jsonl"))
    assert [e.where for e in bad if isinstance(e, SourceError)] == ["s.jsonl:1", "s.jsonl:2", "s.jsonl:3"]


# ---------------------------------------------------------------------------------------------
# Format detection


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (KAGGLE, "kaggle"),
        (recording("kaggle_arxiv_snapshot", "head200_Sharath-1736_Embedding-VecSearch.jsonl"), "kaggle"),
        (SEED, "seed"),
        (hf_daily("sotawhat_daily_papers_2026-06-12.json"), "hf"),
        (hf_daily("all-news-ai_daily_papers_2026-07_5items_pretty.json"), "hf"),
        (recording("hf_papers_api", "fastpaper_api_papers_2608.09888_pretty.json"), "hf"),
        (recording("arxiv_api", "sotawhat_search_transformer_cs.LG_2026-06-14.xml"), "arxiv-api"),
        (FIXTURES / "arxiv_oai" / "hepcrawl" / "arxiv-single.xml", "oai"),
    ],
)
def test_detect_format_of_real_files(path: Path, name: str) -> None:
    assert detect_format(path.read_bytes()[:8192], where=path.name).name == name


@pytest.mark.parametrize(
    ("head", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "cannot tell the file's format"),
        (b"hello, world\n", "cannot tell the file's format"),
        (b'{"foo": 1}\n', "cannot tell the file's format"),
        (b"<html><body>Not found</body></html>", "unknown XML document (root element <html>)"),
    ],
)
def test_detect_format_refuses_unknown_files_naming_them(head: bytes, message: str) -> None:
    with pytest.raises(SourceError) as info:
        detect_format(head, where="data/x.bin")
    assert str(info.value) == f"data/x.bin: {message}" or str(info.value).startswith(f"data/x.bin: {message}")
