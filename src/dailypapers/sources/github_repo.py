"""GitHub repositories: which code links name one (`owner/name`), and what GitHub's REST API answers about one
(`GET /repos/{owner}/{repo}`: its current name, stars and last push).

Names are compared case-insensitively, as GitHub does: `key` is the lower-cased `owner/name` that papers'
links are matched by; `full_name` is the spelling GitHub answers with (after a rename, the new name).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import orjson

from dailypapers.sources.dates import parse_iso
from dailypapers.sources.limits import MAX_UPVOTES
from dailypapers.sources.record import SourceError

HOSTS = ("github.com", "www.github.com")
# First path segments of github.com that are GitHub's own pages, not accounts.
RESERVED = frozenset(
    {
        "about",
        "apps",
        "blog",
        "codespaces",
        "collections",
        "contact",
        "customer-stories",
        "enterprise",
        "events",
        "explore",
        "features",
        "issues",
        "join",
        "login",
        "marketplace",
        "new",
        "notifications",
        "organizations",
        "orgs",
        "pricing",
        "pulls",
        "search",
        "security",
        "settings",
        "site",
        "sponsors",
        "stars",
        "topics",
        "trending",
        "users",
    }
)
_OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}")
_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")


@dataclass(frozen=True, slots=True)
class RepoName:
    owner: str
    name: str

    @property
    def key(self) -> str:
        """`owner/name`, lower-cased: the same repository however a link spells it."""
        return f"{self.owner}/{self.name}".lower()


@dataclass(frozen=True, slots=True)
class RepoInfo:
    """What GitHub said about a repository."""

    full_name: str
    stars: int
    pushed_at: dt.datetime | None
    github_id: int | None = None


def parse_repo_url(url: str) -> RepoName | None:
    """The repository a link points into (`https://github.com/owner/name/tree/main/x` -> owner/name), or
    None for anything else (other hosts, profiles, GitHub's own pages, malformed names)."""
    try:
        parts = urlsplit(url.strip() if "://" in url else "https://" + url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return None
    if host not in HOSTS:
        return None
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) < 2:
        return None
    owner, name = segments[0], segments[1]
    if name.lower().endswith(".git"):
        name = name[:-4]
    if owner.lower() in RESERVED or not _OWNER.fullmatch(owner) or not _NAME.fullmatch(name):
        return None
    if name in (".", ".."):
        return None
    return RepoName(owner, name)


def repo_names(urls: Iterable[str]) -> list[str]:
    """The GitHub repositories among `urls` as `owner/name`, in order, each once (spelled as first linked)."""
    names: dict[str, str] = {}
    for url in urls:
        repo = parse_repo_url(url)
        if repo is not None:
            names.setdefault(repo.key, f"{repo.owner}/{repo.name}")
    return list(names.values())


def parse_repo(body: bytes, *, where: str = "") -> RepoInfo:
    """GitHub's answer to `GET /repos/{owner}/{repo}`; SourceError when it is not one.

    Stars are `stargazers_count`; answers from before GitHub added that field (2012-2013) only have
    `watchers_count`, which counted the same stars then.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SourceError(f"malformed JSON ({exc})", where=where) from exc
    if not isinstance(data, dict) or not isinstance(data.get("full_name"), str) or "/" not in data["full_name"]:
        raise SourceError("not a repository (no full_name)", where=where)
    owner, _, name = data["full_name"].partition("/")
    if not _OWNER.fullmatch(owner) or not _NAME.fullmatch(name):  # as GitHub names them: ASCII, bounded
        raise SourceError(f"not a repository name: {data['full_name'][:200]!r}", where=where)
    stars = data.get("stargazers_count", data.get("watchers_count"))
    if not isinstance(stars, int) or isinstance(stars, bool) or not 0 <= stars <= MAX_UPVOTES:
        raise SourceError(f"no star count in the answer for {data['full_name']}", where=where)
    pushed_at = None
    if isinstance(data.get("pushed_at"), str):
        try:
            pushed_at = parse_iso(data["pushed_at"])
        except ValueError as exc:
            raise SourceError(f"bad pushed_at {data['pushed_at']!r}", where=where) from exc
    github_id = data.get("id") if isinstance(data.get("id"), int) and 0 < data["id"] < 2**63 else None
    return RepoInfo(full_name=data["full_name"], stars=stars, pushed_at=pushed_at, github_id=github_id)
