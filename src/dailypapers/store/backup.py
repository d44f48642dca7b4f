"""Backups (docs/backups.md): one tar archive holding a consistent copy of the database and the files of
the data directory that cannot be derived, described by a manifest (`manifest.json`, the last member)
that gives each part's sha256 and size, the database's kind and Alembic revision.

This module is the archive (written to a temporary file renamed into place, read back with every part
checked) and what both databases share: revisions, whether a database already holds data. The databases'
own sides are `store.backup_sqlite` (SQLite's online backup API) and `store.backup_pg` (pg_dump, pg_restore).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, inspect, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from dailypapers.files import fsync_dir
from dailypapers.store.convert import chunks, utc_now
from dailypapers.store.db import MIGRATIONS, make_engine, write_tx
from dailypapers.store.schema_derived import Media

FORMAT = "dailypapers-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_PART = "database.sqlite3"
PG_PART = "database.pgdump"
SECRET_PART = "secret_key"
KINDS = {"sqlite": SQLITE_PART, "postgresql": PG_PART}
# A part's name: the database, the secret key, or one file of the semantic index or the media cache.
_PART_NAME = re.compile(r"(database\.sqlite3|database\.pgdump|secret_key|(semantic|media)/[A-Za-z0-9_][A-Za-z0-9._-]*)")
# Tables a freshly started site fills by itself: rows there do not make a database one that holds data.
_BOOKKEEPING = ("alembic_version", "site_state", "job_runs", "job_log")
_BOOKKEEPING_PREFIXES = ("papers_fts", "procrastinate_", "sqlite_")
_BUFFER = 1 << 20


class BackupError(Exception):
    """What went wrong, for the operator: which file, which part, what to do."""


@dataclass(frozen=True)
class Part:
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """What a backup holds. `info` has the rest: the embedding seq of the database copy, the semantic
    index files' watermarks, whether the media cache is in."""

    database: str
    alembic_revision: str
    app_version: str
    created_at: str
    parts: dict[str, Part]
    info: dict[str, Any] = field(default_factory=dict)
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise BackupError(f"{MANIFEST} is not a Daily Papers manifest (format {raw.get('format')!r})")
            if not isinstance(raw.get("format_version"), int) or raw["format_version"] > FORMAT_VERSION:
                raise BackupError(
                    f"backup format version {raw.get('format_version')!r} is newer than the one this version of "
                    f"Daily Papers reads ({FORMAT_VERSION}): upgrade Daily Papers first"
                )
            parts = {str(name): Part(str(p["sha256"]), int(p["size"])) for name, p in raw["parts"].items()}
            manifest = cls(**{**raw, "parts": parts})
        except BackupError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise BackupError(f"{MANIFEST} is garbled ({exc})") from None
        texts = (manifest.database, manifest.alembic_revision, manifest.app_version, manifest.created_at)
        if not all(isinstance(value, str) for value in texts) or not isinstance(manifest.info, dict):
            raise BackupError(f"{MANIFEST} is garbled (a field of the wrong type)")
        if manifest.database not in KINDS or KINDS[manifest.database] not in manifest.parts:
            raise BackupError(f"{MANIFEST} names no database part for {manifest.database!r}")
        for name in manifest.parts:
            if not _PART_NAME.fullmatch(name):
                raise BackupError(f"{MANIFEST} lists an unexpected part {name!r}")
        return manifest


class _Hashing:
    """A file read through while its sha256 and size are taken."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.hash = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.hash.update(data)
        self.size += len(data)
        return data

    def part(self) -> Part:
        return Part(self.hash.hexdigest(), self.size)


class ArchiveWriter:
    """A backup being written: parts added one by one (each hashed as it is copied), then the manifest; the
    file appears under its name only when complete (`.tar.gz` or `.tgz`: gzip-compressed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.parts: dict[str, Part] = {}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self.tmp = Path(tmp)
        self._file = os.fdopen(fd, "wb")
        mode = "w:gz" if path.name.endswith((".gz", ".tgz")) else "w"
        self.tar = tarfile.open(fileobj=self._file, mode=mode, format=tarfile.PAX_FORMAT)  # noqa: SIM115

    def add(self, name: str, source: Path) -> Part:
        with source.open("rb") as f:
            info = tarfile.TarInfo(name)
            info.size = os.fstat(f.fileno()).st_size
            info.mtime = int(time.time())
            info.mode = 0o600
            reader = _Hashing(f)
            self.tar.addfile(info, reader)  # type: ignore[arg-type]
        self.parts[name] = reader.part()
        return self.parts[name]

    def finish(self, manifest: Manifest) -> None:
        data = manifest.to_json()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
        self.tar.addfile(info, io.BytesIO(data))
        self.tar.close()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        os.replace(self.tmp, self.path)
        fsync_dir(self.path.parent)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self.tar.close()
        with contextlib.suppress(Exception):
            self._file.close()
        self.tmp.unlink(missing_ok=True)


_DAMAGED = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


class Archive:
    """A backup opened for reading: its manifest checked against its members, then parts extracted with
    their checksums verified."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise BackupError(f"{path}: no such file")
        try:
            self.tar = tarfile.open(path, mode="r:*")  # noqa: SIM115 (closed by close())
        except _DAMAGED:
            raise BackupError(f"{path} is not a Daily Papers backup (not a tar archive)") from None
        except OSError as exc:
            raise BackupError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            self.manifest = self._read_manifest()
        except BaseException:
            self.tar.close()
            raise

    def _read_manifest(self) -> Manifest:
        try:
            members = self.tar.getmembers()
            named = {m.name: m for m in members}
            if MANIFEST not in named:
                raise BackupError(f"{self.path} has no {MANIFEST}: it is truncated, or not a Daily Papers backup")
            reader = self.tar.extractfile(named[MANIFEST])
            data = reader.read() if reader else b""
        except _DAMAGED as exc:
            raise BackupError(f"{self.path} cannot be read: it is truncated or damaged ({exc})") from None
        except OSError as exc:
            raise BackupError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        manifest = Manifest.from_json(data)
        if len(named) != len(members):
            raise BackupError(f"{self.path} holds a member twice")
        for name, part in manifest.parts.items():
            member = named.get(name)
            if member is None or not member.isfile():
                raise BackupError(f"{self.path} lacks {name}, which its manifest lists: the backup is incomplete")
            if member.size != part.size:
                raise BackupError(f"{name} in {self.path} is {member.size} bytes, its manifest says {part.size}")
        extra = sorted(set(named) - set(manifest.parts) - {MANIFEST})
        if extra:
            raise BackupError(f"{self.path} holds {extra[0]!r}, which its manifest does not list")
        return manifest

    def extract(self, destination: Callable[[str], Path]) -> None:
        """Write every part to `destination(name)`, in archive order, checking each one's sha256."""
        try:
            for member in self.tar.getmembers():
                if member.name == MANIFEST:
                    continue
                target = destination(member.name)
                target.parent.mkdir(parents=True, exist_ok=True)
                source = self.tar.extractfile(member)
                assert source is not None
                reader = _Hashing(source)
                with target.open("wb") as out:
                    while chunk := reader.read(_BUFFER):
                        out.write(chunk)
                if reader.part() != self.manifest.parts[member.name]:
                    target.unlink(missing_ok=True)
                    raise BackupError(f"checksum mismatch: {member.name} in {self.path} is damaged")
        except _DAMAGED as exc:
            raise BackupError(f"{self.path} cannot be read: it is truncated or damaged ({exc})") from None
        except OSError as exc:
            raise BackupError(f"cannot extract {self.path}: {exc}") from None

    def close(self) -> None:
        self.tar.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


# ---------------------------------------------------------------------------------------------
# Databases: revisions, whether one already holds data


@dataclass(frozen=True)
class DatabaseState:
    """What a database copy is: its revision, embedding counter, and store id (semantic index files)."""

    revision: str | None
    embedding_seq: int
    store_id: int


def sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def revision_known(revision: str) -> bool:
    """Whether this version's migrations include `revision` (not: it comes from a newer version)."""
    try:
        found = ScriptDirectory(str(MIGRATIONS)).get_revision(revision)
    except CommandError:
        return False
    return found is not None and found.revision == revision


def head_revision() -> str:
    return str(ScriptDirectory(str(MIGRATIONS)).get_current_head())


def revision_of(engine: Engine) -> str | None:
    """The database's Alembic revision (None: never migrated)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextlib.contextmanager
def _engine_at(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    try:
        yield engine
    except SQLAlchemyError as exc:
        what = make_url(url).render_as_string(hide_password=True)
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise BackupError(f"cannot read the database {what}: {reason}") from None
    finally:
        engine.dispose()


def revision_at(url: str) -> str | None:
    with _engine_at(url) as engine:
        return revision_of(engine)


def tables_with_data(url: str) -> list[str]:
    """The tables of the database at `url` holding rows, leaving out those a freshly started site fills by
    itself ([] for a SQLite file that does not exist)."""
    if make_url(url).get_backend_name() == "sqlite" and not sqlite_file(url).exists():
        return []
    with _engine_at(url) as engine:
        names = [
            name
            for name in inspect(engine).get_table_names()
            if name not in _BOOKKEEPING and not name.startswith(_BOOKKEEPING_PREFIXES)
        ]
        quote = engine.dialect.identifier_preparer.quote
        with engine.connect() as conn:
            return [n for n in sorted(names) if conn.execute(text(f"SELECT 1 FROM {quote(n)} LIMIT 1")).first()]


def requeue_missing_media(engine: Engine, present: set[str]) -> int:
    """Cached media rows whose file is not in the media folder (a backup without it) are fetched again:
    marked new and due now. Returns how many."""
    media = Media.__table__
    with write_tx(engine) as conn:
        rows = conn.execute(select(media.c.pk, media.c.file).where(media.c.status == "ok")).all()
        missing = [pk for pk, name in rows if name not in present]
        for batch in chunks(missing, 500):
            values = {"status": "new", "attempts": 0, "error": "", "next_try_at": utc_now()}
            conn.execute(update(media).where(media.c.pk.in_(batch)).values(values))
    return len(missing)


@contextlib.contextmanager
def staging_dir(parent: Path, prefix: str) -> Iterator[Path]:
    """A temporary folder in `parent` (so that files move out of it by renaming), removed afterwards."""
    parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
