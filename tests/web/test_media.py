"""`/media/{name}`: cached thumbnails and avatars served from this site with their type, for a year (the names
are content hashes), never sniffed or run; every other name, a path climbing out of the folder included, a 404."""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine

from dailypapers.ingest.media import fetch_due, media_dir
from dailypapers.store import media as media_store
from dailypapers.store.db import read_tx, write_tx
from tests.support.fixtures import FIXTURES
from tests.support.harvest import make_settings
from tests.support.replay import ReplayServer, Reply
from tests.support.server import serve_app

IMAGES = {ext: (FIXTURES / "media" / f"pillow_hopper.{ext}").read_bytes() for ext in ("png", "jpg", "webp", "gif")}
TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
NOW = dt.datetime(2026, 1, 27, 12, 0, tzinfo=dt.UTC)


def raw_get(base: str, path: str) -> int:
    """The status of GET `path` sent exactly as written (no client-side normalization of `..`)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port)
    try:
        conn.request("GET", path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_cached_images_are_served_with_their_type_for_a_year(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    settings = make_settings(
        server,
        tmp_path,
        cache_media="1",
        media_hosts=("127.0.0.1",),
        media_private_networks=("127.0.0.1/32",),
        media_per_second=1000.0,
    )
    for ext, data in IMAGES.items():
        server.add(f"/thumb.{ext}", Reply(data, content_type=TYPES[ext]))
    with write_tx(engine) as conn:
        media_store.add(conn, [(f"{server.url}/thumb.{ext}", "thumbnail") for ext in IMAGES], NOW)
    assert fetch_due(engine, settings, now=NOW).cached == 4
    with read_tx(engine) as conn:
        local = media_store.local_urls(conn, [f"{server.url}/thumb.{ext}" for ext in IMAGES], base=server.url)
    (media_dir(settings) / ".part-abc").write_bytes(b"half")
    (tmp_path / "secret_key").write_text("what a path climbing out of media/ would reach")

    with serve_app(engine, tmp_path) as base:
        for ext, data in IMAGES.items():
            url = local[f"{server.url}/thumb.{ext}"]
            digest = hashlib.sha256(data).hexdigest()
            assert url == f"/media/{digest}.{ext}"
            got = httpx.get(base + url, headers={"Accept-Encoding": "gzip"})
            assert got.status_code == 200 and got.content == data
            h = got.headers
            assert h["content-type"] == TYPES[ext] and h["content-length"] == str(len(data))
            assert "content-encoding" not in h  # images are not gzipped again
            assert h["cache-control"] == "public, max-age=31536000, immutable"
            assert h["x-content-type-options"] == "nosniff"
            csp = h["content-security-policy"]
            assert csp.startswith("default-src 'none'") and "sandbox" in csp
            assert h["etag"] == f'"{digest}"'
            head = httpx.head(base + url)
            assert head.status_code == 200 and head.content == b"" and head.headers["content-length"] == str(len(data))
            again = httpx.get(base + url, headers={"If-None-Match": h["etag"]})
            assert again.status_code == 304 and again.content == b""

        png = local[f"{server.url}/thumb.png"]
        assert png is not None
        for path in (
            "/media/" + "0" * 64 + ".png",  # a name that could be one, not cached
            png.replace(".png", ".jpg"),  # a cached file under another format's name
            png.upper(),
            png + ".txt",
            "/media/.part-abc",
            "/media/secret_key",
            "/media/..%2Fsecret_key",
            "/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
            "/media/..%5C..%5Csecret_key",
        ):
            assert httpx.get(base + path).status_code == 404, path
        for path in ("/media/../secret_key", "/media/../../etc/passwd", "/media/%2e%2e/secret_key"):
            assert raw_get(base, path) == 404, path
