"""The SQLite database: one aiosqlite connection in WAL mode, with numbered migrations.

Every line of SQL of the project lives in `storage/`. Migrations are the files
`storage/migrations/NNN_name.sql`, applied in order at start, each in its own transaction,
and recorded in `schema_migrations` so each runs once.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sqlite3
import re
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import AsyncIterator

import aiosqlite

from storage.files import StorageUnavailable, prepare_file, reason_of

log = logging.getLogger(__name__)
WAL_KEPT_BYTES = 8 * 1024 * 1024

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


class Database:
    """A connection plus the discipline around it: short transactions, one writer at a time."""

    dialect = "sqlite"

    def __init__(self, connection: aiosqlite.Connection, path: str) -> None:
        self.connection = connection
        self.path = path
        self._lock = asyncio.Lock()
        # The task whose transaction is open. A task started inside a transaction inherits the
        # context, so "am I inside?" must ask whose it is, not only whether one is open.
        self._owner: contextvars.ContextVar[asyncio.Task | None] = contextvars.ContextVar(
            f"transaction_owner_{id(self)}", default=None
        )

    @classmethod
    async def open(cls, path: str | Path) -> "Database":
        """The database at `path`, created (owner-only) and migrated as needed.

        What its owner can fix (an unwritable folder, a file that is not a database, a full
        disk) is raised as `StorageUnavailable`; the connection's thread is stopped first,
        since a left-over one would keep the process from ever exiting."""
        path = str(path)
        if path != ":memory:":
            prepare_file(Path(path))
        try:
            connection = await aiosqlite.connect(path, isolation_level=None)
        except (sqlite3.Error, OSError) as error:
            raise StorageUnavailable(path, reason_of(error)) from None
        try:
            return await cls._prepare(connection, path)
        except BaseException as error:
            await _close_quietly(connection)
            if isinstance(error, (sqlite3.Error, OSError)):
                raise StorageUnavailable(path, reason_of(error)) from None
            raise

    @classmethod
    async def _prepare(cls, connection: aiosqlite.Connection, path: str) -> "Database":
        connection.row_factory = aiosqlite.Row
        await connection.execute("PRAGMA journal_mode=WAL")
        await connection.execute("PRAGMA synchronous=NORMAL")
        await connection.execute("PRAGMA foreign_keys=ON")
        # What is deleted or overwritten is zeroed on disk: a forgotten member's name must not
        # survive in a free page.
        await connection.execute("PRAGMA secure_delete=ON")
        await connection.execute("PRAGMA busy_timeout=5000")
        # After a large write (a broadcast to 100,000) the write-ahead log shrinks back to this
        # once it is checkpointed, instead of keeping its largest size on disk.
        await connection.execute(f"PRAGMA journal_size_limit={WAL_KEPT_BYTES}")
        database = cls(connection, path)
        await database.migrate()
        return database

    async def close(self) -> None:
        await self.connection.close()

    @asynccontextmanager
    async def transaction(self, shared: bool = False) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any exception: never a half-written row.

        aiosqlite runs every statement on one thread in order, so concurrent tasks that each
        open a transaction are serialised here by a lock rather than interleaved. A
        transaction opened inside another one of the same task joins it, so a use case can
        wrap several repositories' writes in one. (`shared` matters on PostgreSQL only: one
        SQLite file has one writer.)"""
        if self._owner.get() is asyncio.current_task():
            yield self.connection
            return
        async with self._lock:
            token = self._owner.set(asyncio.current_task())
            try:
                await self.connection.execute("BEGIN IMMEDIATE")
            except BaseException:
                # Cancelled while waiting (the bot stopping): the BEGIN still runs on the
                # connection's thread, and a transaction left open would refuse every later one.
                await self._roll_back()
                self._owner.reset(token)
                raise
            try:
                yield self.connection
            except BaseException:
                await self._roll_back()
                raise
            else:
                try:
                    await self.connection.execute("COMMIT")
                except BaseException:
                    # A COMMIT that failed (a full disk) may leave the transaction open, and
                    # every later BEGIN would then fail: the bot could never write again.
                    await self._roll_back()
                    raise
            finally:
                self._owner.reset(token)

    async def _roll_back(self) -> None:
        """ROLLBACK, unless SQLite already did (it does by itself after some errors, a full
        disk among them): the error that caused it must not be replaced by "no transaction
        is active"."""
        try:
            await self.connection.execute("ROLLBACK")
        except sqlite3.OperationalError as error:
            log.debug("nothing to roll back: %s", error)

    async def fetch_one(self, sql: str, parameters: tuple | dict = ()) -> aiosqlite.Row | None:
        async with self._reading():
            async with self.connection.execute(sql, parameters) as cursor:
                return await cursor.fetchone()

    async def fetch_all(self, sql: str, parameters: tuple | dict = ()) -> list[aiosqlite.Row]:
        async with self._reading():
            async with self.connection.execute(sql, parameters) as cursor:
                return list(await cursor.fetchall())

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[None]:
        """Reads share the one connection with writes: outside its own transaction a task
        waits for another's to end, so it never sees rows that may yet be rolled back (an
        outbox row sent for a change that did not happen)."""
        if self._owner.get() is asyncio.current_task():
            yield
            return
        async with self._lock:
            yield

    async def migrate(self) -> None:
        await self.connection.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL DEFAULT (datetime('now')))"
        )
        applied = {row["version"] for row in await self.fetch_all("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations("sqlite"):
            if version in applied:
                continue
            log.info("applying migration %s", name)
            async with self.transaction() as connection:
                for statement in _statements(sql):
                    await connection.execute(statement)
                await connection.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
                )


async def _close_quietly(connection: aiosqlite.Connection) -> None:
    try:
        await connection.close()
    except Exception:
        log.debug("closing a database that failed to open failed too", exc_info=True)


def newest_migration() -> int:
    """The schema version this code brings a database to."""
    return max(version for version, _, _ in migrations("sqlite"))


def migrations(dialect: str) -> list[tuple[int, str, str]]:
    """SQLite's in storage/migrations/, PostgreSQL's in storage/migrations/postgresql/ (which
    begins at 019, the schema SQLite's first nineteen build): a change to the schema is a
    file of the same number in each."""
    found = []
    folder = resources.files("storage").joinpath("migrations")
    if dialect == "postgresql":
        folder = folder.joinpath("postgresql")
    for entry in folder.iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    versions = [version for version, _, _ in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number: {sorted(versions)}")
    return sorted(found)


def _statements(script: str) -> list[str]:
    """Split a migration into statements; sqlite3.complete_statement keeps triggers whole."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line
        if sqlite3.complete_statement(current):
            if current.strip():
                statements.append(current.strip())
            current = ""
    if current.strip():
        statements.append(current.strip())
    return statements
