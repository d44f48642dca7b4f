"""deploy/nginx/dailypapers.conf, as shipped, in Debian's real nginx in front of two `dailypapers serve`
processes (PostgreSQL, Redis): TLS, the forwarded client address and scheme, the shared cache of anonymous
pages (and its bypass for sessions and tokens), static files, gzip, the http redirect and the body limits.

The shipped file is rendered with a few substitutions (ports, certificate, cache folder, server name) and
included in a small main config of the test's own (nginx's http {} block as Debian's nginx.conf has it). A
missing nginx fails the test (`make test-deps` installs it), it is never skipped."""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from tests.support.accounts import PASSWORD, make_user
from tests.support.jobs import ROOT
from tests.support.postgres import free_port
from tests.support.processes import running, scale_out_env, serving, stop, wait_ok
from tests.support.redis import start_redis

SHIPPED = ROOT / "deploy" / "nginx" / "dailypapers.conf"
HOST = "127.0.0.1"  # the test's server_name, and the address in its certificate
SHARED_SECONDS = 3  # DAILYPAPERS_SHARED_CACHE_SECONDS: how long nginx serves an anonymous page unasked
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BANNER = 'class="subscribe-banner"'
GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}
MIB = 1 << 20
FROM_CACHE = ("HIT", "STALE", "UPDATING", "REVALIDATED")  # nginx's copy (renewed on the way when past s-maxage)

# The main config around the shipped site file. The site file is at the level of http {}, where Debian's
# nginx.conf includes sites-enabled/*; these http-level settings are Debian's, so the site's own (TLS, gzip)
# are tested against them. The log names the upstream each request went to, and background cache updates.
MAIN = """\
{user}worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log notice;
events {{ worker_connections 256; }}
http {{
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    ssl_protocols TLSv1 TLSv1.1 TLSv1.2 TLSv1.3;
    ssl_prefer_server_ciphers on;
    gzip on;
    log_format test '$remote_addr "$request" $status up=$upstream_addr upstatus=$upstream_status '
                    'cache=$upstream_cache_status';
    access_log {dir}/access.log test;
    log_subrequest on;
    client_body_temp_path {dir}/tmp/body;
    proxy_temp_path {dir}/tmp/proxy;
    fastcgi_temp_path {dir}/tmp/fastcgi;
    uwsgi_temp_path {dir}/tmp/uwsgi;
    scgi_temp_path {dir}/tmp/scgi;
    include {dir}/dailypapers.conf;
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
    if found is None:
        raise RuntimeError("this test needs Debian's nginx (apt-get install nginx; `make test-deps` installs it)")
    return found


def render(https_port: int, http_port: int, upstreams: list[int], cert: Path, key: Path, cache: Path) -> str:
    """The shipped site file with the test's ports, certificate and cache folder. Each placeholder must be
    there: a changed file fails here rather than being tested as something else."""
    text = SHIPPED.read_text()
    substitutions = [
        ("listen [::]:443 ssl http2;", ""),  # the test listens on IPv4 loopback only (CI may lack IPv6)
        ("listen [::]:80;", ""),
        ("listen 443 ssl http2;", f"listen {HOST}:{https_port} ssl http2;"),
        ("listen 80;", f"listen {HOST}:{http_port};"),
        ("/etc/letsencrypt/live/papers.example.org/fullchain.pem", str(cert)),
        ("/etc/letsencrypt/live/papers.example.org/privkey.pem", str(key)),
        ("server_name papers.example.org;", f"server_name {HOST};"),
        ("server 127.0.0.1:8001 ", f"server 127.0.0.1:{upstreams[0]} "),
        ("server 127.0.0.1:8002 ", f"server 127.0.0.1:{upstreams[1]} "),
        ("/var/cache/nginx/dailypapers ", f"{cache} "),
    ]
    for old, new in substitutions:
        assert old in text, f"{SHIPPED.relative_to(ROOT)} no longer has {old!r}: update the test's substitutions"
        text = text.replace(old, new)
    return text


def make_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for HOST: (CA certificate, server certificate, key)."""
    ca, ca_key = directory / "ca.pem", directory / "ca.key"
    cert, key, csr, ext = (
        directory / "server.pem",
        directory / "server.key",
        directory / "server.csr",
        directory / "ext",
    )
    ext.write_text(
        f"subjectAltName=IP:{HOST}\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
        "extendedKeyUsage=serverAuth\nauthorityKeyIdentifier=keyid\n"
    )
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    commands = [
        ["req", "-x509", *ec, "-days", "2", "-subj", "/CN=Daily Papers test CA", "-keyout", ca_key, "-out", ca]
        + ["-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["req", *ec, "-subj", f"/CN={HOST}", "-keyout", key, "-out", csr],
        ["x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-days", "2", "-out", cert]
        + ["-extfile", ext],
    ]
    for args in commands:
        subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=60, cwd=directory)
    return ca, cert, key


@dataclass
class Stack:
    https: str
    http: str
    ca: Path
    access_log: Path
    upstreams: list[int]
    servers: list[subprocess.Popen[bytes]]
    clients: list[httpx.Client] = field(default_factory=list)

    def client(self, source: str = "127.0.0.1", **kwargs: object) -> httpx.Client:
        """A client of the proxy over https, connecting from `source` (any 127.x address is this machine)."""
        context = ssl.create_default_context(cafile=str(self.ca))
        transport = httpx.HTTPTransport(verify=context, local_address=source)
        client = httpx.Client(base_url=self.https, transport=transport, timeout=30, **kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def log_lines(self) -> list[str]:
        return self.access_log.read_text().splitlines()


@pytest.fixture
def stack(pg: Engine, tmp_path: Path) -> Iterator[Stack]:
    nginx = nginx_binary()
    with contextlib.ExitStack() as cleanup:
        redis = start_redis()
        cleanup.callback(redis.stop)
        upstreams, https_port, http_port = [free_port(), free_port()], free_port(), free_port()
        env = scale_out_env(
            pg.url.render_as_string(hide_password=False),
            redis.url,
            tmp_path,
            base_url=f"https://{HOST}:{https_port}",
            trusted_proxies="127.0.0.1",
            shared_cache_seconds=str(SHARED_SECONDS),
        )
        servers = cleanup.enter_context(serving(upstreams, env, tmp_path))
        conf = tmp_path / "nginx"
        for sub in ("tmp", "cache"):
            (conf / sub).mkdir(parents=True)
        ca, cert, key = make_certificate(conf)
        cache = conf / "cache" / "dailypapers"  # nginx makes it, as in /var/cache/nginx/ (docs/proxy.md)
        (conf / "dailypapers.conf").write_text(render(https_port, http_port, upstreams, cert, key, cache))
        user = "user root;\n" if os.geteuid() == 0 else ""  # as root: workers that may read the test's folders
        (conf / "nginx.conf").write_text(MAIN.format(user=user, dir=conf))
        base = [nginx, "-p", str(conf), "-e", str(conf / "error.log"), "-c", str(conf / "nginx.conf")]
        checked = subprocess.run([*base, "-t"], capture_output=True, text=True, timeout=60)
        assert checked.returncode == 0, f"nginx -t refused the rendered config:\n{checked.stderr}"
        proxy = subprocess.Popen(base, stdout=subprocess.DEVNULL, stderr=(conf / "stderr.log").open("wb"))
        cleanup.callback(stop, proxy)
        https = f"https://{HOST}:{https_port}"
        context = ssl.create_default_context(cafile=str(ca))
        wait_ok(f"{https}/healthz", running(proxy), "nginx", conf / "error.log", verify=context)
        up = Stack(https, f"http://{HOST}:{http_port}", ca, conf / "access.log", upstreams, servers)
        cleanup.callback(up.close)
        yield up


def _csrf(client: httpx.Client, path: str) -> str:
    match = CSRF.search(client.get(path).text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def test_nginx_in_front_of_two_web_processes(pg: Engine, stack: Stack) -> None:
    make_user(pg, "ada")
    anonymous = stack.client()
    check_tls(stack)
    check_redirect_to_https(stack)
    check_forwarded_scheme(stack, anonymous)
    check_anonymous_pages_cached(stack, anonymous)
    check_personal_requests_bypass(stack, anonymous)
    check_static(stack, anonymous)
    check_revalidation(stack, anonymous)
    check_body_limits(stack, anonymous)
    check_client_address(stack)
    check_both_processes_and_failover(stack, anonymous)


def check_tls(stack: Stack) -> None:
    """TLS 1.2 and 1.3 with the intermediate profile's ciphers; a CBC suite Debian's default would take is
    refused, so the site's own cipher list is the one in force."""
    port = int(stack.https.rsplit(":", 1)[1])

    def handshake(version: ssl.TLSVersion, ciphers: str | None = None) -> tuple[str, str]:
        context = ssl.create_default_context(cafile=str(stack.ca))
        context.minimum_version = context.maximum_version = version
        if ciphers:
            context.set_ciphers(ciphers)
        with (
            socket.create_connection((HOST, port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=HOST) as tls,
        ):
            return tls.version() or "", (tls.cipher() or ("",))[0]

    assert handshake(ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
    version, cipher = handshake(ssl.TLSVersion.TLSv1_2)
    intermediate = re.search(r"ssl_ciphers ([^;]+);", SHIPPED.read_text()).group(1).split(":")  # type: ignore[union-attr]
    assert version == "TLSv1.2" and cipher in intermediate
    with pytest.raises(ssl.SSLError):
        handshake(ssl.TLSVersion.TLSv1_2, "ECDHE-ECDSA-AES128-SHA256")


def check_redirect_to_https(stack: Stack) -> None:
    answer = httpx.get(f"{stack.http}/papers/2601.00001?x=1", timeout=10)
    assert answer.status_code == 301
    assert answer.headers["location"] == f"https://{HOST}/papers/2601.00001?x=1"


def check_forwarded_scheme(stack: Stack, anonymous: httpx.Client) -> None:
    """The app's absolute redirects (a trailing slash dropped) use the scheme and host nginx forwards; asked
    directly, the same process says http."""
    answer = anonymous.get("/trending/")
    assert answer.status_code == 307
    assert answer.headers["location"] == f"https://{HOST}/trending"
    direct = httpx.get(f"http://127.0.0.1:{stack.upstreams[0]}/trending/", timeout=10)
    assert direct.headers["location"].startswith("http://")
    # HSTS comes from the app (BASE_URL is https), once: the proxy does not add another.
    assert anonymous.get("/").headers.get_list("strict-transport-security") == ["max-age=31536000"]


def check_anonymous_pages_cached(stack: Stack, anonymous: httpx.Client) -> None:
    """The second anonymous GET is nginx's (HIT), per encoding and per banner variant; gzip passes once."""
    first, second = anonymous.get("/", headers=GZIP), anonymous.get("/", headers=GZIP)
    assert first.status_code == second.status_code == 200
    assert first.headers["x-cache-status"] in ("MISS", "EXPIRED", "HIT")  # HIT: the HSTS check above filled it
    assert second.headers["x-cache-status"] == "HIT"
    assert f"s-maxage={SHARED_SECONDS}" in second.headers["cache-control"]
    for answer in (first, second):
        assert answer.headers["content-encoding"] == "gzip"
        assert answer.text.lstrip().lower().startswith("<!doctype html"), "compressed twice, or not HTML"
        assert BANNER in answer.text
    assert anonymous.head("/", headers=GZIP).headers["x-cache-status"] == "HIT"  # `curl -I` (docs/proxy.md)
    # A browser's conditional GET is answered by nginx from its copy (the ETag weak when gzipped).
    assert anonymous.get("/", headers={**GZIP, "If-None-Match": second.headers["etag"]}).status_code == 304
    with anonymous.stream("GET", "/", headers=GZIP) as raw:  # the bytes as sent: one gzip layer over the page
        assert gzip.decompress(b"".join(raw.iter_raw())) == second.content

    plain = [anonymous.get("/", headers=PLAIN) for _ in range(2)]
    assert [p.headers["x-cache-status"] for p in plain] == ["MISS", "HIT"], "identity and gzip share an entry"
    assert all("content-encoding" not in p.headers for p in plain)
    assert plain[1].text == second.text

    dismissed = stack.client(cookies={"dp_banner": "off"})
    hidden = [dismissed.get("/", headers=GZIP) for _ in range(2)]
    assert [h.headers["x-cache-status"] for h in hidden] == ["MISS", "HIT"], "the banner variants share an entry"
    assert all(BANNER not in h.text for h in hidden)


def check_personal_requests_bypass(stack: Stack, anonymous: httpx.Client) -> None:
    """A session or a token never gets a cached page, and what it gets is never stored."""
    reader = stack.client()
    token = _csrf(reader, "/signin")
    signed_in = reader.post("/signin", data={"login": "ada", "password": PASSWORD, "csrf_token": token})
    assert signed_in.status_code == 303
    session = next(c for c in signed_in.headers.get_list("set-cookie") if c.startswith("dp_session="))
    assert "secure" in session.lower() and "httponly" in session.lower()

    assert anonymous.get("/", headers=GZIP).headers["x-cache-status"] in FROM_CACHE  # cached for everyone
    for _ in range(2):
        own = reader.get("/", headers=GZIP)
        assert own.headers["x-cache-status"] == "BYPASS"
        assert 'class="me">ada<' in own.text and BANNER not in own.text
        assert "no-store" in own.headers["cache-control"]
    assert 'class="me"' not in anonymous.get("/").text

    # A page first asked for with a session is not stored: the first anonymous request for it misses.
    assert reader.get("/trending").headers["x-cache-status"] == "BYPASS"
    assert anonymous.get("/trending").headers["x-cache-status"] == "MISS"
    assert anonymous.get("/trending").headers["x-cache-status"] == "HIT"
    with_token = anonymous.get("/trending", headers={"Authorization": "Bearer not-a-token"})
    assert with_token.headers["x-cache-status"] == "BYPASS"


def check_static(stack: Stack, anonymous: httpx.Client) -> None:
    """Versioned static files: a year, immutable, kept by nginx; gzipped once."""
    match = re.search(r'href="(/static/style\.css\?v=[0-9a-f]+)"', anonymous.get("/").text)
    assert match, "no versioned stylesheet link on /"
    answers = [anonymous.get(match.group(1), headers=GZIP) for _ in range(2)]
    assert [a.headers["x-cache-status"] for a in answers] == ["MISS", "HIT"]
    for answer in answers:
        assert answer.status_code == 200
        assert answer.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert answer.headers["content-encoding"] == "gzip"
        assert "body" in answer.text and answer.headers["content-type"].startswith("text/css")
    # Without the version (or with an old one) the app says no-cache, and nginx does not keep it.
    unversioned = [anonymous.get("/static/style.css").headers for _ in range(2)]
    assert [h["x-cache-status"] for h in unversioned] == ["MISS", "MISS"]
    assert unversioned[1]["cache-control"] == "no-cache"


def check_revalidation(stack: Stack, anonymous: httpx.Client) -> None:
    """Past s-maxage, nginx serves the stale page while it asks the app with the page's ETag; the app's 304
    renews the stored copy."""
    _until_hit(anonymous, "/")
    # A background renewal started by an earlier check may store the page again after that hit, on a loaded
    # machine up to seconds later: wait out s-maxage again while the copy is still fresh.
    for _ in range(3):
        time.sleep(SHARED_SECONDS + 0.5)
        stale = anonymous.get("/", headers=GZIP)
        if stale.headers["x-cache-status"] != "HIT":
            break
    assert stale.status_code == 200 and stale.headers["x-cache-status"] in ("STALE", "UPDATING", "REVALIDATED")
    _until_hit(anonymous, "/")
    renewals = [line for line in stack.log_lines() if '"GET / HTTP' in line and "upstatus=304" in line]
    assert renewals, "no conditional request answered 304 by the app:\n" + "\n".join(stack.log_lines()[-10:])


def _until_hit(client: httpx.Client, path: str) -> None:
    deadline = time.monotonic() + 5
    while client.get(path, headers=GZIP).headers["x-cache-status"] != "HIT":
        assert time.monotonic() < deadline, f"{path} is not served from nginx's cache"
        time.sleep(0.1)


def check_body_limits(stack: Stack, anonymous: httpx.Client) -> None:
    """nginx refuses bodies over the app's limits itself: 1 MiB, and 16 MiB + 64 KiB for library imports."""
    over = anonymous.post("/signin", content=b"x" * (MIB + 1), headers={"Content-Type": "text/plain"})
    assert over.status_code == 413 and over.headers["content-type"].startswith("text/html")  # nginx's page
    upload = {"Content-Type": "application/x-bibtex"}
    allowed = anonymous.post("/api/library/import", content=b"%" * (2 * MIB), headers=upload)
    assert allowed.status_code != 413 and allowed.headers["content-type"].startswith("application/json")
    too_big = anonymous.post("/api/library/import", content=b"%" * (16 * MIB + 64 * 1024 + 1), headers=upload)
    assert too_big.status_code == 413 and too_big.headers["content-type"].startswith("text/html")


def check_client_address(stack: Stack) -> None:
    """The app counts rate limits by the reader's address, not nginx's: 5 sign-ups an hour per address, in
    Redis across both processes. An X-Forwarded-For sent by the client is replaced, not believed."""

    def signups(source: str, n: int, headers: dict[str, str] | None = None) -> list[int]:
        client = stack.client(source)
        token = _csrf(client, "/signup")
        form = {"username": "x", "email": "not-an-address", "password": "short", "csrf_token": token}
        return [client.post("/signup", data=form, headers=headers).status_code for _ in range(n)]

    assert signups("127.0.0.2", 6) == [400] * 5 + [429]
    assert signups("127.0.0.3", 1) == [400]
    assert signups("127.0.0.2", 1, {"X-Forwarded-For": "203.0.113.9"}) == [429]
    addresses = {line.split()[0] for line in stack.log_lines() if '"POST /signup' in line}
    assert addresses == {"127.0.0.2", "127.0.0.3"}


def check_both_processes_and_failover(stack: Stack, anonymous: httpx.Client) -> None:
    """Uncached requests are spread over both processes; with one stopped, the other answers them all."""
    for _ in range(6):
        assert anonymous.get("/healthz").status_code == 200
    used = {re.search(r"up=(\S+)", line).group(1) for line in stack.log_lines() if '"GET /healthz' in line}  # type: ignore[union-attr]
    assert {f"127.0.0.1:{port}" for port in stack.upstreams} <= used

    stop(stack.servers[1])
    for path in ("/healthz", "/healthz", "/healthz", "/trending?sort=new", "/healthz"):
        assert anonymous.get(path).status_code == 200, f"{path} failed with one process down"
