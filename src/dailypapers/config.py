"""Settings, read once from `DAILYPAPERS_*` environment variables and passed down explicitly.

Each setting is declared once, as a `Settings` field whose metadata names its variable and its meaning;
`Settings.from_env` and the README's table (`python -m dailypapers.config`) are derived from them.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dailypapers import keyfile

PREFIX = "DAILYPAPERS_"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def setting(default: Any, *, env: str, help: str, shown: str | None = None, secret: bool = False) -> Any:
    """A `Settings` field read from `DAILYPAPERS_<env>`. `help` is its one-line meaning; `shown`, when
    given, is the Markdown the README shows as its default instead of the raw value. A `secret` one is
    left out of the settings' repr (so that no log or traceback shows it)."""
    metadata = {"env": env, "help": help} | ({"shown": shown} if shown is not None else {})
    return dataclasses.field(default=default, metadata=metadata, repr=not secret)


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build it with `Settings.from_env()`; tests build it directly."""

    data_dir: Path = setting(
        Path("data"),
        env="DATA_DIR",
        help="where the SQLite database, its search index, the generated secret key and the mail outbox live",
        shown="`./data`",
    )
    database_url: str = setting(
        "",
        env="DATABASE_URL",
        help="the database: SQLite, or `postgresql+psycopg://user:pass@host/db`",
        shown="`sqlite:///$DATA_DIR/dailypapers.db`",
    )
    host: str = setting("127.0.0.1", env="HOST", help="address `dailypapers serve` listens on")
    port: int = setting(8000, env="PORT", help="port `dailypapers serve` listens on")
    base_url: str = setting(
        "", env="BASE_URL", help="public URL used in feeds, exports and mail", shown="`http://HOST:PORT`"
    )
    secret_key: str = setting(
        "", env="SECRET_KEY", help="signing key (CSRF tokens, links in mail)", shown="generated into the data dir"
    )
    smtp_url: str = setting(
        "",
        env="SMTP_URL",
        help="mail server, `smtp://user:pass@host:port?starttls=1` or `smtps://…`; without one, mail is written to "
        "`$DATA_DIR/outbox/*.eml`",
    )
    mail_from: str = setting(
        "",
        env="MAIL_FROM",
        help="the From address of outgoing mail",
        shown="`Daily Papers <noreply@HOST>`, HOST from the base URL",
    )
    workers: int = setting(1, env="WORKERS", help="web worker processes of `dailypapers serve`")
    threads: int = setting(
        2,
        env="THREADS",
        help="threads per web process for requests that wait on the database or render; more make cached "
        "pages wait for Python's lock under load (docs/benchmarks.md); 0: the framework's 40",
    )
    jobs: str = setting(
        "embedded",
        env="JOBS",
        help="`embedded`: `dailypapers serve` runs the background jobs itself; `off`: it only serves, and "
        "`dailypapers worker` processes run them (PostgreSQL)",
    )
    job_concurrency: int = setting(2, env="JOB_CONCURRENCY", help="jobs one worker runs at once")
    job_schedules: str = setting(
        "",
        env="JOB_SCHEDULES",
        help="other schedules for periodic jobs, e.g. `embed-backlog=*/5 * * * *;harvest-rss=0 * * * *` "
        "(cron in UTC, a 6th field for seconds; `dailypapers jobs list` shows them)",
    )
    job_stalled_seconds: float = setting(
        60.0,
        env="JOB_STALLED_SECONDS",
        help="seconds without a heartbeat after which a worker counts as dead and its jobs run again elsewhere",
    )
    job_retry_seconds: float = setting(
        300.0,
        env="JOB_RETRY_SECONDS",
        help="wait before a failed job's first retry; each further one waits that much longer",
    )
    # Harvesting: arXiv endpoints (overridable for tests and mirrors) and politeness.
    arxiv_api_url: str = setting(
        "https://export.arxiv.org/api/query", env="ARXIV_API_URL", help="arXiv search API endpoint (mirrors, tests)"
    )
    arxiv_oai_url: str = setting("https://oaipmh.arxiv.org/oai", env="ARXIV_OAI_URL", help="arXiv OAI-PMH endpoint")
    arxiv_rss_url: str = setting("https://rss.arxiv.org/rss", env="ARXIV_RSS_URL", help="arXiv RSS endpoint")
    hf_api_url: str = setting(
        "https://huggingface.co", env="HF_API_URL", help="Hugging Face's API, for its daily papers (mirrors, tests)"
    )
    sync_hf: bool = setting(
        False, env="SYNC_HF", help="`1`: the `hf-sync` job follows Hugging Face's daily papers (picks and upvotes)"
    )
    sync_hf_days: int = setting(
        3, env="SYNC_HF_DAYS", help="days before today whose picks and upvotes `hf-sync` keeps checking"
    )
    github_api_url: str = setting(
        "https://api.github.com", env="GITHUB_API_URL", help="GitHub's REST API, for the stars of papers' code"
    )
    github_token: str = setting(
        "",
        env="GITHUB_TOKEN",
        help="a GitHub token (no scopes needed) for 5000 requests an hour instead of 60; never shown or logged",
        secret=True,
    )
    sync_github: bool = setting(
        False,
        env="SYNC_GITHUB",
        help="`1`: the `github-stars` job keeps the stars of papers' GitHub repositories (docs/github.md)",
    )
    cache_media: str = setting(
        "auto",
        env="CACHE_MEDIA",
        help="`1`: the `media-cache` job fetches papers' thumbnails and submitters' avatars once, and pages serve "
        "them from this site (docs/media.md); `0`: never, pages show none; `auto`: as `DAILYPAPERS_SYNC_HF`",
    )
    media_hosts: tuple[str, ...] = setting(
        ("cdn-thumbnails.huggingface.co", "cdn-avatars.huggingface.co", "huggingface.co"),
        env="MEDIA_HOSTS",
        help="the only hosts thumbnails and avatars are fetched from (redirects included)",
        shown="Hugging Face's: `cdn-thumbnails.huggingface.co,cdn-avatars.huggingface.co,huggingface.co`",
    )
    media_private_networks: tuple[str, ...] = setting(
        (),
        env="MEDIA_PRIVATE_NETWORKS",
        help="e.g. `10.0.0.0/8`: private or loopback networks media may come from (a local mirror); by default "
        "none: a media host's name that resolves to such an address is refused",
    )
    media_max_bytes: int = setting(
        2 * 1024 * 1024, env="MEDIA_MAX_BYTES", help="the largest image cached (larger ones are not shown)"
    )
    media_per_second: float = setting(2.0, env="MEDIA_PER_SECOND", help="requests a second to one media host, at most")
    request_interval: float = setting(
        3.0, env="REQUEST_INTERVAL", help="seconds between requests to arXiv (arXiv asks for at least 3)"
    )
    request_timeout: float = setting(30.0, env="REQUEST_TIMEOUT", help="seconds before a request to arXiv times out")
    max_retries: int = setting(
        5, env="MAX_RETRIES", help="times a failed request to arXiv (or an unexpectedly empty page) is tried again"
    )
    fetch_categories: tuple[str, ...] = setting(
        (), env="FETCH_CATEGORIES", help="e.g. `cs.CL,cs.LG`: harvest each day's new arXiv listings"
    )
    fetch_hour_utc: int = setting(2, env="FETCH_HOUR_UTC", help="hour (UTC) of that daily harvest")
    auto_feature: tuple[str, ...] = setting(
        (),
        env="AUTO_FEATURE",
        help="e.g. `cs.CL`: feature newly announced papers of these categories on their announcement day",
    )
    auto_feature_top: int = setting(
        0,
        env="AUTO_FEATURE_TOP",
        help="e.g. `30`: of those, feature only the day's best few for this community, learned from its picks "
        "(docs/curation.md); 0: all of them",
    )
    page_cache_mb: int = setting(
        64,
        env="PAGE_CACHE_MB",
        help="memory for rendered pages per web process, in MiB (a quarter of it for searches and error pages)",
    )
    page_cache_ttl: float = setting(
        0.5, env="PAGE_CACHE_TTL", help="seconds a web process may serve cached pages after another process's write"
    )
    shared_cache_seconds: int = setting(
        0,
        env="SHARED_CACHE_SECONDS",
        help="e.g. `10`: a reverse proxy or CDN may serve anonymous pages this long without asking "
        "(`s-maxage`); 0: it revalidates each time (ETag, 304)",
    )
    redis_url: str = setting(
        "", env="REDIS_URL", help="Redis for rate limits shared by several web processes (in memory otherwise)"
    )
    session_days: int = setting(30, env="SESSION_DAYS", help="days a login lasts")
    # Trending: score = (upvotes + 1) / (hours since featured + offset) ** gravity (docs/ranking.md).
    trending_gravity: float = setting(
        1.5, env="TRENDING_GRAVITY", help="exponent of the age in the trending score (docs/ranking.md)"
    )
    trending_offset_hours: float = setting(
        2.0, env="TRENDING_OFFSET_HOURS", help="hours added to a paper's age in the trending score"
    )
    trending_days: int = setting(7, env="TRENDING_DAYS", help="days `/trending` looks back, today (UTC) included")
    rate_limits: bool = setting(
        True,
        env="RATE_LIMITS",
        help="`0` turns off the rate limits on sign-ups, sign-ins, votes, comments, submissions, subscriptions",
    )
    digest_scheduler: bool = setting(
        True,
        env="DIGEST_SCHEDULER",
        help="the `send-digests` job mails daily digests (weekly ones on Mondays); `0` when cron runs "
        "`dailypapers digest send`",
    )
    digest_hour: int = setting(7, env="DIGEST_HOUR", help="local hour from which the server sends the day's digests")
    digest_timezone: str = setting("UTC", env="DIGEST_TIMEZONE", help="time zone of that hour, e.g. `Europe/Berlin`")
    trusted_proxies: tuple[str, ...] = setting(
        (),
        env="TRUSTED_PROXIES",
        help="addresses of reverse proxies whose `X-Forwarded-For` gives the client address",
    )
    feed_page_size: int = setting(50, env="FEED_PAGE_SIZE", help="papers per page of the feeds and `/trending`")
    embed_model: str = setting(
        "all-MiniLM-L6-v2",
        env="EMBED_MODEL",
        help="embedding model for search by meaning: the bundled one (weights verified by sha256) or a local "
        "sentence-transformers folder",
    )
    embed_device: str = setting(
        "", env="EMBED_DEVICE", help="`cpu`, `cuda`…; auto uses CUDA (fp16) when present", shown="auto"
    )
    embed_batch_size: int = setting(32, env="EMBED_BATCH_SIZE", help="texts embedded per batch")
    embed_background: bool = setting(
        True,
        env="EMBED_BACKGROUND",
        help="the `embed-backlog` job embeds new and changed papers; `0` when `dailypapers embed` runs from cron",
    )
    pg_bin: str = setting(
        "",
        env="PG_BIN",
        help="folder of `pg_dump`, `pg_restore` and `psql` (the server's major version or newer) for `dailypapers "
        "backup` and `restore` on PostgreSQL (docs/backups.md)",
        shown="found on `PATH`",
    )
    # Operations (docs/operations.md): logs and metrics.
    log_format: str = setting(
        "text",
        env="LOG_FORMAT",
        help="`text` for a terminal; `json`: one JSON object a line (time, level, logger, message, request id), "
        "for `serve` and `worker`",
    )
    log_level: str = setting(
        "info", env="LOG_LEVEL", help="`debug`, `info` (one access line a request), `warning` or `error`"
    )
    metrics_token: str = setting(
        "",
        env="METRICS_TOKEN",
        help="a token `/metrics` then asks for (`Authorization: Bearer …`); unset: only a scraper on this machine "
        "may read it (docs/operations.md)",
        secret=True,
    )
    metrics_port: int = setting(
        0,
        env="METRICS_PORT",
        help="e.g. `9464`: `dailypapers serve` answers `/metrics` on this port of METRICS_HOST, not on the site's "
        "port; 0: on the site's port",
    )
    metrics_host: str = setting(
        "127.0.0.1", env="METRICS_HOST", help="address of METRICS_PORT: loopback, or a private interface"
    )

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("JOBS", self.jobs, ("embedded", "off")),
            ("CACHE_MEDIA", self.cache_media.lower(), ("auto", "1", "0", *_TRUE, *_FALSE)),
            ("LOG_FORMAT", self.log_format, ("text", "json")),
            ("LOG_LEVEL", self.log_level.lower(), ("debug", "info", "warning", "error")),
        ):
            if value not in allowed:
                raise ValueError(f"{PREFIX}{name}: {value!r} is not one of {', '.join(dict.fromkeys(allowed))}")
        if self.auto_feature_top < 0:
            raise ValueError(f"{PREFIX}AUTO_FEATURE_TOP: {self.auto_feature_top} is negative (0 features them all)")
        for network in self.media_private_networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{PREFIX}MEDIA_PRIVATE_NETWORKS: {network!r} is not a network") from None
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'dailypapers.db'}")
        if not self.base_url:
            object.__setattr__(self, "base_url", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def featured_on_arrival(self) -> tuple[str, ...]:
        """The categories whose new papers are featured as they are stored: all of AUTO_FEATURE's, unless
        AUTO_FEATURE_TOP leaves the choice to the curation model (which picks after the harvest)."""
        return () if self.auto_feature_top else self.auto_feature

    @property
    def caches_media(self) -> bool:
        """Whether thumbnails and avatars are cached and shown (CACHE_MEDIA, `auto`: when syncing Hugging Face)."""
        value = self.cache_media.lower()
        return self.sync_hf if value == "auto" else value in _TRUE

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `DAILYPAPERS_*` variables; unset or empty ones keep the embedded-mode defaults. Raises
        ValueError naming the variable and its value when a value does not parse as the setting's type."""
        env = os.environ if env is None else env
        types = typing.get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            name = env_name(f)
            raw = env.get(name, "").strip()
            if raw:
                values[f.name] = _PARSERS[types[f.name]](name, raw)
        # Defaults derived from other settings (database_url from data_dir, base_url from host and port)
        # are filled in by __post_init__, once every value read here is known.
        return cls(**values)

    @functools.cached_property
    def secret(self) -> str:
        """The configured secret key, or the one kept in the data directory, generated on first use.
        Computed once per instance: it is needed on every CSRF check."""
        return self.secret_key or keyfile.stored_secret(self.data_dir)


def env_name(f: dataclasses.Field[Any]) -> str:
    """The environment variable that sets field `f`."""
    return PREFIX + f.metadata["env"]


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise ValueError(f"{name}: {raw!r} is not a boolean (use one of {', '.join(_TRUE + _FALSE)})")


def _number(convert: Callable[[str], Any], what: str) -> Callable[[str, str], Any]:
    def parse(name: str, raw: str) -> Any:
        try:
            return convert(raw)
        except ValueError:
            raise ValueError(f"{name}: {raw!r} is not {what}") from None

    return parse


# Keyed by the resolved field annotation; a field of another type fails from_env with a KeyError.
_PARSERS: dict[object, Callable[[str, str], Any]] = {
    str: lambda name, raw: raw,
    int: _number(int, "an integer"),
    float: _number(float, "a number"),
    bool: _parse_bool,
    Path: lambda name, raw: Path(raw).expanduser(),
    tuple[str, ...]: lambda name, raw: tuple(part.strip() for part in raw.split(",") if part.strip()),
}


def _shown_default(f: dataclasses.Field[Any]) -> str:
    if "shown" in f.metadata:
        return str(f.metadata["shown"])
    if isinstance(f.default, bool):
        return "`1`" if f.default else "`0`"
    if f.default in ("", ()):
        return "unset"
    return f"`{f.default}`"


def settings_table() -> str:
    """The README's Markdown table of every setting: variable, default, meaning; one line per row."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(Settings):
        cells = [f"`{env_name(f)}`", _shown_default(f), str(f.metadata["help"])]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(settings_table(), end="")
