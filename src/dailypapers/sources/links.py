"""Code repositories and project pages mentioned in an abstract or in the comments field."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

_URL = re.compile(r"""(?:https?://|www\.)[^\s<>"'{}|\\^`]+""", re.IGNORECASE)
# Bare host paths authors write without a scheme ("github.com/org/repo").
_BARE_CODE = re.compile(r"(?<![\w/.@-])(?:github\.com|gitlab\.com|huggingface\.co|bitbucket\.org)/[^\s<>\"'{}|\\^`]+")
_TRAILING = ".,;:!?'\"*"
_PAIRS = {")": "(", "]": "[", "}": "{"}

CODE_HOSTS = ("github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "huggingface.co", "sourceforge.net")
# Links that are not the paper's code or project page.
_IGNORED_HOSTS = ("arxiv.org", "doi.org", "dx.doi.org", "creativecommons.org", "orcid.org")


def _strip_trailing(url: str) -> str:
    while url:
        last = url[-1]
        if last in _TRAILING:
            url = url[:-1]
        elif last in _PAIRS and url.count(last) > url.count(_PAIRS[last]):
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
        if not text:
            continue
        spans = [m.span() for m in _URL.finditer(text)]
        found = [m.group(0) for m in _URL.finditer(text)]
        for m in _BARE_CODE.finditer(text):
            if not any(a <= m.start() < b for a, b in spans):
                found.append(m.group(0))
        for raw in found:
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
