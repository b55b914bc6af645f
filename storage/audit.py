"""The audit log of facilitators' actions."""

from __future__ import annotations

from bot.services.audit import Action, AuditEntry
from storage.database import Database


class SqliteAuditLog:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, entry: AuditEntry) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT INTO audit (at, actor_id, actor_name, platform, action, discussion_id, member_id, detail)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.at, entry.actor_id, entry.actor_name, entry.platform, entry.action.value, entry.discussion_id,
                 entry.member_id, entry.detail))

    async def recent(self, limit: int) -> list[AuditEntry]:
        rows = await self.database.fetch_all(
            "SELECT at, actor_id, actor_name, platform, action, discussion_id, member_id, detail FROM audit"
            " ORDER BY id DESC LIMIT ?", (limit,))
        return [AuditEntry(row["at"], row["actor_id"], row["actor_name"], row["platform"], Action(row["action"]),
                           row["discussion_id"], row["member_id"], row["detail"]) for row in rows]
