"""`facilitator backup` and `facilitator restore`.

A backup is taken with SQLite's online backup API in one step: it reads the database inside
one read transaction, so a bot writing meanwhile (WAL mode) never makes it inconsistent. The
copy is written beside its destination, checked, and only then renamed into place, readable
by its owner only. A restore puts a checked backup back, only while no bot holds the
database's lock, and holds that lock itself so that none starts meanwhile.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from storage.database import newest_migration
from storage.files import (
    DAMAGED, NOT_A_DATABASE, AlreadyRunning, RunLock, StorageUnavailable, create_private, reason_of, storage_problem,
)

BUSY_TIMEOUT_MS = 5000


class BackupRefused(Exception):
    """A backup or restore that cannot be done, with the one line that says why."""


@dataclass(frozen=True)
class Copied:
    path: Path
    size: int


def backup(database: Path, out: Path, force: bool = False) -> Copied:
    """Copy the database at `database` to `out` (mode 0600), even while a bot runs on it."""
    if not database.is_file():
        raise BackupRefused(f"no database at {database}: nothing to back up")
    if out.is_dir():
        raise BackupRefused(f"{out} is a folder: name the backup file to write")
    if out.exists() and not force:
        raise BackupRefused(f"{out} exists: add --force to overwrite it")
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        os.close(create_private(partial, exclusive=True))
    except OSError as error:
        raise BackupRefused(f"cannot write {out}: {reason_of(error)}") from None
    try:
        _copy_database(database, partial)
        _sync(partial)
        os.replace(partial, out)
    except (sqlite3.Error, OSError) as error:
        raise BackupRefused(f"cannot back up {database} to {out}: {reason_of(error)}") from None
    finally:
        partial.unlink(missing_ok=True)
    return Copied(out, out.stat().st_size)


def restore(backup_file: Path, database: Path) -> Copied:
    """Put `backup_file` back as the database at `database`, while no bot runs on it.

    The copy is made beside the database and renamed over it, so a damaged database (the
    usual reason to restore) is replaced without SQLite having to read it."""
    check_backup(backup_file)
    try:
        lock = RunLock.take(database)
    except AlreadyRunning:
        raise BackupRefused(f"another bot is running on {database}: stop it before restoring") from None
    with lock:
        problem = storage_problem(database)
        if problem:
            raise StorageUnavailable(database, problem)
        partial = database.with_name(f".{database.name}.{os.getpid()}.restoring")
        try:
            os.close(create_private(partial, exclusive=True))
            with closing(_open_read_only(backup_file)) as source, closing(sqlite3.connect(partial)) as target:
                source.backup(target, pages=-1)
            _sync(partial)
            # The old database's journals would be replayed into the new one: they go first.
            for suffix in ("-wal", "-shm", "-journal"):
                database.with_name(database.name + suffix).unlink(missing_ok=True)
            os.replace(partial, database)
        except (sqlite3.Error, OSError) as error:
            raise BackupRefused(f"cannot restore {backup_file} into {database}: {reason_of(error)}") from None
        finally:
            partial.unlink(missing_ok=True)
    return Copied(database, database.stat().st_size)


def check_backup(path: Path) -> None:
    """Refuse anything but an undamaged database of this app, of a version it knows."""
    if not path.is_file():
        raise BackupRefused(f"{path} is a folder, not a backup file" if path.is_dir() else f"no file at {path}")
    try:
        with closing(_open_read_only(path)) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "schema_migrations" not in tables:
                raise BackupRefused(f"{path} is not a backup of facilitator-bot (it has no schema_migrations table)")
            newest = connection.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] or 0
            verdict = connection.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.Error as error:
        if isinstance(error, sqlite3.DatabaseError) and reason_of(error) in (NOT_A_DATABASE, DAMAGED):
            raise BackupRefused(f"{path} is not a SQLite database (or it is damaged)") from None
        raise BackupRefused(f"cannot read {path}: {reason_of(error)}") from None
    if newest > newest_migration():
        raise BackupRefused(f"{path} was made by a newer version of facilitator-bot (migration {newest})")
    if verdict != "ok":
        raise BackupRefused(f"{path} is damaged: {verdict}")


def _copy_database(source_path: Path, target_path: Path) -> None:
    with closing(sqlite3.connect(f"file:{quote(str(source_path.resolve()))}?mode=rw", uri=True)) as source:
        source.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        with closing(sqlite3.connect(target_path)) as target:
            # pages=-1: the whole database in one step, inside one read transaction: consistent
            # even while the bot writes.
            source.backup(target, pages=-1)
            # One self-contained file: no -wal beside the backup.
            target.execute("PRAGMA journal_mode=DELETE")
            verdict = target.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupRefused(f"the copy of {source_path} failed its integrity check: {verdict}")


def _open_read_only(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{quote(str(path.resolve()))}?mode=ro", uri=True)


def _sync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
