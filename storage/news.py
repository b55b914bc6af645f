"""News, briefs and alerts, and the facilitators' cards about news waiting for them."""

from __future__ import annotations

from bot.domain.news import Audience, Kind, News, State
from bot.ports import Address
from bot.services.outbox import CardCopy
from storage.database import Database

_COLUMNS = ("id, kind, title, text, link, submitted_by, state, state_by, reason, audience, audience_values,"
            " created_at, decided_at")


class SqliteNewsStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(self, news: News) -> News:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO news (kind, title, text, link, submitted_by, state, state_by, reason, audience,"
                " audience_values, created_at, decided_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (news.kind.value, news.title, news.text, news.link, news.submitted_by, news.state.value,
                 news.state_by, news.reason, news.audience.value, ";".join(news.values), news.created_at,
                 news.decided_at))
            news_id = int(cursor.lastrowid or 0)
        created = await self.get(news_id)
        assert created is not None
        return created

    async def get(self, news_id: int) -> News | None:
        row = await self.database.fetch_one(f"SELECT {_COLUMNS} FROM news WHERE id = ?", (news_id,))
        return _news(row) if row else None

    async def decide(self, news: News) -> bool:
        """Store an approval or rejection, unless someone decided first (False then)."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE news SET state = ?, state_by = ?, reason = ?, decided_at = ? WHERE id = ? AND state = ?",
                (news.state.value, news.state_by, news.reason, news.decided_at, news.id, State.SUBMITTED.value))
            return cursor.rowcount == 1

    async def edit(self, news_id: int, text: str) -> bool:
        """A facilitator's corrected text, while the news waits (False when it no longer does)."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE news SET text = ? WHERE id = ? AND state = ?", (text, news_id, State.SUBMITTED.value))
            return cursor.rowcount == 1

    async def submitted_by(self, member_id: int) -> list[News]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM news WHERE submitted_by = ? ORDER BY id", (member_id,))
        return [_news(row) for row in rows]

    async def sent_between(self, since: float, until: float) -> list[News]:
        """News and briefs sent after `since` and up to `until` (alerts never wait for a digest)."""
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM news WHERE state = ? AND kind != ? AND decided_at > ? AND decided_at <= ?"
            " ORDER BY decided_at, id", (State.APPROVED.value, Kind.ALERT.value, since, until))
        return [_news(row) for row in rows]

    async def add_card(self, news_id: int, outbox_id: int, language: str) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT OR IGNORE INTO news_card (news_id, outbox_id, language) VALUES (?, ?, ?)",
                (news_id, outbox_id, language))

    async def cards(self, news_id: int) -> list[CardCopy]:
        rows = await self.database.fetch_all(
            "SELECT c.outbox_id, c.language, o.platform, o.user_id, o.chat_id, o.member_id FROM news_card c"
            " JOIN outbox o ON o.id = c.outbox_id WHERE c.news_id = ? ORDER BY c.outbox_id", (news_id,))
        return [CardCopy(row["outbox_id"], row["language"], Address(row["platform"], row["user_id"], row["chat_id"]),
                         row["member_id"]) for row in rows]


def _news(row) -> News:  # type: ignore[no-untyped-def]
    return News(
        id=row["id"], kind=Kind(row["kind"]), title=row["title"], text=row["text"], link=row["link"],
        submitted_by=row["submitted_by"], state=State(row["state"]), state_by=row["state_by"], reason=row["reason"],
        audience=Audience(row["audience"]),
        values=tuple(value for value in row["audience_values"].split(";") if value),
        created_at=row["created_at"], decided_at=row["decided_at"],
    )
