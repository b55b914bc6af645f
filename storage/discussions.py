"""Discussions, their replies, and the facilitator cards sent about them."""

from __future__ import annotations

from dataclasses import asdict

from bot.domain.discussions import Discussion, Reply, State
from bot.ports import Address
from bot.services.outbox import CardCopy
from storage.database import Database

_COLUMNS = (
    "id, asker_id, text, language, anonymous, state, state_by, reason, created_at,"
    " approved_at, deadline_at, closed_at, published_at, reminded_at, version"
)


class SqliteDiscussionStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(self, asker_id: int, text: str, language: str, anonymous: bool, now: float) -> Discussion:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO discussion (asker_id, text, language, anonymous, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (asker_id, text, language, int(anonymous), State.SUBMITTED.value, now),
            )
            discussion_id = cursor.lastrowid
        discussion = await self.get(discussion_id)
        assert discussion is not None
        return discussion

    async def get(self, discussion_id: int) -> Discussion | None:
        row = await self.database.fetch_one(f"SELECT {_COLUMNS} FROM discussion WHERE id = ?", (discussion_id,))
        return _discussion(row) if row else None

    async def save(self, discussion: Discussion, expected_version: int) -> bool:
        values = asdict(discussion)
        values["state"] = discussion.state.value
        values["anonymous"] = int(discussion.anonymous)
        values["expected_version"] = expected_version
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE discussion SET text = :text, language = :language, anonymous = :anonymous,"
                " state = :state, state_by = :state_by, reason = :reason, approved_at = :approved_at,"
                " deadline_at = :deadline_at, closed_at = :closed_at, published_at = :published_at, reminded_at = :reminded_at,"
                " version = :version WHERE id = :id AND version = :expected_version",
                values,
            )
            return cursor.rowcount == 1

    async def in_state(self, state: State) -> list[Discussion]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM discussion WHERE state = ? ORDER BY id", (state.value,)
        )
        return [_discussion(row) for row in rows]

    async def asked_by(self, member_id: int) -> list[Discussion]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM discussion WHERE asker_id = ? ORDER BY id DESC", (member_id,))
        return [_discussion(row) for row in rows]

    async def approved_between(self, start: float, end: float) -> list[Discussion]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM discussion WHERE state = 'approved' AND approved_at > ? AND approved_at <= ?"
            " ORDER BY approved_at", (start, end))
        return [_discussion(row) for row in rows]

    async def published_between(self, start: float, end: float) -> list[Discussion]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM discussion WHERE state = 'published' AND published_at > ? AND published_at <= ?"
            " ORDER BY published_at", (start, end))
        return [_discussion(row) for row in rows]

    async def add_reply(self, discussion_id: int, member_id: int, text: str, anonymous: bool, now: float,
                        language: str = "") -> Reply:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO reply (discussion_id, member_id, text, anonymous, created_at, language)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (discussion_id, member_id, text, int(anonymous), now, language),
            )
            return Reply(cursor.lastrowid, discussion_id, member_id, text, anonymous, now, language)

    async def replies(self, discussion_id: int) -> list[Reply]:
        rows = await self.database.fetch_all(
            "SELECT id, discussion_id, member_id, text, anonymous, created_at, language FROM reply"
            " WHERE discussion_id = ? ORDER BY id",
            (discussion_id,),
        )
        return [
            Reply(r["id"], r["discussion_id"], r["member_id"], r["text"], bool(r["anonymous"]), r["created_at"],
                  r["language"])
            for r in rows
        ]

    async def replied_member_ids(self, discussion_id: int) -> set[int]:
        rows = await self.database.fetch_all(
            "SELECT DISTINCT member_id FROM reply WHERE discussion_id = ?", (discussion_id,)
        )
        return {row["member_id"] for row in rows}

    async def add_card(self, discussion_id: int, outbox_id: int, kind: str, language: str) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO card (discussion_id, outbox_id, kind, language) VALUES (?, ?, ?, ?)",
                (discussion_id, outbox_id, kind, language),
            )

    async def cards(self, discussion_id: int, kind: str) -> list[CardCopy]:
        rows = await self.database.fetch_all(
            "SELECT c.outbox_id, c.language, o.platform, o.user_id, o.chat_id, o.member_id FROM card c"
            " JOIN outbox o ON o.id = c.outbox_id WHERE c.discussion_id = ? AND c.kind = ? ORDER BY c.outbox_id",
            (discussion_id, kind),
        )
        return [CardCopy(row["outbox_id"], row["language"], Address(row["platform"], row["user_id"], row["chat_id"]),
                         row["member_id"]) for row in rows]


def _discussion(row) -> Discussion:  # type: ignore[no-untyped-def]
    return Discussion(
        id=row["id"],
        asker_id=row["asker_id"],
        text=row["text"],
        language=row["language"],
        anonymous=bool(row["anonymous"]),
        state=State(row["state"]),
        state_by=row["state_by"],
        reason=row["reason"],
        created_at=row["created_at"],
        approved_at=row["approved_at"],
        deadline_at=row["deadline_at"],
        closed_at=row["closed_at"],
        published_at=row["published_at"],
        reminded_at=row["reminded_at"],
        version=row["version"],
    )
