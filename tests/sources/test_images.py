"""The rules of the media cache: which URL a stored thumbnail or avatar is fetched from, which hosts and
addresses may be asked, what counts as an image (by its first bytes, on real PNG, JPEG, WebP and GIF files),
and which names `/media/` serves."""

from __future__ import annotations

import pytest

from dailypapers.config import Settings
from dailypapers.sources.images import (
    absolute_url,
    content_type_of,
    declared_type,
    file_name,
    host_allowed,
    is_svg,
    public_address,
    sniff,
)
from tests.support.fixtures import FIXTURES

MEDIA = FIXTURES / "media"
HF = "https://huggingface.co"


def test_stored_urls_become_absolute_http_urls() -> None:
    thumb = "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2601.17058.png"
    assert absolute_url(thumb, HF) == thumb
    assert absolute_url("/avatars/f69026ca75377e6754ab3e317879e35a.svg", HF) == (
        "https://huggingface.co/avatars/f69026ca75377e6754ab3e317879e35a.svg"
    )
    assert absolute_url("/avatars/a.png", "http://127.0.0.1:8123/") == "http://127.0.0.1:8123/avatars/a.png"
    assert absolute_url("//cdn-avatars.huggingface.co/x.png", HF) == "https://cdn-avatars.huggingface.co/x.png"
    for bad in ("", None, "javascript:alert(1)", "data:image/png;base64,AAAA", "file:///etc/passwd", "ftp://h/x"):
        assert absolute_url(bad, HF) is None
    assert absolute_url("avatars/relative-without-slash.png", HF) is None


def test_only_listed_hosts_over_http_are_allowed() -> None:
    hosts = Settings().media_hosts
    assert host_allowed("https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/1.png", hosts)
    assert host_allowed("https://CDN-AVATARS.huggingface.co/v1/x.jpeg", hosts)
    assert host_allowed("https://huggingface.co/avatars/x.svg", hosts)
    assert not host_allowed("https://evil.example/huggingface.co/x.png", hosts)
    assert not host_allowed("https://huggingface.co.evil.example/x.png", hosts)
    assert not host_allowed("https://user:pw@huggingface.co/x.png", hosts)
    assert not host_allowed("ftp://huggingface.co/x.png", hosts)
    assert not host_allowed("http://169.254.169.254/latest/meta-data/", hosts)


def test_non_public_addresses_are_refused_unless_their_network_is_allowed() -> None:
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0"):
        assert not public_address(address), address
    for address in ("::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "224.0.0.1"):
        assert not public_address(address), address
    assert public_address("13.33.2.4") and public_address("2600:9000:2000::1")
    assert public_address("127.0.0.1", ["127.0.0.1/32"])
    assert not public_address("127.0.0.2", ["127.0.0.1/32"])
    assert public_address("::ffff:127.0.0.1", ["127.0.0.0/8"])


def test_images_are_told_by_their_bytes_not_their_header() -> None:
    expected = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
    for ext, content_type in expected.items():
        assert sniff((MEDIA / f"pillow_hopper.{ext}").read_bytes()) == content_type
    assert sniff(b"<!DOCTYPE html><html><body>Not found</body></html>") is None
    assert sniff(b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>') is None
    assert sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # a WAV file is RIFF too
    assert sniff(b"") is None
    assert declared_type("image/PNG; charset=binary") == "image/png" and declared_type(None) == ""
    assert is_svg("https://huggingface.co/avatars/a.SVG") and not is_svg("https://x/a.svg.png")


@pytest.mark.parametrize(
    "name",
    [
        "../dailypapers.db",
        "..%2F..%2Fetc%2Fpasswd",
        "/etc/passwd",
        "x.png",
        "A" * 64 + ".png",
        "a" * 64 + ".svg",
        "a" * 64 + ".png/..",
        "a" * 64 + ".png\x00.txt",
        "a" * 63 + ".png",
        ".part-abc",
        "a" * 64 + ".jpeg",
    ],
)
def test_only_content_hash_names_are_served(name: str) -> None:
    assert content_type_of(name) is None


def test_a_file_is_named_by_its_hash_and_format() -> None:
    name = file_name("a" * 64, "image/jpeg")
    assert name == "a" * 64 + ".jpg" and content_type_of(name) == "image/jpeg"
    assert content_type_of("0123456789abcdef" * 4 + ".webp") == "image/webp"
