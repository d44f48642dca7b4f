"""What a cached image is (docs/media.md): the URL papers' thumbnails and submitters' avatars are fetched
from, which hosts and addresses may be asked, what bytes count as an image, and the name a cached file gets.

Rules only: no network, no database. The fetcher (`ingest.media`), the store (`store.media`) and the route
that serves the files (`web.media`) all follow them, so a URL is spelt the same way everywhere.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

# The formats cached, by content type: what their first bytes are, and the file name extension.
FORMATS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
TYPES = {ext: content_type for content_type, ext in FORMATS.items()}
# A cached file's name: the sha256 of its bytes and its format's extension (so identical images are one file).
NAME = re.compile(r"\A[0-9a-f]{64}\.(?:png|jpg|webp|gif)\Z")
KINDS = ("thumbnail", "avatar")


def absolute_url(url: str | None, base: str) -> str | None:
    """The URL to fetch for a stored thumbnail or avatar: absolute as stored, or a path on `base` (Hugging
    Face gives default avatars as `/avatars/...`); None when it is not an http(s) URL."""
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    if url.startswith("//"):
        url = "https:" + url
    elif url.startswith("/"):
        url = urljoin(base.rstrip("/") + "/", url.lstrip("/"))
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
        return None
    return url


def host_allowed(url: str, hosts: Iterable[str]) -> bool:
    """Whether `url` is http(s) on one of `hosts` (exact names, any case; no credentials in the URL)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or parts.username or parts.password:
        return False
    return host in {h.strip().lower() for h in hosts if h.strip()}


def is_svg(url: str) -> bool:
    """An SVG (Hugging Face's default avatars): never cached, since it can carry scripts."""
    return urlsplit(url).path.lower().endswith(".svg")


def public_address(address: str, allowed: Iterable[str] = ()) -> bool:
    """Whether an IP address may be fetched from: a global unicast address, or one inside the `allowed`
    networks (CIDR, e.g. `127.0.0.1/32` for tests or a local mirror). Loopback, private, link-local
    (cloud metadata at 169.254.169.254), shared, reserved and multicast addresses are refused."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for network in allowed:
        net = ipaddress.ip_network(network.strip(), strict=False)
        if ip.version == net.version and ip in net:
            return True
    return ip.is_global and not ip.is_multicast


def check_networks(networks: Iterable[str]) -> None:
    """ValueError naming the first entry that is not a network (CIDR) or an address."""
    for network in networks:
        ipaddress.ip_network(network.strip(), strict=False)


def sniff(data: bytes) -> str | None:
    """The content type the first bytes say (PNG, JPEG, WebP, GIF), whatever a header claimed; else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def declared_type(header: str | None) -> str:
    """The media type of a Content-Type header, without its parameters, lower-cased."""
    return (header or "").split(";", 1)[0].strip().lower()


def file_name(sha256: str, content_type: str) -> str:
    """The name a cached image is stored and served under."""
    return f"{sha256}.{FORMATS[content_type]}"


def content_type_of(name: str) -> str | None:
    """The content type of a cached file's name; None when the name is not one (a traversal, a typo)."""
    if not NAME.match(name):
        return None
    return TYPES[name.rsplit(".", 1)[1]]
