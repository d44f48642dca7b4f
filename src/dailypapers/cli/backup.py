"""`dailypapers backup PATH` and `dailypapers restore PATH` (docs/backups.md).

A backup is one tar file: the database (a SQLite copy made with the online backup API, or a `pg_dump
--format=custom` archive), the SQLite semantic index, the generated secret key and the media cache, and a
manifest with every part's sha256. The store does the database work (`store.backup`, `store.backup_sqlite`,
`store.backup_pg`); this module gathers the data directory's files around it and says what happened.

The semantic index files are copied *before* the database: an index file is complete up to an embedding
seq, and the database copy made afterwards is at that seq or later, so the restored site loads the file and
catches up with the rows written in between, instead of rebuilding it (minutes for a million papers).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import zlib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from dailypapers import __version__
from dailypapers.cli.common import console, load_settings, store
from dailypapers.config import Settings
from dailypapers.store.backup import (
    PG_PART,
    SECRET_PART,
    SQLITE_PART,
    Archive,
    ArchiveWriter,
    BackupError,
    DatabaseState,
    Manifest,
    head_revision,
    requeue_missing_media,
    revision_at,
    revision_known,
    sqlite_file,
    staging_dir,
    tables_with_data,
)
from dailypapers.store.backup_sqlite import check_sqlite, install_sqlite, migrate_sqlite, snapshot_sqlite

PgBin = Annotated[
    str | None,
    typer.Option("--pg-bin", help="Folder of pg_dump, pg_restore and psql (default: DAILYPAPERS_PG_BIN, else PATH)"),
]
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")
NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


def _kind(settings: Settings) -> str:
    return "sqlite" if settings.is_sqlite else "postgresql"


def _fail(exc: Exception) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
    return typer.Exit(1)


def _size(n: int) -> str:
    size, unit = float(n), "bytes"
    for larger in ("KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            break
        size, unit = size / 1024, larger
    return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


# ---------------------------------------------------------------------------------------------
# backup


def backup(
    path: Annotated[Path, typer.Argument(help="The file to write (.tar, or .tar.gz to compress), or a folder")],
    media: Annotated[bool, typer.Option("--media/--no-media", help="Include the cached thumbnails and avatars")] = True,
    pg_bin: PgBin = None,
) -> None:
    """Back up the database, the semantic index, the secret key and the media cache into one file.

    Safe while the site runs: the copy is of one moment (SQLite's online backup API; pg_dump's snapshot).
    Given a folder, the file is named dailypapers-YYYYMMDD-HHMMSS.tar in it (docs/backups.md)."""
    settings = load_settings()
    if path.is_dir():
        path = path / f"dailypapers-{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}.tar"
    try:
        if not path.parent.is_dir():
            raise BackupError(f"cannot write {path}: {path.parent} is not a folder")
        written = _backup(settings, path, media, pg_bin)
    except BackupError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        raise _fail(BackupError(f"cannot write the backup {path}: {exc}")) from exc
    console.print(
        f"Backed up the {NAMES[written.database]} database (revision {written.alembic_revision}) into "
        f"{escape(str(path))}: {_size(path.stat().st_size)}, {_plural(len(written.parts), 'part')}",
        highlight=False,
    )


def _backup(settings: Settings, path: Path, media: bool, pg_bin: str | None) -> Manifest:
    started = dt.datetime.now(dt.UTC)
    archive = ArchiveWriter(path)
    try:
        with staging_dir(path.parent, ".dailypapers-backup-") as staging:
            info: dict[str, Any] = {}
            if settings.is_sqlite:
                index = _stage_semantic_index(settings, staging / "semantic")  # before the database
                state = snapshot_sqlite(sqlite_file(settings.database_url), staging / SQLITE_PART)
                if state.revision is None:
                    raise BackupError("the database has no Daily Papers schema (run `dailypapers migrate`)")
                archive.add(SQLITE_PART, staging / SQLITE_PART)
                (staging / SQLITE_PART).unlink()
                info["semantic_index"] = _add_semantic_index(archive, index, state)
            else:
                from dailypapers.store.backup_pg import dump, find_tools

                tools = find_tools(pg_bin or settings.pg_bin, ("pg_dump",))
                state = dump(settings.database_url, staging / PG_PART, tools)
                archive.add(PG_PART, staging / PG_PART)
            info |= {"embedding_seq": state.embedding_seq, "store_id": state.store_id}
            secret = settings.data_dir / SECRET_PART
            if secret.is_file():
                archive.add(SECRET_PART, secret)
            info["media"] = media
            if media:
                info["media_files"] = _add_media(archive, settings.data_dir / "media")
            manifest = Manifest(
                database=_kind(settings),
                alembic_revision=str(state.revision),
                app_version=__version__,
                created_at=started.isoformat(timespec="seconds"),
                parts=archive.parts,
                info=info,
            )
            archive.finish(manifest)
            return manifest
    except BaseException:
        archive.abort()
        raise


def _stage_semantic_index(settings: Settings, staging: Path) -> list[dict[str, Any]]:
    """Copy each index file with its description (`<model>.json`) into `staging`, as saved last. A save
    meanwhile writes a new file and removes the old one: then the description is read again."""
    directory = settings.data_dir / "semantic"
    staged: list[dict[str, Any]] = []
    for meta_path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        for _ in range(5):
            try:
                raw = meta_path.read_bytes()
                meta = json.loads(raw)
                name, crc = str(meta["file"]), int(meta["crc32"])
            except (OSError, ValueError, TypeError, KeyError):
                break  # not an index description: left out (the restored site rebuilds what it lacks)
            if not _FILE_NAME.fullmatch(name):
                break
            staging.mkdir(parents=True, exist_ok=True)
            try:
                copied = _copy_crc(directory / name, staging / name)
            except FileNotFoundError:
                continue
            if copied != crc:
                (staging / name).unlink()
                break  # damaged: the restored site rebuilds it
            (staging / meta_path.name).write_bytes(raw)
            staged.append({**meta, "description": meta_path.name, "path": staging / name})
            break
    return staged


def _copy_crc(source: Path, target: Path) -> int:
    crc = 0
    with source.open("rb") as src, target.open("wb") as dst:
        while chunk := src.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
            dst.write(chunk)
    return crc


def _add_semantic_index(archive: ArchiveWriter, staged: list[dict[str, Any]], state: DatabaseState) -> list[dict]:
    """Add the staged index files that belong to this database copy (its store id, a seq not past its own)."""
    kept = []
    for meta in staged:
        path: Path = meta["path"]
        if meta.get("store_id") == state.store_id and int(meta.get("seq", -1)) <= state.embedding_seq:
            archive.add(f"semantic/{path.name}", path)
            archive.add(f"semantic/{meta['description']}", path.parent / meta["description"])
            kept.append({k: meta.get(k) for k in ("model", "dim", "seq", "count", "file")})
        path.unlink(missing_ok=True)
    return kept


def _add_media(archive: ArchiveWriter, directory: Path) -> int:
    added = 0
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        if _FILE_NAME.fullmatch(path.name) and path.is_file():
            try:
                archive.add(f"media/{path.name}", path)
            except FileNotFoundError:
                continue  # removed meanwhile (`dailypapers fetch media --clear`)
            added += 1
    return added


# ---------------------------------------------------------------------------------------------
# restore


def restore(
    path: Annotated[Path, typer.Argument(help="A file written by `dailypapers backup`")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that already holds data")] = False,
    check: Annotated[bool, typer.Option("--check", help="Only verify the backup; change nothing")] = False,
    pg_bin: PgBin = None,
) -> None:
    """Restore a backup into the configured database and data directory, then migrate it forward.

    Stop the site first: `dailypapers serve` and every `dailypapers worker`.
    A database that already holds data is replaced only with --force.
    Every part's checksum is verified before anything is changed."""
    settings = load_settings()
    try:
        with Archive(path) as archive:
            manifest = archive.manifest
            _known_revision(manifest, path)
            if check:  # whatever the configured database's kind
                _check(archive, settings, pg_bin)
                console.print(
                    f"{escape(str(path))} is a sound {NAMES[manifest.database]} backup of {manifest.created_at} "
                    f"(revision {manifest.alembic_revision}, {_plural(len(manifest.parts), 'part')})",
                    highlight=False,
                )
                return
            _same_kind(manifest, settings, path)
            held = tables_with_data(settings.database_url)
            if held and not force:
                raise BackupError(
                    f"the database already holds data ({', '.join(held[:5])}{', ...' if len(held) > 5 else ''}); "
                    "`dailypapers restore --force` replaces it (back it up first)"
                )
            if settings.is_sqlite:
                _restore_sqlite(archive, settings)
            else:
                _restore_postgres(archive, settings, pg_bin)
    except BackupError as exc:
        raise _fail(exc) from exc
    except OSError as exc:
        raise _fail(BackupError(f"restoring {path} failed: {exc}")) from exc
    with store(settings) as engine:  # migrates what is still behind (PostgreSQL)
        requeued = requeue_missing_media(engine, _media_names(settings))
    console.print(
        f"Restored {escape(str(path))}: the {NAMES[manifest.database]} database of {manifest.created_at} "
        f"(revision {manifest.alembic_revision}, Daily Papers {manifest.app_version}) and "
        f"{_plural(len(manifest.parts) - 1, 'file')} into {escape(str(settings.data_dir))}",
        highlight=False,
    )
    if requeued:
        console.print(f"{requeued} cached images are not in the backup: the media-cache job fetches them again")


def _same_kind(manifest: Manifest, settings: Settings, path: Path) -> None:
    if manifest.database != _kind(settings):
        raise BackupError(
            f"{path} is a backup of a {NAMES[manifest.database]} database, and DAILYPAPERS_DATABASE_URL names a "
            f"{NAMES[_kind(settings)]} one: restore it into a {NAMES[manifest.database]} database"
        )


def _known_revision(manifest: Manifest, path: Path) -> None:
    if not revision_known(manifest.alembic_revision):
        raise BackupError(
            f"{path} was made by a newer Daily Papers ({manifest.app_version}, database revision "
            f"{manifest.alembic_revision}; this one, {__version__}, knows revisions up to {head_revision()}): "
            "upgrade Daily Papers first"
        )


def _check(archive: Archive, settings: Settings, pg_bin: str | None) -> None:
    with staging_dir(settings.data_dir, ".restore-check-") as staging:
        archive.extract(lambda name: staging / name)
        if archive.manifest.database == "sqlite":
            _expect_revision(check_sqlite(staging / SQLITE_PART).revision, archive.manifest)
        else:
            from dailypapers.store.backup_pg import extensions_and_list, find_tools

            extensions_and_list(staging / PG_PART, find_tools(pg_bin or settings.pg_bin, ("pg_restore",)))


def _expect_revision(revision: str | None, manifest: Manifest) -> None:
    if revision != manifest.alembic_revision:
        raise BackupError(
            f"the database in the backup is at revision {revision}, its manifest says {manifest.alembic_revision}"
        )


def _restore_sqlite(archive: Archive, settings: Settings) -> None:
    target = sqlite_file(settings.database_url)
    with (
        staging_dir(settings.data_dir, ".restore-") as staging,
        staging_dir(target.parent, ".restore-db-") as db_staging,
    ):
        database = db_staging / SQLITE_PART
        archive.extract(lambda name: database if name == SQLITE_PART else staging / name)
        _expect_revision(check_sqlite(database).revision, archive.manifest)
        applied = migrate_sqlite(database)
        if applied:
            console.print(f"Applied migrations: {', '.join(applied)}")
        _clear_semantic_index(settings)  # only a cache: the old one must not outlive its database
        install_sqlite(database, target)
        _install_files(staging, settings)


def _restore_postgres(archive: Archive, settings: Settings, pg_bin: str | None) -> None:
    from dailypapers.store.backup_pg import find_tools
    from dailypapers.store.backup_pg import restore as pg_restore

    tools = find_tools(pg_bin or settings.pg_bin, ("pg_restore", "psql"))
    with staging_dir(settings.data_dir, ".restore-") as staging:
        archive.extract(lambda name: staging / name)
        pg_restore(settings.database_url, staging / PG_PART, tools)
        _expect_revision(revision_at(settings.database_url), archive.manifest)
        _install_files(staging, settings)


def _clear_semantic_index(settings: Settings) -> None:
    directory = settings.data_dir / "semantic"
    if directory.is_dir():
        for path in [*directory.glob("*.json"), *directory.glob("*.usearch*")]:
            path.unlink(missing_ok=True)


def _install_files(staging: Path, settings: Settings) -> None:
    """Move the restored files into the data directory: index files before their descriptions."""
    data = settings.data_dir
    semantic = staging / "semantic"
    if semantic.is_dir():
        (data / "semantic").mkdir(parents=True, exist_ok=True)
        for path in sorted(semantic.iterdir(), key=lambda p: p.suffix == ".json"):
            os.replace(path, data / "semantic" / path.name)
    if (staging / SECRET_PART).is_file():
        (staging / SECRET_PART).chmod(0o600)
        os.replace(staging / SECRET_PART, data / SECRET_PART)
    media = staging / "media"
    if media.is_dir():
        (data / "media").mkdir(parents=True, exist_ok=True)
        for path in media.iterdir():
            path.chmod(0o644)
            os.replace(path, data / "media" / path.name)


def _media_names(settings: Settings) -> set[str]:
    directory = settings.data_dir / "media"
    return {p.name for p in directory.iterdir()} if directory.is_dir() else set()
