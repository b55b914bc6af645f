"""The community programme's rows: newsletters, members' features and the schedule of
proposals; and, read-only, what the month published elsewhere (the archive, good practices,
events, news) for the newsletter."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Sequence

import aiosqlite

from bot.domain.programme import (
    Candidate, Feature, FeatureState, Item, Newsletter, NewsletterContent, NewsletterState,
)
from storage.database import Database

COMING_EVENTS = 5  # coming events a newsletter lists
_FEATURE_COLUMNS = ("id, member_id, state, role, work, help, text, name, proposed_at, asked_at, published_at")
_NEWSLETTER_COLUMNS = "id, month, intro, content, state, created_by, created_at, sent_at, audience"
FEATURE_JOB = "feature"


class SqliteProgramme:
    def __init__(self, database: Database) -> None:
        self.database = database

    # --- what the month published -------------------------------------------------------------

    async def month_content(self, start: float, end: float, now: float) -> NewsletterContent:
        replies = await self.database.fetch_all(
            "SELECT discussion_id AS number, title, summary AS text, published_at AS at FROM consolidated_reply"
            " WHERE published_at >= ? AND published_at < ? ORDER BY published_at, discussion_id", (start, end))
        practices = await self.database.fetch_all(
            "SELECT id AS number, title, summary AS text, updated_at AS at FROM practice"
            " WHERE state = 'approved' AND updated_at >= ? AND updated_at < ? ORDER BY updated_at, id", (start, end))
        past = await self.database.fetch_all(
            "SELECT id AS number, title, description AS text, starts_at AS at FROM event"
            " WHERE starts_at >= ? AND starts_at < ? AND starts_at < ? ORDER BY starts_at, id", (start, end, now))
        coming = await self.database.fetch_all(
            "SELECT id AS number, title, description AS text, starts_at AS at FROM event"
            " WHERE starts_at >= ? ORDER BY starts_at, id LIMIT ?", (now, COMING_EVENTS))
        features = await self.database.fetch_all(
            "SELECT id AS number, name AS title, text, published_at AS at FROM feature"
            " WHERE state = 'published' AND published_at >= ? AND published_at < ? ORDER BY published_at, id",
            (start, end))
        has_news = await self._has_news_table()
        news = await self._news(start, end) if has_news else []
        return NewsletterContent(
            replies=_items(replies), practices=_items(practices), past_events=_items(past),
            coming_events=_items(coming), news=_items(news), features=_items(features), has_news=has_news)

    async def _has_news_table(self) -> bool:
        if self.database.dialect != "sqlite":
            return True  # PostgreSQL's schema begins with every table of SQLite's migrations
        row = await self.database.fetch_one("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'news'")
        return row is not None

    async def _news(self, start: float, end: float) -> list[aiosqlite.Row]:
        """News and briefs approved in the month for everyone (alerts and briefs for some
        members only stay out), from the news feature's own table, read only."""
        return await self.database.fetch_all(
            "SELECT id AS number, title, text, decided_at AS at FROM news"
            " WHERE state = 'approved' AND kind != 'alert' AND audience = 'everyone'"
            " AND decided_at >= ? AND decided_at < ? ORDER BY decided_at, id", (start, end))

    # --- newsletters ----------------------------------------------------------------------------

    async def create_newsletter(self, month: str, content: NewsletterContent, by: int, now: float) -> Newsletter:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO newsletter (month, content, state, created_by, created_at) VALUES (?, ?, 'draft', ?, ?)",
                (month, json.dumps(asdict(content), ensure_ascii=False), by, now))
            return Newsletter(int(cursor.lastrowid or 0), month, content, created_by=by, created_at=now)

    async def newsletter(self, newsletter_id: int) -> Newsletter | None:
        row = await self.database.fetch_one(
            f"SELECT {_NEWSLETTER_COLUMNS} FROM newsletter WHERE id = ?", (newsletter_id,))
        return _newsletter(row) if row else None

    async def sent_newsletter(self, month: str) -> Newsletter | None:
        row = await self.database.fetch_one(
            f"SELECT {_NEWSLETTER_COLUMNS} FROM newsletter WHERE month = ? AND state = 'sent'", (month,))
        return _newsletter(row) if row else None

    async def sent_newsletters(self) -> list[Newsletter]:
        rows = await self.database.fetch_all(
            f"SELECT {_NEWSLETTER_COLUMNS} FROM newsletter WHERE state = 'sent' ORDER BY month")
        return [_newsletter(row) for row in rows]

    async def set_intro(self, newsletter_id: int, intro: str) -> bool:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE newsletter SET intro = ? WHERE id = ? AND state = 'draft'", (intro, newsletter_id))
            return cursor.rowcount == 1

    async def mark_sent(self, newsletter_id: int, by: int, now: float) -> bool:
        """True for the one caller that sends it (and only while no other of its month was sent)."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE newsletter SET state = 'sent', sent_by = ?, sent_at = ? WHERE id = ? AND state = 'draft'"
                " AND NOT EXISTS (SELECT 1 FROM newsletter AS other WHERE other.month = newsletter.month"
                "                 AND other.state = 'sent')", (by, now, newsletter_id))
            return cursor.rowcount == 1

    async def set_audience(self, newsletter_id: int, audience: int) -> None:
        async with self.database.transaction() as connection:
            await connection.execute("UPDATE newsletter SET audience = ? WHERE id = ?", (audience, newsletter_id))

    async def cancel_newsletter(self, newsletter_id: int) -> bool:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE newsletter SET state = 'cancelled' WHERE id = ? AND state = 'draft'", (newsletter_id,))
            return cursor.rowcount == 1

    # --- features -------------------------------------------------------------------------------

    async def claim_schedule(self, every: float, now: float) -> bool:
        """Take the next proposal's turn: true for the one caller that finds it due (none has
        been made, or the last was `every` seconds ago), and the time is written at once."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE programme_schedule SET last_at = ? WHERE job = ? AND last_at + ? <= ?",
                (now, FEATURE_JOB, every, now))
            if cursor.rowcount == 1:
                return True
            cursor = await connection.execute(
                "INSERT OR IGNORE INTO programme_schedule (job, last_at) VALUES (?, ?)", (FEATURE_JOB, now))
            return cursor.rowcount == 1

    async def last_proposal(self) -> float | None:
        row = await self.database.fetch_one("SELECT last_at FROM programme_schedule WHERE job = ?", (FEATURE_JOB,))
        return float(row["last_at"]) if row else None

    async def candidates(self, exclude: Sequence[int] = (), limit: int = 1) -> list[Candidate]:
        """Consenting active members with no feature under way, the least recently featured
        first (never featured before all), then the least recently proposed, then by number."""
        left_out = tuple(exclude)
        # In a subquery: PostgreSQL orders by an output column's name alone, not in an expression.
        rows = await self.database.fetch_all(
            "SELECT * FROM (SELECT m.id, m.name, m.organization, m.country,"
            " (SELECT max(published_at) FROM feature f WHERE f.member_id = m.id AND f.state = 'published') AS featured,"
            " (SELECT max(proposed_at) FROM feature f WHERE f.member_id = m.id) AS proposed"
            " FROM member m WHERE m.featured_consent = 1 AND m.status = 'active' AND m.name != ''"
            " AND EXISTS (SELECT 1 FROM identity i WHERE i.member_id = m.id AND i.reachable = 1)"
            " AND NOT EXISTS (SELECT 1 FROM feature f WHERE f.member_id = m.id"
            "                 AND f.state IN ('proposed', 'asked', 'review', 'approving'))"
            + (f" AND m.id NOT IN ({','.join('?' * len(left_out))})" if left_out else "") +
            ") AS candidate ORDER BY featured IS NOT NULL, featured, proposed IS NOT NULL, proposed, id LIMIT ?",
            (*left_out, limit))
        return [Candidate(row["id"], row["name"], row["organization"], row["country"], row["featured"])
                for row in rows]

    async def propose(self, member_id: int, now: float) -> Feature:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO feature (member_id, state, proposed_at) VALUES (?, 'proposed', ?)", (member_id, now))
            return Feature(int(cursor.lastrowid or 0), member_id, FeatureState.PROPOSED, now)

    async def feature(self, feature_id: int) -> Feature | None:
        row = await self.database.fetch_one(f"SELECT {_FEATURE_COLUMNS} FROM feature WHERE id = ?", (feature_id,))
        return _feature(row) if row else None

    async def open_feature_of(self, member_id: int) -> Feature | None:
        row = await self.database.fetch_one(
            f"SELECT {_FEATURE_COLUMNS} FROM feature WHERE member_id = ?"
            " AND state IN ('proposed', 'asked', 'review', 'approving') ORDER BY id DESC LIMIT 1", (member_id,))
        return _feature(row) if row else None

    async def move(self, feature_id: int, from_states: Sequence[str], to: FeatureState, now: float,
                   **values: Any) -> bool:
        """Change a feature's state (and the given columns) if it is still in one of
        `from_states`: true for the one caller that does."""
        allowed = {"role", "work", "help", "text", "name", "asked_at", "published_at", "published_by"}
        assert set(values) <= allowed, f"unknown feature columns {set(values) - allowed}"
        assignments = "".join(f", {column} = ?" for column in values)
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                f"UPDATE feature SET state = ?{assignments} WHERE id = ?"
                f" AND state IN ({','.join('?' * len(from_states))})",
                (to.value, *values.values(), feature_id, *from_states))
            return cursor.rowcount == 1

    async def published_features(self, limit: int = 20) -> list[Feature]:
        rows = await self.database.fetch_all(
            f"SELECT {_FEATURE_COLUMNS} FROM feature WHERE state = 'published'"
            " ORDER BY published_at DESC, id DESC LIMIT ?", (limit,))
        return [_feature(row) for row in rows]


async def forget_member(connection: aiosqlite.Connection, member_id: int) -> None:
    """For /forget, inside its transaction: a feature not yet published goes; a published one
    keeps its text (the name in it is scrubbed with every other text) but loses its answers."""
    await connection.execute(
        "DELETE FROM feature WHERE member_id = ? AND state != 'published'", (member_id,))
    await connection.execute(
        "UPDATE feature SET member_id = NULL, role = NULL, work = NULL, help = NULL WHERE member_id = ?",
        (member_id,))


async def gather_member(database: Database, member_id: int) -> list[dict[str, Any]]:
    """For /mydata: the member's features, their answers and texts."""
    rows = await database.fetch_all(
        "SELECT id, state, role, work, help, text, name, proposed_at, asked_at, published_at FROM feature"
        " WHERE member_id = ? ORDER BY id", (member_id,))
    return [dict(row) for row in rows]


def _items(rows: Sequence[aiosqlite.Row]) -> tuple[Item, ...]:
    return tuple(Item(int(row["number"]), row["title"] or "", row["text"] or "", float(row["at"] or 0.0))
                 for row in rows)


def _content(text: str) -> NewsletterContent:
    raw = json.loads(text or "{}")
    sections = {name: tuple(Item(**item) for item in raw.get(name, ()))
                for name in ("replies", "practices", "past_events", "coming_events", "news", "features")}
    return NewsletterContent(**sections, has_news=bool(raw.get("has_news", False)))


def _newsletter(row: aiosqlite.Row) -> Newsletter:
    return Newsletter(id=row["id"], month=row["month"], content=_content(row["content"]),
                      state=NewsletterState(row["state"]), intro=row["intro"], created_by=row["created_by"],
                      created_at=row["created_at"], sent_at=row["sent_at"], audience=row["audience"])


def _feature(row: aiosqlite.Row) -> Feature:
    return Feature(id=row["id"], member_id=row["member_id"], state=FeatureState(row["state"]),
                   proposed_at=row["proposed_at"], role=row["role"], work=row["work"], help=row["help"],
                   text=row["text"], name=row["name"], asked_at=row["asked_at"], published_at=row["published_at"])
