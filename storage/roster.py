"""Facilitators added at run time."""

from __future__ import annotations

from storage.database import Database


class SqliteAddedFacilitators:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def all(self) -> list[tuple[str, str]]:
        rows = await self.database.fetch_all("SELECT platform, user_id FROM added_facilitator ORDER BY added_at")
        return [(row["platform"], row["user_id"]) for row in rows]

    async def add(self, platform: str, user_id: str, by: int | None, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO added_facilitator (platform, user_id, added_by, added_at) VALUES (?, ?, ?, ?)",
                (platform, user_id, by, now))

    async def remove(self, platform: str, user_id: str) -> bool:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "DELETE FROM added_facilitator WHERE platform = ? AND user_id = ?", (platform, user_id))
            return cursor.rowcount > 0
