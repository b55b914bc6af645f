"""Conversation state, the inbound log and the kept secrets."""

from __future__ import annotations

import json
import secrets

from bot.services.conversation import Conversation
from storage.database import Database


class SqliteConversationStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, member_id: int) -> Conversation | None:
        row = await self.database.fetch_one("SELECT step, data FROM conversation WHERE member_id = ?", (member_id,))
        return Conversation(row["step"], json.loads(row["data"])) if row else None

    async def set(self, member_id: int, conversation: Conversation, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT INTO conversation (member_id, step, data, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (member_id) DO UPDATE SET step = excluded.step, data = excluded.data,"
                " updated_at = excluded.updated_at",
                (member_id, conversation.step, json.dumps(conversation.data, ensure_ascii=False), now),
            )

    async def clear(self, member_id: int) -> None:
        async with self.database.transaction() as connection:
            await connection.execute("DELETE FROM conversation WHERE member_id = ?", (member_id,))


class SqliteInboundLog:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, platform: str, user_id: str, chat_id: str, kind: str, body: str, event: str,
                     now: float, event_id: str | None = None) -> int | None:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO inbound (platform, user_id, chat_id, kind, body, event, received_at, event_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (platform, user_id, chat_id, kind, body, event, now, event_id),
            )
            return cursor.lastrowid if cursor.rowcount == 1 else None

    async def pending(self, received_before: float | None = None) -> list[tuple[int, str]]:
        rows = await self.database.fetch_all(
            "SELECT id, event FROM inbound WHERE handled_at IS NULL AND event IS NOT NULL"
            + ("" if received_before is None else " AND received_at < ?") + " ORDER BY id",
            () if received_before is None else (received_before,))
        return [(row["id"], row["event"]) for row in rows]

    async def still_unhandled(self, row: int) -> bool:
        async with self.database.transaction() as connection:
            found = await (await connection.execute(
                "SELECT handled_at FROM inbound WHERE id = ?", (row,))).fetchone()
        return found is not None and found[0] is None

    async def mark_handled(self, row: int, outcome: str, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute("UPDATE inbound SET handled_at = ?, outcome = ? WHERE id = ?", (now, outcome, row))


class SqliteSecrets:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def secret(self, name: str) -> bytes:
        key = f"secret:{name}"
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, secrets.token_hex(32))
            )
        row = await self.database.fetch_one("SELECT value FROM meta WHERE key = ?", (key,))
        assert row is not None
        return bytes.fromhex(row["value"])
