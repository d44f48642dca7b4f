"""The media cache (`ingest.media`, the `media-cache` job) against a local server serving real image files (Pillow's
test images: PNG, JPEG, WebP, GIF) at the paths of a real Hugging Face day's thumbnails and avatars, with faults
injected: cut connections, truncated bodies, 404s, 503s with Retry-After, HTML served as an image, an oversized
body, redirects to private addresses. Nothing is ever half written, statuses say what happened, reruns resume,
identical images are stored once, and pages get the local URL of what is cached."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from dailypapers.cli.main import app
from dailypapers.config import Settings
from dailypapers.ingest import media
from dailypapers.ingest.http import PoliteClient, TooLarge
from dailypapers.ingest.importer import ImportReport, ingest_items
from dailypapers.ingest.media import cache_media, enqueue_missing, fetch_due
from dailypapers.ingest.media_net import RETRIES, GuardedTransport, client_for
from dailypapers.sources import hf_json
from dailypapers.sources.images import FORMATS
from dailypapers.sources.record import Listing, PaperRecord
from dailypapers.store import media as media_store
from dailypapers.store.db import read_tx, write_tx
from tests.support.fixtures import FIXTURES
from tests.support.harvest import FakeTime, make_settings
from tests.support.jobs import at, run_job
from tests.support.replay import CUT, ReplayServer, Reply, status

IMAGES = {ext: (FIXTURES / "media" / f"pillow_hopper.{ext}").read_bytes() for ext in ("png", "jpg", "webp", "gif")}
TYPES = {ext: content_type for content_type, ext in FORMATS.items()}
NAMES = {ext: f"{hashlib.sha256(data).hexdigest()}.{ext}" for ext, data in IMAGES.items()}
DAY = dt.date(2026, 1, 27)
NOW = dt.datetime(2026, 1, 27, 12, 0, tzinfo=dt.UTC)
HF_DAY = FIXTURES / "hf_daily_papers" / "curation_archive" / "2026-01-27.json.gz"
HTML = b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>...</form></body></html>\n"


def image(ext: str) -> Reply:
    return Reply(IMAGES[ext], content_type=TYPES[ext])


def truncated(ext: str) -> Reply:
    return dataclasses.replace(image(ext), kind="truncate")


def redirect(location: str, code: int = 302) -> Reply:
    return Reply(b"", code, (("Location", location),), content_type="text/plain")


def settings_for(server: ReplayServer, tmp_path: Path, **more: object) -> Settings:
    """Media on the replay server (127.0.0.1, allowed for the tests only), no real waits between requests."""
    values: dict[str, object] = {
        "hf_api_url": server.url,
        "cache_media": "1",
        "media_hosts": ("127.0.0.1",),
        "media_private_networks": ("127.0.0.1/32",),
        "media_per_second": 1000.0,
    }
    return make_settings(server, tmp_path, **(values | more))


def hf_records(server: ReplayServer) -> list[PaperRecord]:
    """A real Hugging Face day (22 picks), its thumbnails and avatars moved onto the replay server; the default
    avatars stay `/avatars/....svg` paths, as Hugging Face gives them."""
    records, errors = hf_json.parse(gzip.decompress(HF_DAY.read_bytes()), where=HF_DAY.name, day=DAY)
    assert not errors and len(records) == 22
    moved = []
    for record in records:
        extra = dict(record.extra)
        extra["thumbnail"] = extra["thumbnail"].replace("https://cdn-thumbnails.huggingface.co", server.url)
        listing = record.listing
        assert listing is not None and listing.submitter is not None
        avatar = listing.submitter.avatar_url.replace("https://cdn-avatars.huggingface.co", server.url)
        submitter = dataclasses.replace(listing.submitter, avatar_url=avatar)
        moved.append(record.replace(extra=extra, listing=dataclasses.replace(listing, submitter=submitter)))
    return moved


def path_of(url: str, server: ReplayServer) -> str:
    return url.removeprefix(server.url)


def serve_hf_media(server: ReplayServer, records: list[PaperRecord]) -> None:
    """Each thumbnail one of the four images in turn, each uploaded avatar a JPEG; no SVG is served."""
    exts = list(IMAGES)
    for n, record in enumerate(records):
        server.add(path_of(record.extra["thumbnail"], server), image(exts[n % 4]))
        assert record.listing and record.listing.submitter
        avatar = record.listing.submitter.avatar_url
        if avatar.startswith(server.url):
            server.add(path_of(avatar, server), image("jpg"))


def add_urls(engine: Engine, server: ReplayServer, *paths: str, now: dt.datetime = NOW) -> None:
    with write_tx(engine) as conn:
        media_store.add(conn, [(server.url + p, "thumbnail") for p in paths], now)


def state(engine: Engine, url: str) -> media_store.MediaState:
    with read_tx(engine) as conn:
        found = media_store.state(conn, url)
    assert found is not None, url
    return found


def files(settings: Settings) -> set[str]:
    directory = media.media_dir(settings)
    return {p.name for p in directory.iterdir()} if directory.is_dir() else set()


@pytest.fixture
def hf_day(server: ReplayServer, engine: Engine) -> Iterator[list[PaperRecord]]:
    records = hf_records(server)
    ingest_items(engine, records, ImportReport())
    serve_hf_media(server, records)
    yield records


def test_thumbnails_and_avatars_are_fetched_once_and_identical_images_stored_once(
    server: ReplayServer, tmp_path: Path, engine: Engine, hf_day: list[PaperRecord]
) -> None:
    settings = settings_for(server, tmp_path)
    avatars = {r.listing.submitter.avatar_url for r in hf_day if r.listing and r.listing.submitter}
    uploaded = {a for a in avatars if a.startswith(server.url)}
    svgs = avatars - uploaded
    assert len(uploaded) == 8 and len(svgs) == 10 and all(a.startswith("/avatars/") for a in svgs)

    report = cache_media(engine, settings, limit=None, now=NOW)

    assert report.added == 22 + 8 + 10
    assert (report.fetched, report.cached, report.stored, report.failed) == (30, 30, 4, 0)
    with read_tx(engine) as conn:
        assert media_store.counts(conn) == {"ok": 30, "not_image": 10}
    assert files(settings) == set(NAMES.values())  # 30 images, 4 different ones: 4 files
    for ext, name in NAMES.items():
        assert (media.media_dir(settings) / name).read_bytes() == IMAGES[ext]
    paths = [r.path for r in server.log]
    assert len(paths) == len(set(paths)) == 30 and not any(p.endswith(".svg") for p in paths)  # SVGs never asked
    first = server.log[0].headers
    assert first["User-Agent"].startswith("dailypapers/") and "image/png" in first["Accept"]
    svg = state(engine, settings.hf_api_url + sorted(svgs)[0])
    assert (svg.status, svg.next_try_at, svg.error) == ("not_image", None, media.SVG_ERROR)
    thumb = state(engine, hf_day[1].extra["thumbnail"])
    assert (thumb.status, thumb.content_type, thumb.size, thumb.file) == ("ok", "image/jpeg", 6412, NAMES["jpg"])
    assert thumb.sha256 == NAMES["jpg"].split(".")[0] and thumb.fetched_at == NOW and thumb.next_try_at is None

    again = cache_media(engine, settings, limit=None, now=NOW + dt.timedelta(days=1))
    assert (again.added, again.fetched, again.requests) == (0, 0, 0) and len(server.log) == 30

    # What a page of cards asks for: every thumbnail and avatar at once, as stored, in one query.
    wanted = [r.extra["thumbnail"] for r in hf_day] + sorted(avatars) + ["https://elsewhere.example/x.png", None, ""]
    with read_tx(engine) as conn:
        local = media_store.local_urls(conn, wanted, base=settings.hf_api_url)
    assert local[hf_day[0].extra["thumbnail"]] == "/media/" + NAMES["png"]
    assert all(local[u] == "/media/" + NAMES["jpg"] for u in uploaded)
    assert all(local[u] is None for u in svgs) and local["https://elsewhere.example/x.png"] is None
    assert None not in local and "" not in local


def test_only_featured_papers_thumbnails_and_avatars_on_listed_hosts_are_wanted(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    """With the defaults (Hugging Face's hosts), the real day's URLs are wanted as Hugging Face gives them."""
    records, _ = hf_json.parse(gzip.decompress(HF_DAY.read_bytes()), where=HF_DAY.name, day=DAY)
    unlisted = PaperRecord(
        id="2601.99999", source="test", extra={"thumbnail": "https://cdn-thumbnails.huggingface.co/u.png"}
    )
    elsewhere = PaperRecord(
        id="2601.99998", source="test", extra={"thumbnail": "https://evil.example/x.png"}, listing=Listing(DAY, "test")
    )
    ingest_items(engine, [*records, unlisted, elsewhere], ImportReport())
    settings = Settings(data_dir=tmp_path, cache_media="1")
    wanted = dict(media.wanted(engine, settings))
    thumbs = {u for u, kind in wanted.items() if kind == "thumbnail"}
    assert thumbs == {r.extra["thumbnail"] for r in records}
    avatars = {u for u, kind in wanted.items() if kind == "avatar"}
    assert len(avatars) == 18
    assert {u.split("/")[2] for u in avatars} == {"cdn-avatars.huggingface.co", "huggingface.co"}
    assert "https://huggingface.co/avatars/f69026ca75377e6754ab3e317879e35a.svg" in avatars
    assert enqueue_missing(engine, settings, now=NOW) == 40 and enqueue_missing(engine, settings, now=NOW) == 0
    with read_tx(engine) as conn:
        assert media_store.count_due(conn, NOW) == 30  # the 10 SVGs are settled without a request


def test_faults_leave_nothing_half_written_and_each_its_status(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    fake = FakeTime()
    settings = settings_for(
        server, tmp_path, media_max_bytes=20_000, media_hosts=("127.0.0.1", "169.254.169.254", "127.0.0.2")
    )
    server.add("/cut-once.webp", CUT, image("webp"))
    server.add("/truncated-once.jpg", truncated("jpg"), image("jpg"))
    server.add("/busy-once.gif", status(503, "2"), image("gif"))
    server.add("/moved", redirect("/moved-here.webp", 301))
    server.add("/moved-here.webp", image("webp"))
    server.add("/always-cut.png", CUT)
    server.add("/always-truncated.jpg", truncated("jpg"))
    server.add("/missing.png", status(404))
    server.add("/sign-in-page.png", Reply(HTML, content_type="image/png"))
    server.add("/jpeg-as-html.jpg", Reply(IMAGES["jpg"], content_type="text/html; charset=utf-8"))
    server.add("/gif-as-octets.gif", Reply(IMAGES["gif"], content_type="application/octet-stream"))
    server.add("/too-big.png", image("png"))  # 30,605 bytes: more than the 20,000 allowed
    server.add("/to-metadata", redirect("http://169.254.169.254/latest/meta-data/iam/security-credentials/"))
    server.add("/to-loopback", redirect(f"http://127.0.0.2:{server.url.rsplit(':', 1)[1]}/x.png"))
    server.add("/to-intranet", redirect("http://10.0.0.1/x.png"))
    server.add("/to-file", redirect("file:///etc/passwd"))
    server.add("/loop", redirect("/loop"))
    paths = [
        "/cut-once.webp",
        "/truncated-once.jpg",
        "/busy-once.gif",
        "/moved",
        "/always-cut.png",
        "/always-truncated.jpg",
        "/missing.png",
        "/sign-in-page.png",
        "/jpeg-as-html.jpg",
        "/gif-as-octets.gif",
        "/too-big.png",
        "/to-metadata",
        "/to-loopback",
        "/to-intranet",
        "/to-file",
        "/loop",
    ]
    add_urls(engine, server, *paths)

    report = fetch_due(
        engine, settings, now=NOW, client=lambda host: client_for(settings, host, clock=fake.clock, sleep=fake.sleep)
    )

    got = {p: state(engine, server.url + p) for p in paths}
    for p in ("/cut-once.webp", "/truncated-once.jpg", "/busy-once.gif", "/moved"):
        assert got[p].status == "ok" and got[p].attempts == 0, (p, got[p].error)
    assert got["/moved"].file == NAMES["webp"] and 2.0 in fake.sleeps  # Retry-After: 2 was waited for
    retry = NOW + media.RETRY_FIRST
    for p in ("/always-cut.png", "/always-truncated.jpg", "/missing.png"):
        assert (got[p].status, got[p].attempts, got[p].next_try_at) == ("failed", 1, retry), p
    assert "404" in got["/missing.png"].error
    for p in ("/sign-in-page.png", "/jpeg-as-html.jpg", "/gif-as-octets.gif"):
        assert (got[p].status, got[p].next_try_at, got[p].file) == ("not_image", None, ""), p
    assert "bytes are not" in got["/sign-in-page.png"].error and "text/html" in got["/jpeg-as-html.jpg"].error
    assert (got["/too-big.png"].status, got["/too-big.png"].next_try_at) == ("too_big", None)
    for p in ("/to-metadata", "/to-loopback", "/to-intranet", "/to-file", "/loop"):
        assert (got[p].status, got[p].next_try_at, got[p].attempts) == ("failed", None, 1), p  # refused for good
    assert "169.254.169.254, not a public address" in got["/to-metadata"].error
    assert "127.0.0.2, not a public address" in got["/to-loopback"].error
    assert "10.0.0.1 is not on DAILYPAPERS_MEDIA_HOSTS" in got["/to-intranet"].error
    assert "more than 3 redirects" in got["/loop"].error
    assert (report.cached, report.failed, report.not_image, report.too_big, report.given_up) == (4, 3, 3, 1, 5)
    # Only whole files under their final names: no partial file, nothing of the refused bodies.
    assert files(settings) == {NAMES["jpg"], NAMES["gif"], NAMES["webp"]}
    assert server.requests("/loop") and len(server.requests("/loop")) == 4
    assert len(server.requests("/always-cut.png")) == 1 + RETRIES


def test_failures_are_tried_again_later_with_growing_waits_then_given_up(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    settings = settings_for(server, tmp_path)
    server.add("/flaky.png", status(404), status(404), image("png"))
    server.add("/gone.png", status(404))
    add_urls(engine, server, "/flaky.png", "/gone.png")
    gone = server.url + "/gone.png"
    assert [media.retry_delay(n) for n in (1, 2, 3, 4)] == [
        dt.timedelta(minutes=10),
        dt.timedelta(minutes=40),
        dt.timedelta(minutes=160),
        dt.timedelta(minutes=640),
    ]
    now = NOW
    fetch_due(engine, settings, now=now)
    assert state(engine, gone).next_try_at == now + dt.timedelta(minutes=10)
    assert fetch_due(engine, settings, now=now + dt.timedelta(minutes=5)).fetched == 0  # not due yet
    assert len(server.log) == 2
    for attempt in (2, 3, 4):
        now = state(engine, gone).next_try_at  # type: ignore[assignment]
        fetch_due(engine, settings, now=now)
        assert (state(engine, gone).attempts, state(engine, gone).next_try_at) == (
            attempt,
            now + media.retry_delay(attempt),
        )
        if attempt == 2:
            assert state(engine, server.url + "/flaky.png").status == "failed"
        else:
            assert state(engine, server.url + "/flaky.png").status == "ok"  # the third try got it
    now = state(engine, gone).next_try_at  # type: ignore[assignment]
    report = fetch_due(engine, settings, now=now)
    last = state(engine, gone)
    assert (last.status, last.attempts, last.next_try_at, report.given_up) == ("failed", 5, None, 1)
    assert last.error.startswith("given up:")
    requests = len(server.log)
    assert fetch_due(engine, settings, now=now + dt.timedelta(days=30)).fetched == 0 and len(server.log) == requests
    assert media.retry_failed(engine, now=now) == 1  # an operator's second chance
    fetch_due(engine, settings, now=now)
    assert (state(engine, gone).attempts, len(server.log)) == (1, requests + 1)


def test_a_long_retry_after_postpones_the_host_and_a_rerun_resumes(
    server: ReplayServer, tmp_path: Path, engine: Engine
) -> None:
    settings = settings_for(server, tmp_path)
    server.add("/a.png", status(503, "300"), image("png"))
    server.add("/b.jpg", image("jpg"))
    add_urls(engine, server, "/a.png", "/b.jpg")
    report = fetch_due(engine, settings, now=NOW)
    assert (report.fetched, report.postponed, report.cached, len(server.log)) == (1, 2, 0, 1)  # not waited 5 minutes
    later = NOW + dt.timedelta(seconds=300)
    for path in ("/a.png", "/b.jpg"):
        postponed = state(engine, server.url + path)
        assert (postponed.status, postponed.attempts, postponed.next_try_at) == ("new", 0, later)
        assert "503" in postponed.error
    assert fetch_due(engine, settings, now=NOW + dt.timedelta(minutes=4)).fetched == 0
    resumed = fetch_due(engine, settings, now=later)
    assert (resumed.cached, len(server.log)) == (2, 3) and files(settings) == {NAMES["png"], NAMES["jpg"]}


def test_requests_to_a_host_are_spaced(server: ReplayServer, tmp_path: Path, engine: Engine) -> None:
    fake = FakeTime()
    settings = settings_for(server, tmp_path, media_per_second=4.0)
    for n in range(5):
        server.add(f"/{n}.webp", image("webp"))
    add_urls(engine, server, *(f"/{n}.webp" for n in range(5)))
    fetch_due(
        engine, settings, now=NOW, client=lambda host: client_for(settings, host, clock=fake.clock, sleep=fake.sleep)
    )
    assert fake.sleeps == [0.25] * 4  # 4 requests a second: a quarter of a second between starts


def test_a_crash_while_writing_leaves_no_file_and_the_rerun_caches_it(
    server: ReplayServer, tmp_path: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_for(server, tmp_path)
    server.add("/a.png", image("png"))
    add_urls(engine, server, "/a.png")

    def disk_full(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(media.os, "replace", disk_full)
        with pytest.raises(OSError, match="No space left"):
            fetch_due(engine, settings, now=NOW)
    assert files(settings) == set()  # neither the file nor its temporary copy
    assert state(engine, server.url + "/a.png").status == "new"
    # A run killed mid-write leaves its temporary file behind: the next run removes it once it is stale.
    directory = media.media_dir(settings)
    stale, fresh = directory / ".part-killed", directory / ".part-writing-now"
    stale.write_bytes(IMAGES["png"][:100])
    fresh.write_bytes(b"")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    report = fetch_due(engine, settings, now=NOW)
    assert report.cached == 1 and files(settings) == {NAMES["png"], fresh.name}


def test_private_addresses_are_refused_when_connecting(server: ReplayServer) -> None:
    """The guard at connection time: a name that passed the first check cannot resolve elsewhere later."""
    with httpx.Client(transport=GuardedTransport(())) as client, pytest.raises(httpx.ConnectError, match="refused"):
        client.get(server.url + "/x.png")
    with httpx.Client(transport=GuardedTransport(("127.0.0.1/32",))) as client:
        assert client.get(server.url + "/x.png").status_code == 404  # reached: the server has no such route
    assert len(server.log) == 1


def test_a_body_is_read_only_up_to_the_limit() -> None:
    """Past `max_bytes` the client stops reading, whether Content-Length said so or not (chunked)."""
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            sent.append(1)
            yield b"x" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/declared":
            return httpx.Response(200, headers={"Content-Length": "5000000"}, content=b"")
        return httpx.Response(200, content=chunks())

    settings = Settings(max_retries=0, request_interval=0.0)
    with PoliteClient(settings, transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(TooLarge, match="5000000 bytes, more than 10000"):
            client.get("http://h/declared", max_bytes=10_000)
        with pytest.raises(TooLarge, match="more than 10000 bytes"):
            client.get("http://h/chunked", max_bytes=10_000)
        assert len(sent) == 11  # stopped just past the limit, not at the end of the body
        sent.clear()
        assert len(client.get("http://h/chunked", max_bytes=200_000).content) == 100_000


def test_the_media_cache_job(server: ReplayServer, tmp_path: Path, engine: Engine, hf_day: list[PaperRecord]) -> None:
    settings = settings_for(server, tmp_path)
    status_, runs = run_job(engine, settings, "media-cache", timestamp=at(NOW))
    assert status_ == "succeeded" and (runs[-1].done, runs[-1].total) == (30, 30)
    assert runs[-1].note == "40 new URLs; 30 cached (4 new files)"
    assert files(settings) == set(NAMES.values())


def test_the_setting_follows_the_hugging_face_sync_unless_given() -> None:
    assert Settings(sync_hf=True).caches_media and not Settings().caches_media
    assert Settings(cache_media="1").caches_media and not Settings(cache_media="0", sync_hf=True).caches_media
    assert Settings.from_env({"DAILYPAPERS_CACHE_MEDIA": "off", "DAILYPAPERS_SYNC_HF": "1"}).caches_media is False
    with pytest.raises(ValueError, match="CACHE_MEDIA"):
        Settings(cache_media="sometimes")
    with pytest.raises(ValueError, match="MEDIA_PRIVATE_NETWORKS"):
        Settings.from_env({"DAILYPAPERS_MEDIA_PRIVATE_NETWORKS": "10.0.0.0/8,intranet"})


def test_fetch_media_command(
    server: ReplayServer, tmp_path: Path, db_url: str, engine: Engine, hf_day: list[PaperRecord]
) -> None:
    env = {
        "DAILYPAPERS_DATA_DIR": str(tmp_path),
        "DAILYPAPERS_DATABASE_URL": db_url,
        "DAILYPAPERS_HF_API_URL": server.url,
        "DAILYPAPERS_MEDIA_HOSTS": "127.0.0.1",
        "DAILYPAPERS_MEDIA_PRIVATE_NETWORKS": "127.0.0.1/32",
        "DAILYPAPERS_MEDIA_PER_SECOND": "1000",
    }
    settings = Settings.from_env(env)
    result = CliRunner().invoke(app, ["fetch", "media", "--limit", "5"], env=env)
    assert result.exit_code == 0, result.output
    assert "Thumbnails and avatars" in result.output and len(server.log) == 5
    assert CliRunner().invoke(app, ["fetch", "media"], env=env).exit_code == 0
    assert len(server.log) == 30 and files(settings) == set(NAMES.values())
    cleared = CliRunner().invoke(app, ["fetch", "media", "--clear"], env=env)
    assert cleared.exit_code == 0 and "Forgot 40 URLs and removed 4 files" in " ".join(cleared.output.split())
    assert files(settings) == set()
    with read_tx(engine) as conn:
        assert media_store.counts(conn) == {}


def test_cards_show_the_cached_thumbnails_and_avatars_from_this_site(
    server: ReplayServer, tmp_path: Path, engine: Engine, hf_day: list[PaperRecord]
) -> None:
    from lxml import html

    from tests.support.server import serve_app

    settings = settings_for(server, tmp_path)
    day = hf_day[0].listing.day if hf_day[0].listing else None
    with serve_app(engine, tmp_path, hf_api_url=server.url) as base:
        before = html.fromstring(httpx.get(f"{base}/date/{day}").text)
        assert not before.cssselect("article.card img")  # nothing cached yet: no picture, no hot link
        cache_media(engine, settings, limit=None, now=NOW)
        page = html.fromstring(httpx.get(f"{base}/date/{day}").text)
        thumbs = page.cssselect("article.card a.thumb img")
        avatars = page.cssselect("article.card .submitter img.avatar")
        assert len(thumbs) == len({r.id for r in hf_day if r.listing and r.listing.day == day})
        assert avatars and len(avatars) < len(thumbs)  # Hugging Face's default SVG avatars stay letters
        assert page.cssselect("article.card .submitter .initial")
        for img in thumbs + avatars:
            src = img.get("src")
            assert src.startswith("/media/") and img.get("alt") == ""
            r = httpx.get(base + src)
            assert r.status_code == 200 and r.content in IMAGES.values()
            assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert server.url not in httpx.get(f"{base}/date/{day}").text.split("<main", 1)[1].split("</main>")[0]
