"""Leadership among workers: PostgreSQL's session advisory lock, held on a connection of its
own. The server lets it go the moment that connection ends (the worker stopped, crashed or
lost the network), and another worker takes it at its next try. On SQLite the one process
always leads."""

from __future__ import annotations

import asyncio
import logging
import zlib

import asyncpg

log = logging.getLogger(__name__)
CHECK_TIMEOUT = 2.0


class AdvisoryLease:
    def __init__(self, database, name: str) -> None:  # type: ignore[no-untyped-def]
        self.database = database
        self.name = name
        # The lock's number: the same in every worker for the same name.
        self.key = zlib.crc32(f"facilitator-bot:{name}".encode())
        self._connection: asyncpg.Connection | None = None

    async def hold(self) -> bool:
        """True while this worker holds the lease (taking it when it is free)."""
        if self.database.dialect != "postgresql":
            return True
        if self._connection is not None:
            try:
                await asyncio.wait_for(self._connection.fetchval("SELECT 1"), CHECK_TIMEOUT)
                return True
            except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
                log.warning("lost the connection that holds the %s lease", self.name)
                await self._drop()
                return False
        try:
            connection = await asyncio.wait_for(asyncpg.connect(self.database.url), CHECK_TIMEOUT * 2)
        except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.warning("cannot reach the database to try the %s lease: %s", self.name, error)
            return False
        try:
            taken = await connection.fetchval("SELECT pg_try_advisory_lock($1)", self.key)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            taken = False
        if not taken:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def release(self) -> None:
        await self._drop()

    async def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), CHECK_TIMEOUT)
            except Exception:
                connection.terminate()
