"""The JSON API, read by the real `huggingface_hub` client as it would read huggingface.co."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError


@pytest.fixture(scope="module")
def hf(demo_server: str) -> HfApi:
    return HfApi(endpoint=demo_server, token=False)


def test_list_daily_papers_by_date_is_sorted_by_upvotes(hf: HfApi) -> None:
    papers = list(hf.list_daily_papers(date="2026-06-12", sort="trending"))
    assert len(papers) == 30
    upvotes = [p.upvotes or 0 for p in papers]
    assert upvotes == sorted(upvotes, reverse=True)
    top = papers[0]
    assert top.id == "2606.13681"
    assert top.title.startswith("EvoArena")
    assert top.upvotes == 118
    assert top.submitted_by is not None and top.submitted_by.username
    assert top.authors and top.authors[0].name == "Jundong Xu"


def test_week_month_limit_and_paging(hf: HfApi) -> None:
    week = list(hf.list_daily_papers(week="2026-W28"))
    assert {p.id for p in week} and len(week) == 11  # only 2026-07-10 falls in ISO week 28
    month = list(hf.list_daily_papers(month="2026-07", limit=50))
    rest = list(hf.list_daily_papers(month="2026-07", limit=50, p=1))
    assert len(month) == 50 and len(rest) == 5
    assert not {p.id for p in month} & {p.id for p in rest}
    assert len(list(hf.list_daily_papers(date="2026-07-31", limit=7))) == 7


def test_sort_published_and_submitter_filter(hf: HfApi) -> None:
    newest = list(hf.list_daily_papers(date="2026-06-12", sort="publishedAt"))
    dates = [p.published_at for p in newest]
    assert dates == sorted(dates, reverse=True)
    # As on Hugging Face, no sort means publishedAt.
    assert [p.id for p in hf.list_daily_papers(date="2026-06-12")] == [p.id for p in newest]
    mine = list(hf.list_daily_papers(submitter="taesiri"))
    assert len(mine) == 4 and all(p.submitted_by.username == "taesiri" for p in mine)


def test_pages_are_linked_with_a_link_header(demo_server: str) -> None:
    url = f"{demo_server}/api/daily_papers"
    first = httpx.get(url, params={"month": "2026-07", "limit": 50, "junk": "x"})
    link = first.headers["link"]
    assert link.endswith('>; rel="next"') and "junk" not in link
    following = httpx.get(link[1 : link.index(">")])
    assert following.status_code == 200 and len(following.json()) == 5 and "link" not in following.headers
    assert not {p["paper"]["id"] for p in first.json()} & {p["paper"]["id"] for p in following.json()}
    assert "link" not in httpx.get(url, params={"date": "2026-07-31", "limit": 100}).headers


def test_default_is_most_recent_days_first(hf: HfApi) -> None:
    papers = list(hf.list_daily_papers(limit=40))
    assert papers[0].id in {p.id for p in hf.list_daily_papers(date="2026-07-31")}


def test_paper_info_and_read_paper(hf: HfApi) -> None:
    info = hf.paper_info("2607.28618")
    assert info.title.startswith("AskChem")
    assert info.upvotes == 292
    assert info.github_repo and info.github_repo.startswith("https://github.com/")
    assert info.authors and len(info.authors) >= 4
    # arXiv metadata from the API fixture merged with Hugging Face's record.
    raw = httpx.get(f"{hf.endpoint}/api/papers/2607.28618").json()
    assert raw["categories"][0] == "cs.CL" and raw["submittedOnDailyAt"].startswith("2026-07-31")
    md = hf.read_paper("2607.28618")
    assert md.startswith("# AskChem") and "https://arxiv.org/abs/2607.28618" in md and "292 upvotes" in md


def test_versioned_and_url_ids_resolve(hf: HfApi) -> None:
    assert hf.paper_info("2607.28618v1").id == "2607.28618"


def test_unknown_paper_is_404_json(hf: HfApi) -> None:
    with pytest.raises(HfHubHTTPError) as err:
        hf.paper_info("2601.99999")
    assert err.value.response.status_code == 404
    r = httpx.get(f"{hf.endpoint}/api/papers/2601.99999")
    assert r.status_code == 404 and "not found" in r.json()["error"]


def test_list_papers_keyword_search(hf: HfApi) -> None:
    found = list(hf.list_papers(query="chemistry literature synthesis", limit=5))
    assert found and found[0].id == "2607.28618"
    assert list(hf.list_papers(query="zzzqqqxxx yyyqqqwww")) == []


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("date=2026-13-01", "no such date"),
        ("date=yesterday", "YYYY-MM-DD"),
        ("week=2026-W60", "no such ISO week"),
        ("month=2026-1", "YYYY-MM"),
        ("date=2026-07-31&week=2026-W31", "at most one"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("p=-1", "p"),
        ("sort=hot", "sort"),
    ],
)
def test_bad_parameters_are_422_with_reason(demo_server: str, query: str, reason: str) -> None:
    r = httpx.get(f"{demo_server}/api/daily_papers?{query}")
    assert r.status_code == 422
    assert reason in r.json()["error"]


@pytest.mark.parametrize("bad", ["abc", "2613.00001", "1'; DROP TABLE papers;--", "%00", "ü"])
def test_malformed_ids_are_400(demo_server: str, bad: str) -> None:
    r = httpx.get(f"{demo_server}/api/papers/{bad}")
    assert r.status_code == 400
    assert "arXiv id" in r.json()["error"]


@pytest.mark.parametrize(
    "q", ['"unbalanced', "a AND OR NOT (", "$\\alpha$ \\frac{1}{2}", "'; DROP TABLE papers; --", "ünïcödé 日本語", "*"]
)
def test_search_never_errors(demo_server: str, q: str) -> None:
    r = httpx.get(f"{demo_server}/api/papers/search", params={"q": q})
    assert r.status_code == 200 and isinstance(r.json(), list)


def test_openapi_describes_the_api(demo_server: str) -> None:
    spec = httpx.get(f"{demo_server}/openapi.json").json()
    assert {"/api/daily_papers", "/api/papers/search", "/api/papers/{paper_id}"} <= set(spec["paths"])


def test_etag_gives_304(demo_server: str) -> None:
    first = httpx.get(f"{demo_server}/api/daily_papers?date=2026-06-12")
    etag = first.headers["etag"]
    again = httpx.get(f"{demo_server}/api/daily_papers?date=2026-06-12", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["cache-control"] == first.headers["cache-control"]  # a cache keeps its rules (RFC 9110)


def test_oversized_body_is_413(demo_server: str) -> None:
    r = httpx.post(f"{demo_server}/api/daily_papers", content=b"x" * (2 << 20))
    assert r.status_code == 413
