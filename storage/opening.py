"""Which database a community lives in: the SQLite file, or a PostgreSQL server when
`[storage] url` names one."""

from __future__ import annotations

from pathlib import Path

from storage.database import Database
from storage.files import StorageUnavailable
from storage.postgres import PostgresDatabase, PostgresUnavailable

AnyDatabase = Database | PostgresDatabase


async def open_storage(path: Path, url: str = "") -> AnyDatabase:
    """The community's database, migrated. What its operator can fix is `StorageUnavailable`."""
    if not url:
        return await Database.open(path)
    try:
        return await PostgresDatabase.open(url)
    except PostgresUnavailable as error:
        where, _, reason = str(error).partition(": ")
        raise StorageUnavailable(where, reason) from None
