"""Code repositories and project pages mentioned in an abstract or in the comments field."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_TAIL = re.compile(r"""[^\s<>"'{}|\\^`]+""")
# Where a URL may start, and which character may not precede it there (it would be inside
# another URL or word). Plain `str.find` scans are several times faster than a regex search.
_STARTS = (
    ("http", ""),
    ("www.", "/.:@-"),
    ("github.com/", "/.:@-"),
    ("gitlab.com/", "/.:@-"),
    ("huggingface.co/", "/.:@-"),
    ("bitbucket.org/", "/.:@-"),
)
# Cheap substring tests that every URL form above contains at least one of.
_HINTS = ("://", "www.", "WWW.", ".com/", ".co/", ".org/")


def _candidates(text: str) -> list[tuple[int, str]]:
    lowered = text.lower()
    found: list[tuple[int, str]] = []
    for needle, bad_before in _STARTS:
        i = lowered.find(needle)
        while i != -1:
            before = lowered[i - 1] if i else " "
            ok = before not in bad_before and not before.isalnum()
            if needle == "http":
                ok = ok and (lowered.startswith("://", i + 4) or lowered.startswith("s://", i + 4))
            if ok:
                m = _TAIL.match(text, i)
                assert m is not None
                found.append((i, m.group()))
                i = m.end()
            else:
                i += len(needle)
            i = lowered.find(needle, i)
    return found


_TRAILING = ".,;:!?'\"*"
_PAIRS = {")": "(", "]": "[", "}": "{"}

CODE_HOSTS = (
    "github.com",
    "gitlab.com",
    "bitbucket.org",
    "codeberg.org",
    "huggingface.co",
    "sourceforge.net",
)
# Links that are not the paper's code or project page.
_IGNORED_HOSTS = ("arxiv.org", "doi.org", "dx.doi.org", "creativecommons.org", "orcid.org")


def _strip_trailing(url: str) -> str:
    while url:
        last = url[-1]
        if last in _TRAILING or last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
            url = url[:-1]
        else:
            break
    return url


def _normalize(url: str) -> str:
    url = _strip_trailing(url)
    if not re.match(r"https?://", url, re.IGNORECASE):
        url = "https://" + url
    return url


def _host(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    return host[4:] if host.startswith("www.") else host


def is_code_url(url: str) -> bool:
    host = _host(url)
    if host == "huggingface.co":
        # Model and space pages count as code; a bare profile or the papers pages do not.
        path = urlsplit(url).path.strip("/").split("/")
        return len(path) >= 2 and path[0] not in ("papers", "blog", "docs")
    if host in CODE_HOSTS:
        return len(urlsplit(url).path.strip("/").split("/")) >= 2
    return False


def find_links(*texts: str) -> tuple[list[str], list[str]]:
    """Return `(code_urls, project_urls)` found in the texts, in order, without duplicates."""
    code: list[str] = []
    project: list[str] = []
    seen: set[str] = set()
    for text in texts:
        if not text or not any(hint in text for hint in _HINTS):
            continue
        for _, raw in sorted(_candidates(text)):
            url = _normalize(raw)
            host = _host(url)
            key = url.rstrip("/").lower()
            if not host or "." not in host or key in seen:
                continue
            seen.add(key)
            if is_code_url(url):
                code.append(url)
            elif not any(host == h or host.endswith("." + h) for h in _IGNORED_HOSTS):
                project.append(url)
    return code, project
