"""Facilitators' translations of what is shared: a question, a consolidated reply."""

from __future__ import annotations

from storage.database import Database


class SqliteTranslations:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def save(self, discussion_id: int, kind: str, language: str, text: str, by: int, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT INTO translation (discussion_id, kind, language, text, by_member, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (discussion_id, kind, language) DO UPDATE SET"
                " text = excluded.text, by_member = excluded.by_member, created_at = excluded.created_at",
                (discussion_id, kind, language, text, by, now))

    async def of(self, discussion_id: int, kind: str) -> dict[str, str]:
        rows = await self.database.fetch_all(
            "SELECT language, text FROM translation WHERE discussion_id = ? AND kind = ? ORDER BY language",
            (discussion_id, kind))
        return {row["language"]: row["text"] for row in rows}
