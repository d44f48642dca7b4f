"""Settings, read once from `DAILYPAPERS_*` environment variables and passed down explicitly."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path


def _split(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Build it with `Settings.from_env()`; tests build it directly."""

    data_dir: Path = Path("data")
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    base_url: str = ""
    secret_key: str = ""
    smtp_url: str = ""
    workers: int = 1
    # Harvesting: arXiv endpoints (overridable for tests and mirrors) and politeness.
    arxiv_api_url: str = "https://export.arxiv.org/api/query"
    arxiv_oai_url: str = "https://oaipmh.arxiv.org/oai"
    arxiv_rss_url: str = "https://rss.arxiv.org/rss"
    request_interval: float = 3.0
    request_timeout: float = 30.0
    max_retries: int = 5
    fetch_categories: tuple[str, ...] = ()
    fetch_hour_utc: int = 2
    auto_feature: tuple[str, ...] = ()
    page_cache_ttl: float = 0.5
    redis_url: str = ""
    session_days: int = 30
    # Trending: score = (upvotes + 1) / (hours since featured + offset) ** gravity (docs/ranking.md).
    trending_gravity: float = 1.5
    trending_offset_hours: float = 2.0
    trending_days: int = 7
    rate_limits: bool = True
    # Built-in digest scheduler (embedded mode): send at this local hour; off when cron sends instead.
    digest_scheduler: bool = True
    digest_hour: int = 7
    digest_timezone: str = "UTC"
    # Reverse proxies whose X-Forwarded-For is believed (client addresses for rate limits).
    trusted_proxies: tuple[str, ...] = ()
    feed_page_size: int = 50
    # Semantic search: the embedding model (a known name or a local sentence-transformers folder), the
    # device ('' picks CUDA when present, else CPU), and whether the server embeds new papers itself.
    embed_model: str = "all-MiniLM-L6-v2"
    embed_device: str = ""
    embed_batch_size: int = 32
    embed_background: bool = True
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'dailypapers.db'}")
        if not self.base_url:
            object.__setattr__(self, "base_url", f"http://{self.host}:{self.port}")
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read `DAILYPAPERS_*` variables; unset ones keep the embedded-mode defaults."""
        env = os.environ if env is None else env

        def get(name: str, default: str = "") -> str:
            return env.get(f"DAILYPAPERS_{name}", default).strip()

        data_dir = Path(get("DATA_DIR", "data")).expanduser()
        defaults = cls(data_dir=data_dir)
        try:
            return cls(
                data_dir=data_dir,
                database_url=get("DATABASE_URL"),
                host=get("HOST", defaults.host),
                port=int(get("PORT", str(defaults.port))),
                base_url=get("BASE_URL"),
                secret_key=get("SECRET_KEY"),
                smtp_url=get("SMTP_URL"),
                workers=int(get("WORKERS", "1")),
                arxiv_api_url=get("ARXIV_API_URL", defaults.arxiv_api_url),
                arxiv_oai_url=get("ARXIV_OAI_URL", defaults.arxiv_oai_url),
                arxiv_rss_url=get("ARXIV_RSS_URL", defaults.arxiv_rss_url),
                request_interval=float(get("REQUEST_INTERVAL", str(defaults.request_interval))),
                request_timeout=float(get("REQUEST_TIMEOUT", str(defaults.request_timeout))),
                max_retries=int(get("MAX_RETRIES", str(defaults.max_retries))),
                fetch_categories=_split(get("FETCH_CATEGORIES")),
                fetch_hour_utc=int(get("FETCH_HOUR_UTC", str(defaults.fetch_hour_utc))),
                auto_feature=_split(get("AUTO_FEATURE")),
                page_cache_ttl=float(get("PAGE_CACHE_TTL", str(defaults.page_cache_ttl))),
                redis_url=get("REDIS_URL"),
                session_days=int(get("SESSION_DAYS", str(defaults.session_days))),
                trending_gravity=float(get("TRENDING_GRAVITY", str(defaults.trending_gravity))),
                trending_offset_hours=float(get("TRENDING_OFFSET_HOURS", str(defaults.trending_offset_hours))),
                trending_days=int(get("TRENDING_DAYS", str(defaults.trending_days))),
                rate_limits=get("RATE_LIMITS", "1") not in ("0", "false", "no"),
                trusted_proxies=_split(get("TRUSTED_PROXIES")),
                digest_scheduler=get("DIGEST_SCHEDULER", "1") not in ("0", "false", "no"),
                digest_hour=int(get("DIGEST_HOUR", str(defaults.digest_hour))),
                digest_timezone=get("DIGEST_TIMEZONE", defaults.digest_timezone),
                embed_model=get("EMBED_MODEL", defaults.embed_model),
                embed_device=get("EMBED_DEVICE"),
                embed_batch_size=int(get("EMBED_BATCH_SIZE", str(defaults.embed_batch_size))),
                embed_background=get("EMBED_BACKGROUND", "1") not in ("0", "false", "no"),
            )
        except ValueError as exc:
            raise ValueError(f"invalid DAILYPAPERS_* setting: {exc}") from exc

    def ensure_secret_key(self) -> str:
        """The configured secret key, or one generated once and kept in the data directory."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        return path.read_text().strip()
