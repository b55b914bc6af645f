"""Which database a community lives in: the SQLite file, or a PostgreSQL server when
`[storage] url` names one."""

from __future__ import annotations

from pathlib import Path

from storage.database import Database
from storage.postgres import PostgresDatabase

AnyDatabase = Database | PostgresDatabase


async def open_storage(path: Path, url: str = "") -> AnyDatabase:
    """The community's database, migrated. What its operator can fix is `StorageUnavailable`."""
    if not url:
        return await Database.open(path)
    return await PostgresDatabase.open(url)
