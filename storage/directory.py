"""The member directory (members who said yes to being found) and the introductions members
ask of one another."""

from __future__ import annotations

import aiosqlite

from bot.domain.members import Member, Role, Status
from bot.services.introductions import Introduction, IntroductionState
from storage.database import Database


class SqliteDirectory:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def listed(self) -> list[Member]:
        # Only what the directory shows; no identity, since contacts travel only with an introduction.
        rows = await self.database.fetch_all(
            "SELECT id, name, organization, country, topics, language, role, offers, seeks FROM member"
            " WHERE in_directory = 1 AND status != 'left' AND removed_reason IS NULL ORDER BY id")
        return [Member(
            id=row["id"], name=row["name"], organization=row["organization"], country=row["country"],
            topics=tuple(topic for topic in row["topics"].split(";") if topic), language=row["language"],
            role=Role(row["role"]), status=Status.ACTIVE, offers=row["offers"], seeks=row["seeks"], in_directory=True,
        ) for row in rows]


_COLUMNS = "id, asker_id, asked_id, note, state, created_at, expires_at, answered_at"


class SqliteIntroductions:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(self, asker_id: int, asked_id: int, note: str, now: float, expires_at: float) -> Introduction:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO introduction (asker_id, asked_id, note, created_at, expires_at) VALUES (?, ?, ?, ?, ?)",
                (asker_id, asked_id, note, now, expires_at))
            introduction_id = cursor.lastrowid
        assert introduction_id is not None
        return Introduction(introduction_id, asker_id, asked_id, note, IntroductionState.PENDING, now, expires_at)

    async def get(self, introduction_id: int) -> Introduction | None:
        row = await self.database.fetch_one(f"SELECT {_COLUMNS} FROM introduction WHERE id = ?", (introduction_id,))
        return _introduction(row) if row else None

    async def waiting_from(self, asker_id: int, now: float) -> list[Introduction]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM introduction WHERE asker_id = ? AND state = 'pending' AND expires_at > ?"
            " ORDER BY id", (asker_id, now))
        return [_introduction(row) for row in rows]

    async def latest(self, asker_id: int, asked_id: int) -> Introduction | None:
        row = await self.database.fetch_one(
            f"SELECT {_COLUMNS} FROM introduction WHERE asker_id = ? AND asked_id = ? ORDER BY id DESC LIMIT 1",
            (asker_id, asked_id))
        return _introduction(row) if row else None

    async def introduced(self, one: int, other: int) -> bool:
        row = await self.database.fetch_one(
            "SELECT 1 FROM introduction WHERE state = 'accepted'"
            " AND ((asker_id = ? AND asked_id = ?) OR (asker_id = ? AND asked_id = ?))", (one, other, other, one))
        return row is not None

    async def answer(self, introduction_id: int, state: IntroductionState, now: float) -> bool:
        """Settle a pending request; False when it was no longer pending (answered twice)."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE introduction SET state = ?, answered_at = ? WHERE id = ? AND state = 'pending'",
                (state.value, now, introduction_id))
            return cursor.rowcount == 1

    async def expire_due(self, now: float) -> list[Introduction]:
        async with self.database.transaction() as connection:
            async with connection.execute(
                    f"SELECT {_COLUMNS} FROM introduction WHERE state = 'pending' AND expires_at <= ? ORDER BY id",
                    (now,)) as cursor:
                due = [_introduction(row) for row in await cursor.fetchall()]
            if due:
                await connection.execute(
                    f"UPDATE introduction SET state = 'expired', answered_at = ?"
                    f" WHERE id IN ({','.join('?' * len(due))})", (now, *(each.id for each in due)))
        return due


def _introduction(row: aiosqlite.Row) -> Introduction:
    return Introduction(row["id"], row["asker_id"], row["asked_id"], row["note"], IntroductionState(row["state"]),
                        row["created_at"], row["expires_at"], row["answered_at"])
