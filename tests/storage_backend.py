"""Which database the tests run on: SQLite (the default) or PostgreSQL, when
FACILITATOR_TEST_STORAGE=postgresql (as `make test` runs the suite a second time).

On PostgreSQL each SQLite path a test names stands for a database of its own on the test
session's throw-away server (tests/postgres_server.py): the same test reads the same way on
both. `rows` reads a database from a test synchronously, as sqlite3 does."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

from tests.postgres_server import Server

if TYPE_CHECKING:
    from storage.postgres import PostgresDatabase

BACKEND = os.environ.get("FACILITATOR_TEST_STORAGE", "sqlite")
ON_POSTGRES = BACKEND == "postgresql"
T = TypeVar("T")


class _Session:
    """The test session's server, and the databases of the test running now, each read
    through one connection kept open until the next test starts, on a thread of its own: the
    tests read rows synchronously from inside their event loop, as sqlite3 does."""

    server: Server | None = None
    databases: dict[str, str] = {}
    readers: dict[str, PostgresDatabase] = {}
    loop: asyncio.AbstractEventLoop | None = None


def use_server(server: Server | None) -> None:
    forget_databases()
    _Session.server = server
    if server is None and _Session.loop is not None:
        _Session.loop.call_soon_threadsafe(_Session.loop.stop)
        _Session.loop = None


def forget_databases() -> None:
    readers, _Session.readers, _Session.databases = _Session.readers, {}, {}
    if readers:
        async def close() -> None:
            for reader in readers.values():
                await reader.close()

        _on_reader_thread(close)


def _on_reader_thread(work: Callable[[], Any]) -> Any:
    """A coroutine's result, from a sync call inside a running event loop."""
    if _Session.loop is None:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="test-database-reader", daemon=True).start()
        _Session.loop = loop
    return asyncio.run_coroutine_threadsafe(work(), _Session.loop).result()


def storage_url(path: Path | str) -> str:
    """'' on SQLite; on PostgreSQL the database standing for that path (made at first use)."""
    if not ON_POSTGRES:
        return ""
    server = _Session.server
    if server is None:
        raise RuntimeError("the PostgreSQL test server is not running (tests/conftest.py starts it)")
    key = str(Path(path).resolve())
    if key not in _Session.databases:
        _Session.databases[key] = _on_reader_thread(server.new_database)
    return _Session.databases[key]


def storage_toml(path: Path | str) -> str:
    """The `[storage]` section of a configuration file for that path."""
    url = storage_url(path)
    section = f'[storage]\npath = "{path}"\n'
    return section + (f'url = "{url}"\n' if url else "")


def rows(path: Path | str, sql: str, parameters: Sequence[Any] = ()) -> list[tuple]:
    """What a query returns, as tuples, from the database standing for `path`."""
    if not ON_POSTGRES:
        with sqlite3.connect(path) as connection:
            return connection.execute(sql, parameters).fetchall()
    url = storage_url(path)

    async def read() -> list[tuple]:
        from storage.postgres import PostgresDatabase

        if url not in _Session.readers:
            _Session.readers[url] = await PostgresDatabase.open(url, connections=1)
        return [tuple(row) for row in await _Session.readers[url].fetch_all(sql, parameters)]

    return _on_reader_thread(read)


def execute(path: Path | str, sql: str, parameters: Sequence[Any] = ()) -> None:
    """A change made from outside the bot (as an operator with a database client would)."""
    if not ON_POSTGRES:
        with sqlite3.connect(path) as connection:
            connection.execute(sql, parameters)
        return
    rows(path, sql, parameters)
