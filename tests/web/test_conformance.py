"""HTTP and feed conformance: 405s name every allowed method, every error is `{"error": ...}` in the API,
Atom entries have one alternate link and the latest feed keeps its id."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/daily_papers", "GET, HEAD"),
        ("PUT", "/", "GET, HEAD"),
        ("DELETE", "/api/papers/2607.28618/comments", "GET, HEAD, POST"),
        # GET there is the paper route's, whose id may hold a slash (hep-th/9901001): it answers 400.
        ("PATCH", "/api/papers/2607.28618/upvote", "GET, HEAD, POST, DELETE"),
    ],
)
def test_405_lists_every_method_of_the_path(demo_server: str, method: str, path: str, allowed: str) -> None:
    r = httpx.request(method, demo_server + path)
    assert r.status_code == 405
    assert r.headers["allow"] == allowed
    if path.startswith("/api/"):
        assert r.json() == {"error": "Method Not Allowed"}


def test_api_errors_have_one_shape(demo_server: str) -> None:
    for method, path in (("GET", "/api/nowhere"), ("POST", "/api/daily_papers"), ("GET", "/api/papers/x y")):
        r = httpx.request(method, demo_server + path)
        assert r.status_code >= 400 and set(r.json()) == {"error"}, (path, r.text)


def test_comments_of_a_paper_are_listed_not_taken_for_a_paper_id(demo_server: str) -> None:
    r = httpx.get(f"{demo_server}/api/papers/2607.28618/comments")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert isinstance(r.json(), list)
    missing = httpx.get(f"{demo_server}/api/papers/2607.99999/comments")
    assert missing.status_code == 404 and "2607.99999" in missing.json()["error"]
    assert httpx.get(f"{demo_server}/api/papers/not-an-id/comments").status_code == 400


@pytest.mark.parametrize("path", ["/feed.atom", "/date/2026-07-31/feed.atom", "/feed.atom?cat=cs.CL"])
def test_atom_entries_have_one_alternate_link_and_the_feed_a_lasting_id(demo_server: str, path: str) -> None:
    r = httpx.get(demo_server + path)
    assert r.status_code == 200
    root = etree.fromstring(r.content)
    entries = root.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        links = entry.findall(f"{ATOM}link")
        alternates = [link for link in links if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == 1 and alternates[0].get("type") == "text/html"
        assert alternates[0].get("href").startswith(demo_server + "/papers/")
        related = [link for link in links if link.get("rel") == "related"]
        assert all(link.get("href").startswith("https://arxiv.org/abs/") for link in related)
    feed_id = root.findtext(f"{ATOM}id")
    if path.startswith("/feed.atom"):  # the latest day's feed: its id is the feed's own URL, whatever the day
        assert feed_id == demo_server + path
    else:
        assert feed_id == demo_server + "/date/2026-07-31"


def test_the_openapi_document_says_how_to_authenticate_and_what_errors_look_like(demo_server: str) -> None:
    doc = httpx.get(f"{demo_server}/openapi.json").json()
    assert doc["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "an API token from the settings page",
    }
    assert doc["components"]["schemas"]["Error"]["required"] == ["error"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    upvote = doc["paths"]["/api/papers/{paper_id}/upvote"]["post"]
    assert {"401", "403", "404", "422", "429"} <= set(upvote["responses"])
    assert upvote["security"] == [{"bearerAuth": []}, {"sessionCookie": []}]
    assert doc["paths"]["/api/subscriptions"]["post"]["security"] == [{}]  # anyone may subscribe
    listing = doc["paths"]["/api/daily_papers"]["get"]
    assert "security" not in listing and listing["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"
    }
