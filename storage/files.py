"""The database as a file on a disk: the problems its owner can cause and fix (a folder that
cannot be written, a path that is a folder, a file that is not a database, a full disk),
each told as a `StorageUnavailable` naming the path and the problem; files created readable
by the owner only; and the lock a running bot holds on its database.
"""

from __future__ import annotations

import errno
import fcntl
import os
import sqlite3
from pathlib import Path

OWNER_ONLY = 0o600

NOT_A_DATABASE = "it is not a SQLite database (or it is damaged)"
DAMAGED = "the database is damaged"
# SQLite's primary result codes (sqlite3.h) for the problems a person can fix.
_SQLITE_REASONS = {
    "SQLITE_NOTADB": NOT_A_DATABASE,
    "SQLITE_CORRUPT": DAMAGED,
    "SQLITE_FULL": "the disk is full",
    "SQLITE_CANTOPEN": "it cannot be opened (is its folder writable?)",
    "SQLITE_READONLY": "it cannot be written (read-only file or folder)",
    "SQLITE_PERM": "permission denied",
    "SQLITE_AUTH": "permission denied",
    "SQLITE_IOERR": "the disk could not be read or written",
    "SQLITE_BUSY": "another program holds it locked",
    "SQLITE_LOCKED": "another program holds it locked",
}
_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "it is a folder, not a database file",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
}


class StorageUnavailable(Exception):
    """The database at `path` cannot be used, for a reason its owner can fix."""

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"cannot use the database {path}: {reason}")
        self.path = str(path)
        self.reason = reason


class AlreadyRunning(StorageUnavailable):
    """Another bot process holds the database's lock."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(path, "another bot is running on it")

    def __str__(self) -> str:
        return f"another bot is running on {self.path}"


POSTGRES_DISK_FULL = "53100"


def is_out_of_room(error: BaseException) -> bool:
    """Whether a write failed because the disk (or the database's allowed size) is full."""
    if isinstance(error, OSError):
        return error.errno in (errno.ENOSPC, errno.EDQUOT)
    if isinstance(error, sqlite3.Error):
        # A real error carries its code; one raised by hand (as in tests) only its words.
        return getattr(error, "sqlite_errorname", "") == "SQLITE_FULL" or "database or disk is full" in str(error)
    # A PostgreSQL server's disk_full (its errors carry their SQLSTATE).
    return getattr(error, "sqlstate", None) == POSTGRES_DISK_FULL


def as_unavailable(error: BaseException, path: str | Path) -> StorageUnavailable | None:
    """The error as a `StorageUnavailable` when its cause is one a person can fix (a full
    disk, a damaged file, permissions); None for anything else, a bug among them."""
    if isinstance(error, StorageUnavailable):
        return error
    if is_out_of_room(error):
        return StorageUnavailable(path, "the disk is full")
    if isinstance(error, sqlite3.Error) and _sqlite_code(error) in _SQLITE_REASONS:
        return StorageUnavailable(path, reason_of(error))
    if isinstance(error, OSError) and error.errno in _OS_REASONS:
        return StorageUnavailable(path, reason_of(error))
    return None


def _sqlite_code(error: sqlite3.Error) -> str:
    """The primary result code's name: SQLITE_IOERR_WRITE -> SQLITE_IOERR."""
    if "file is not a database" in str(error):
        return "SQLITE_NOTADB"
    name = getattr(error, "sqlite_errorname", "") or ""
    return "_".join(name.split("_")[:2])


def reason_of(error: BaseException) -> str:
    """A short, person-readable reason for a storage error (the words after the path)."""
    if is_out_of_room(error):
        return "the disk is full"
    if isinstance(error, sqlite3.Error):
        return _SQLITE_REASONS.get(_sqlite_code(error), str(error))
    if isinstance(error, OSError):
        return _OS_REASONS.get(error.errno or 0, error.strerror or str(error))
    return str(error)


def storage_problem(path: Path) -> str | None:
    """What would stop the bot from keeping its database at `path`, found without changing
    anything (for `check-config`); None when the folder can be created or written."""
    if path.is_dir():
        return "it is a folder, not a database file"
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            return "it cannot be read and written (its permissions, or a read-only disk)"
        folder = path.parent
    else:
        folder = path.parent
        existing = folder
        while not existing.exists():
            existing = existing.parent
        if not existing.is_dir():
            return f"the folder {folder} cannot be created: {existing} is a file"
        if existing != folder and not os.access(existing, os.W_OK | os.X_OK):
            return f"the folder {folder} cannot be created in {existing} (its permissions, or a read-only disk)"
    # SQLite writes its -wal and -shm files beside the database.
    if folder.is_dir() and not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} cannot be written (its permissions, or a read-only disk)"
    return None


def prepare_file(path: Path) -> None:
    """Make the database's folder and, for a new database, an empty file readable by its
    owner only. SQLite gives the -wal and -shm files it creates later the database file's
    permissions, so creating this one first is what keeps all three private."""
    problem = storage_problem(path)
    if problem:
        raise StorageUnavailable(path, problem)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_CREAT | os.O_RDWR, OWNER_ONLY))
    except OSError as error:
        raise StorageUnavailable(path, reason_of(error)) from None


def create_private(path: Path, exclusive: bool = False) -> int:
    """Open a new file readable by its owner only; a descriptor to write to."""
    flags = os.O_CREAT | os.O_WRONLY | os.O_TRUNC | (os.O_EXCL if exclusive else 0)
    return os.open(path, flags, OWNER_ONLY)


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class RunLock:
    """`<db>.lock`, held with flock by the bot for the life of its process: a second bot,
    or a restore, sees it and stops. The kernel lets it go when the process ends, however it
    ends, so a killed bot never leaves a stale lock behind."""

    def __init__(self, database: Path, descriptor: int) -> None:
        self.database = database
        self._descriptor = descriptor

    @classmethod
    def take(cls, database: Path) -> "RunLock":
        path = lock_path(database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, os.O_CREAT | os.O_RDWR, OWNER_ONLY)
        except OSError as error:
            raise StorageUnavailable(database, f"cannot create its lock file {path}: {reason_of(error)}") from None
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise AlreadyRunning(database) from None
        except OSError as error:
            os.close(descriptor)
            raise StorageUnavailable(database, f"cannot lock {path}: {reason_of(error)}") from None
        return cls(database, descriptor)

    def release(self) -> None:
        if self._descriptor >= 0:
            os.close(self._descriptor)  # closing the descriptor releases the flock
            self._descriptor = -1

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
