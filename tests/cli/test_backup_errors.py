"""`dailypapers backup` and `restore` refusing what they must: a missing, garbled, truncated or tampered backup, a
checksum mismatch, one of the other database kind or of a newer version, a database that holds data, a folder
that cannot be written. Each says what was wrong, exits non-zero and leaves the site as it was; an older
backup is migrated forward, even over a database a newer version made."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

from dailypapers.store import backup_pg, backup_sqlite
from dailypapers.store.db import MIGRATIONS, alembic_config, make_engine, migrate
from tests.support.accounts import make_user
from tests.support.backups import Site, blank_database, table_rows
from tests.support.semantic import add_bare_papers

HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()
BEFORE_HEAD = ScriptDirectory(str(MIGRATIONS)).get_revision(HEAD).down_revision


@pytest.fixture
def site(db_url: str, tmp_path: Path) -> Site:
    engine = make_engine(db_url)
    add_bare_papers(engine, 5)
    make_user(engine, "ada")
    engine.dispose()
    return Site(db_url, tmp_path / "site")


@pytest.fixture
def archive(site: Site, tmp_path: Path) -> Path:
    path = tmp_path / "site.tar"
    code, out = site.run("backup", str(path))
    assert code == 0, out
    return path


@pytest.fixture
def fresh(site: Site, request: pytest.FixtureRequest, tmp_path: Path) -> Site:
    """Where a restore goes: a database with nothing in it yet."""
    return Site(blank_database(site.backend, request, tmp_path), tmp_path / "fresh")


def _untouched(target: Site) -> None:
    """Nothing was restored: no database tables, no files, no leftovers of a restore."""
    if target.backend == "sqlite":
        database = Path(target.url.removeprefix("sqlite:///"))
        assert not database.exists() and not list(database.parent.glob(".restore*"))
    else:
        assert table_rows(target.url) == {}
    leftovers = list(target.data_dir.iterdir()) if target.data_dir.exists() else []
    assert leftovers == [], leftovers


def _rewrite(source: Path, target: Path, change: Callable[[str, bytes], bytes | None]) -> Path:
    """A copy of the backup with each member's bytes passed through `change` (None: left out)."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            reader = old.extractfile(member)
            data = change(member.name, reader.read() if reader else b"")
            if data is not None:
                info = tarfile.TarInfo(member.name)
                info.size = len(data)
                new.addfile(info, io.BytesIO(data))
    return target


def _manifest(change: Callable[[dict], None]) -> Callable[[str, bytes], bytes | None]:
    def edit(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        change(manifest)
        return json.dumps(manifest).encode()

    return edit


def _fails(target: Site, archive: Path, *expected: str) -> None:
    code, out = target.run("restore", str(archive))
    assert code == 1, out
    for words in expected:
        assert words in out, out
    _untouched(target)


def test_bad_backups_are_refused_and_nothing_is_restored(archive: Path, fresh: Site, tmp_path: Path) -> None:
    _fails(fresh, tmp_path / "nowhere.tar", "no such file")

    (tmp_path / "garbled.tar").write_bytes(b"\x00\xffnot a backup at all" * 100)
    _fails(fresh, tmp_path / "garbled.tar", "not a Daily Papers backup")

    data = archive.read_bytes()
    (tmp_path / "truncated.tar").write_bytes(data[: len(data) // 2])
    _fails(fresh, tmp_path / "truncated.tar", "truncated")

    with tarfile.open(archive) as tar:
        offset = tar.getmember(f"database.{'sqlite3' if fresh.backend == 'sqlite' else 'pgdump'}").offset_data
    flipped = bytearray(data)
    flipped[offset + 100] ^= 0xFF
    (tmp_path / "flipped.tar").write_bytes(bytes(flipped))
    _fails(fresh, tmp_path / "flipped.tar", "checksum mismatch", "is damaged")

    garbled = _rewrite(archive, tmp_path / "manifest.tar", lambda n, d: b"{not json" if n == "manifest.json" else d)
    _fails(fresh, garbled, "manifest.json is garbled")

    headless = _rewrite(archive, tmp_path / "headless.tar", lambda n, d: None if n == "manifest.json" else d)
    _fails(fresh, headless, "has no manifest.json")

    lacking = _rewrite(archive, tmp_path / "lacking.tar", lambda n, d: None if n.startswith("database.") else d)
    _fails(fresh, lacking, "lacks database.", "incomplete")

    def newer(manifest: dict) -> None:
        manifest["alembic_revision"] = "9999"
        manifest["app_version"] = "9.0.0"

    _fails(fresh, _rewrite(archive, tmp_path / "newer.tar", _manifest(newer)), "newer Daily Papers", "upgrade")

    def newer_format(manifest: dict) -> None:
        manifest["format_version"] = 99

    _fails(fresh, _rewrite(archive, tmp_path / "format.tar", _manifest(newer_format)), "format version 99")

    code, out = fresh.run("restore", "--check", str(tmp_path / "flipped.tar"))
    assert code == 1 and "checksum mismatch" in out, out
    code, out = fresh.run("restore", "--check", str(archive))
    assert code == 0 and "is a sound" in out, out
    _untouched(fresh)


def test_a_backup_of_the_other_database_kind_is_refused(archive: Path, site: Site, tmp_path: Path) -> None:
    other = "postgresql+psycopg://nobody@127.0.0.1:9/none" if site.backend == "sqlite" else "sqlite:///x.db"
    target = Site(other, tmp_path / "other")
    code, out = target.run("restore", str(archive))
    assert code == 1, out
    kinds = ("SQLite", "PostgreSQL") if site.backend == "sqlite" else ("PostgreSQL", "SQLite")
    assert f"is a backup of a {kinds[0]} database" in out and f"names a {kinds[1]} one" in out, out
    assert not target.data_dir.exists()


def test_a_database_that_holds_data_is_replaced_only_with_force(archive: Path, site: Site) -> None:
    engine = make_engine(site.url)
    try:
        make_user(engine, "grace")  # after the backup
        code, out = site.run("restore", str(archive))
        assert code == 1 and "already holds data" in out and "--force" in out, out
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 2
        code, out = site.run("restore", "--force", str(archive))
        assert code == 0, out
        with engine.connect() as conn:
            assert [r[0] for r in conn.execute(text("SELECT name FROM users"))] == ["ada"]
    finally:
        engine.dispose()


def test_an_older_backup_is_migrated_forward_over_a_newer_database(
    db_url: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    backend = "sqlite" if db_url.startswith("sqlite") else "postgresql"
    site = Site(blank_database(backend, request, tmp_path), tmp_path / "site")
    engine = make_engine(site.url)
    try:
        command.upgrade(alembic_config(engine), BEFORE_HEAD)
        make_user(engine, "ada")
        code, out = site.run("backup", str(tmp_path / "old.tar"))
        assert code == 0 and f"revision {BEFORE_HEAD}" in out, out
        # A newer version then migrated this database, wrote to it, and made a table the backup has not heard of.
        migrate(engine)
        make_user(engine, "grace")
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE from_the_future (id INTEGER PRIMARY KEY)"))
    finally:
        engine.dispose()
    code, out = site.run("restore", "--force", str(tmp_path / "old.tar"))
    assert code == 0, out
    assert f"Applied migrations: {HEAD}" in out, out
    rows = table_rows(site.url)
    assert "from_the_future" not in rows
    assert rows["alembic_version"] == [(HEAD,)]
    assert [r[1] for r in rows["users"]] == ["ada"]


def test_a_folder_that_cannot_be_written_is_said_so(site: Site, tmp_path: Path) -> None:
    code, out = site.run("backup", str(tmp_path / "no" / "such" / "folder" / "x.tar"))
    assert code == 1 and "is not a folder" in out, out
    (tmp_path / "a-file").write_text("")
    code, out = site.run("backup", str(tmp_path / "a-file" / "x.tar"))
    assert code == 1 and "is not a folder" in out, out
    assert not list(tmp_path.glob("**/*.tar")) and not list(tmp_path.glob("**/.*.tmp"))


def test_missing_postgresql_programs_are_named(pg: Engine, tmp_path: Path) -> None:
    site = Site(pg.url.render_as_string(hide_password=False), tmp_path / "site")
    code, out = site.run("backup", "--pg-bin", str(tmp_path / "nothing"), str(tmp_path / "x.tar"))
    assert code == 1 and "pg_dump not found in" in out and "DAILYPAPERS_PG_BIN" in out, out
    assert not (tmp_path / "x.tar").exists()


def test_a_restore_under_a_running_site_gives_up_and_changes_nothing(
    archive: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(backup_sqlite, "LOCK_TIMEOUT", 1.0)
    monkeypatch.setattr(backup_pg, "LOCK_TIMEOUT", "1s")
    engine = make_engine(site.url)
    try:
        make_user(engine, "grace")
        # A request of the running site, in the middle of its transaction (a writer's, on SQLite).
        with engine.connect() as conn, conn.execution_options(write=True).begin() as transaction:
            conn.exec_driver_sql("SELECT count(*) FROM users")
            code, out = site.run("restore", "--force", str(archive))
            transaction.rollback()
        assert code == 1 and "stop it first" in out, out
        assert ("unchanged" if site.backend == "sqlite" else "nothing was changed") in out, out
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 2
    finally:
        engine.dispose()
