"""Search and similar papers over HTTP on the demo data (with its shipped embeddings), both databases:
the results page, the HF-shaped API in each mode, `/api/papers/{id}/similar`, the paper page's section."""

from __future__ import annotations

import httpx
import pytest
from huggingface_hub import HfApi
from lxml import html

# A known item of bench/search_eval: described without the words of its title.
PARAPHRASE = "language-model planner for trade execution that slices a big position into smaller pieces"
TARGET = "2607.28410"


def _get(base: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(base + path, params=params, timeout=60)


def test_results_page_looks_like_the_seed_with_highlights(demo_server: str) -> None:
    r = _get(demo_server, "/search", q="diffusion model")
    assert r.status_code == 200
    page = html.fromstring(r.text)
    results = page.cssselect("ol.results li.result")
    assert 3 <= len(results) <= 20
    first = results[0]
    assert first.cssselect("h2.title a")[0].get("href").startswith("/papers/")
    assert first.cssselect("p.abstract") and first.cssselect(".votes .count")
    assert page.cssselect("ol.results mark"), "matched words are highlighted"
    assert [a.text for a in page.cssselect("nav.modes a.active")] == ["Best match"]
    assert page.cssselect("main input[name=q]")[0].get("value") == "diffusion model"


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
def test_a_description_in_other_words_finds_the_paper(demo_server: str, mode: str) -> None:
    items = _get(demo_server, "/api/papers/search", q=PARAPHRASE, mode=mode).json()
    assert TARGET in [i["paper"]["id"] for i in items[:3]]
    page = html.fromstring(_get(demo_server, "/search", q=PARAPHRASE, mode=mode).text)
    assert page.xpath(f"//li[@id='paper-{TARGET}']")


def test_modes_differ_and_bad_modes_are_refused(demo_server: str) -> None:
    keyword = [i["paper"]["id"] for i in _get(demo_server, "/api/papers/search", q=PARAPHRASE, mode="keyword").json()]
    semantic = [i["paper"]["id"] for i in _get(demo_server, "/api/papers/search", q=PARAPHRASE, mode="semantic").json()]
    assert keyword != semantic
    assert _get(demo_server, "/api/papers/search", q="x", mode="fuzzy").status_code == 422
    assert _get(demo_server, "/search", q="x", mode="fuzzy").status_code == 400
    assert _get(demo_server, "/search", q="x" * 501).status_code == 400


def test_gibberish_finds_nothing_in_any_mode(demo_server: str) -> None:
    for mode in ("hybrid", "keyword", "semantic"):
        assert _get(demo_server, "/api/papers/search", q="zzzqqqxxx yyyqqqwww", mode=mode).json() == []
    assert "No papers found" in _get(demo_server, "/search", q="zzzqqqxxx").text


@pytest.mark.parametrize(
    "q",
    ['"unbalanced', "a AND OR NOT (", "$\\alpha$-divergence", "'; DROP TABLE papers; --", "日本語 ünï", "*", "author:"],
)
def test_hostile_queries_get_pages(demo_server: str, q: str) -> None:
    for mode in ("hybrid", "keyword", "semantic"):
        r = _get(demo_server, "/search", q=q, mode=mode)
        assert r.status_code == 200 and "<script>alert" not in r.text


def test_filters_apply_to_semantic_hits(demo_server: str) -> None:
    items = _get(
        demo_server, "/api/papers/search", q="robots learning to grasp objects cat:cs.RO", mode="semantic"
    ).json()
    assert items
    for item in items:
        info = _get(demo_server, f"/api/papers/{item['paper']['id']}").json()
        assert "cs.RO" in info.get("categories", []) or info.get("primary_category") == "cs.RO", info["id"]


def test_hf_client_searches_by_meaning(demo_server: str) -> None:
    hf = HfApi(endpoint=demo_server)
    assert TARGET in [p.id for p in hf.list_papers(query=PARAPHRASE, limit=5)]


def test_similar_papers_api_and_page(demo_server: str) -> None:
    similar = _get(demo_server, f"/api/papers/{TARGET}/similar", limit="5").json()
    assert len(similar) == 5 and TARGET not in [s["id"] for s in similar]
    scores = [s["similarity"] for s in similar]
    assert scores == sorted(scores, reverse=True) and all(-1 <= s <= 1 for s in scores)
    assert {"id", "title", "summary", "authors"} <= set(similar[0])
    page = html.fromstring(_get(demo_server, f"/papers/{TARGET}").text)
    links = [a.get("href") for a in page.cssselect("section.similar li a")]
    assert links and links[0] == f"/papers/{similar[0]['id']}"
    assert _get(demo_server, "/api/papers/2601.99999/similar").status_code == 404
    assert _get(demo_server, "/api/papers/not-an-id/similar").status_code == 400
