"""Everything the database holds about one member: gathered for them (/mydata), or forgotten
(/forget) so that no row still holds their name or platform ids."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any, Mapping

import aiosqlite

from storage.database import Database
from storage.outbox import SqliteOutbox
from storage.programme import forget_member as forget_features, gather_member as features_of

# Tables whose free text may quote a member's name, with their key and text columns.
_TEXTS = (
    ("discussion", "id", ("text", "reason")),
    ("reply", "id", ("text",)),
    ("consolidated_reply", "discussion_id", ("title", "question", "summary", "contributions")),
    ("consolidated_draft", "discussion_id", ("summary", "full_text")),
    ("translation", "rowid", ("text",)),
    ("outbox", "id", ("body",)),
    ("outbox_body", "id", ("body",)),
    ("inbound", "id", ("body", "event")),
    ("conversation", "member_id", ("data",)),
    ("audit", "id", ("detail", "actor_name")),
    ("practice", "id", ("title", "summary", "reason")),
    ("introduction", "id", ("note",)),
    ("event", "id", ("title", "description", "speakers")),
    ("survey_answer", "rowid", ("text",)),
    ("feature", "id", ("name", "text")),
    ("newsletter", "id", ("intro", "content")),
    ("news", "id", ("title", "text", "reason")),
)
_LANGUAGE_OF = {"consolidated_reply": "language", "translation": "language", "discussion": "language",
                "reply": "language"}


class SqlitePersonalData:
    def __init__(self, database: Database, outbox: SqliteOutbox | None = None) -> None:
        self.database = database
        # Rows being sent while a member is forgotten keep a copy of their body in memory.
        self.outbox = outbox
        self._rewrite_due = False

    async def gather(self, member_id: int) -> dict[str, Any] | None:
        """The member's own data, as rows of plain values (None when there is no such member)."""
        member = await self.database.fetch_one("SELECT * FROM member WHERE id = ?", (member_id,))
        if member is None:
            return None
        identities = await self.database.fetch_all(
            "SELECT platform, user_id, chat_id, reachable, unreachable_why, last_seen_at FROM identity"
            " WHERE member_id = ? ORDER BY platform", (member_id,))
        questions = await self.database.fetch_all(
            "SELECT id, text, language, anonymous, state, reason, created_at, approved_at, closed_at, published_at"
            " FROM discussion WHERE asker_id = ? ORDER BY id", (member_id,))
        replies = await self.database.fetch_all(
            "SELECT discussion_id, text, language, anonymous, created_at FROM reply WHERE member_id = ? ORDER BY id",
            (member_id,))
        received = await self.database.fetch_all(
            "SELECT inbound.platform, kind, body, received_at FROM inbound JOIN identity"
            " ON identity.platform = inbound.platform AND identity.user_id = inbound.user_id"
            " WHERE identity.member_id = ? AND body != '' ORDER BY inbound.id", (member_id,))
        about = await self.database.fetch_all(
            "SELECT at, action, detail FROM audit WHERE member_id = ? ORDER BY id", (member_id,))
        practices = await self.database.fetch_all(
            "SELECT id, title, summary, implementing_entities, status, source_organization, source_link, language,"
            " state, reason, created_at, updated_at FROM practice WHERE submitted_by = ? ORDER BY id", (member_id,))
        # Another member's words are theirs: a request received shows who asked, not their note.
        introductions = await self.database.fetch_all(
            "SELECT CASE WHEN asker_id = ? THEN 'asked' ELSE 'was asked' END AS direction,"
            " CASE WHEN asker_id = ? THEN asked_id ELSE asker_id END AS other_member_number,"
            " CASE WHEN asker_id = ? THEN note ELSE '' END AS note, state, created_at, answered_at"
            " FROM introduction WHERE asker_id = ? OR asked_id = ? ORDER BY id", (member_id,) * 5)
        registrations = await self.database.fetch_all(
            "SELECT r.event_id, e.title, e.starts_at, r.state, r.since AS changed_at, r.attended FROM registration r"
            " JOIN event e ON e.id = r.event_id WHERE r.member_id = ? ORDER BY r.event_id", (member_id,))
        answers = await self.database.fetch_all(
            "SELECT a.survey_id, s.title, q.text AS question, a.value, a.text AS answer, a.answered_at"
            " FROM survey_answer a JOIN survey s ON s.id = a.survey_id JOIN survey_question q"
            " ON q.survey_id = a.survey_id AND q.position = a.position WHERE a.member_id = ?"
            " ORDER BY a.survey_id, a.position", (member_id,))
        news = await self.database.fetch_all(
            "SELECT id, kind, title, text, link, state, reason, created_at, decided_at FROM news"
            " WHERE submitted_by = ? ORDER BY id", (member_id,))
        return {
            "member": dict(member),
            "identities": [dict(row) for row in identities],
            "questions": [dict(row) for row in questions],
            "replies": [dict(row) for row in replies],
            "messages": [dict(row) for row in received],
            "facilitators_actions": [dict(row) for row in about],
            "practices": [dict(row) for row in practices],
            "introductions": [dict(row) for row in introductions],
            "event_registrations": [dict(row) for row in registrations],
            "survey_answers": [dict(row) for row in answers],
            "community_features": await features_of(self.database, member_id),
            "news": [dict(row) for row in news],
        }

    async def forget(self, member_id: int, instead: Mapping[str, str], default: str) -> bool:
        """Delete the member's profile and identities and take their name out of every text,
        writing `instead[language]` (or `default`) where it was. Their questions and replies
        keep their words and become anonymous. False when there is no such member."""
        async with self.database.transaction() as connection:
            member = await _one(connection, "SELECT * FROM member WHERE id = ?", (member_id,))
            if member is None:
                return False
            identities = await _all(connection, "SELECT platform, user_id FROM identity WHERE member_id = ?",
                                    (member_id,))
            names = _names_of(member)
            if self.database.dialect == "postgresql":
                await _lock_outbox_rows(connection, identities, names)
            for row in identities:
                await connection.execute(
                    "UPDATE inbound SET user_id = '', chat_id = '', body = '', event = NULL,"
                    " handled_at = coalesce(handled_at, received_at), outcome = 'forgotten'"
                    " WHERE platform = ? AND user_id = ?", (row["platform"], row["user_id"]))
                await connection.execute("DELETE FROM outbox WHERE platform = ? AND user_id = ?",
                                         (row["platform"], row["user_id"]))
                await connection.execute("DELETE FROM added_facilitator WHERE platform = ? AND user_id = ?",
                                         (row["platform"], row["user_id"]))
            await connection.execute("DELETE FROM identity WHERE member_id = ?", (member_id,))
            await connection.execute("DELETE FROM conversation WHERE member_id = ?", (member_id,))
            await connection.execute("DELETE FROM sign_in_link WHERE member_id = ?", (member_id,))
            await connection.execute("DELETE FROM introduction WHERE asker_id = ? OR asked_id = ?",
                                     (member_id, member_id))
            # Registrations go; survey answers stay in the figures, no longer anyone's.
            await connection.execute("DELETE FROM registration WHERE member_id = ?", (member_id,))
            await forget_features(connection, member_id)
            # Each answer a respondent of its own, drawn here: the databases share no random function.
            for answer in await _all(connection, "SELECT rowid FROM survey_answer WHERE member_id = ?", (member_id,)):
                await connection.execute("UPDATE survey_answer SET member_id = NULL, respondent = ? WHERE rowid = ?",
                                         ("x" + secrets.token_hex(8), answer[0]))
            await connection.execute(
                "UPDATE member SET name = '', organization = '', country = '', topics = '', featured_consent = 0,"
                " role = 'member', status = 'left', muted_reason = NULL, removed_reason = NULL, handles = '',"
                " offers = '', seeks = '', in_directory = 0 WHERE id = ?", (member_id,))
            await connection.execute("UPDATE discussion SET anonymous = 1 WHERE asker_id = ?", (member_id,))
            await connection.execute("UPDATE reply SET anonymous = 1 WHERE member_id = ?", (member_id,))
            await connection.execute("UPDATE practice SET submitted_by = NULL WHERE submitted_by = ?", (member_id,))
            await connection.execute("UPDATE practice SET state_by = NULL WHERE state_by = ?", (member_id,))
            await connection.execute("UPDATE news SET submitted_by = NULL WHERE submitted_by = ?", (member_id,))
            await connection.execute("UPDATE news SET state_by = NULL WHERE state_by = ?", (member_id,))
            await connection.execute("UPDATE audit SET detail = '' WHERE member_id = ?", (member_id,))
            await connection.execute("UPDATE audit SET actor_name = '' WHERE actor_id = ?", (member_id,))
            # What they searched for still counts in the reports, as nobody's.
            await connection.execute("UPDATE search_log SET member_id = NULL WHERE member_id = ?", (member_id,))
            if names:
                for table, key, columns in _TEXTS:
                    await _scrub(connection, table, key, columns, names, instead, default)
                if self.outbox is not None:
                    self.outbox.rewrite_claimed(lambda body: _without(body, names, default))
            if self.database.dialect == "sqlite":
                # Deleted rows leave their words in FTS5's segments until merged. (PostgreSQL's
                # indexes are of the rows themselves: VACUUM, below, takes the dead ones.)
                await connection.execute("INSERT INTO translation_fts (translation_fts) VALUES ('optimize')")
                await connection.execute("INSERT INTO practice_fts (practice_fts) VALUES ('optimize')")
                await connection.execute("INSERT INTO archive_search (archive_search) VALUES ('optimize')")
        self._rewrite_due = True
        return True

    async def settle(self) -> None:
        """After a member was forgotten, the file is rewritten from its live rows: SQLite zeroes
        what it deletes, but a moved row can leave its old bytes in a page's unused space.
        Then the write-ahead log's old page images go too. Outside any transaction."""
        if self._rewrite_due:
            self._rewrite_due = False
            await self.database.fetch_one("VACUUM")
        if self.database.dialect == "sqlite":  # PostgreSQL recycles its write-ahead log itself
            await self.database.fetch_one("PRAGMA wal_checkpoint(TRUNCATE)")

    async def drop_orphan_messages(self) -> int:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "DELETE FROM outbox WHERE user_id != '' AND state != 'queued'"
                " AND NOT EXISTS (SELECT 1 FROM identity WHERE identity.platform = outbox.platform"
                "                 AND identity.user_id = outbox.user_id)"
                " AND NOT EXISTS (SELECT 1 FROM card WHERE card.outbox_id = outbox.id)"
                " AND NOT EXISTS (SELECT 1 FROM outbox AS later WHERE later.edit_of = outbox.id)")
            # A broadcast's shared message goes with the last row that refers to it.
            await connection.execute("DELETE FROM broadcast_plan_body WHERE plan_id IN"
                                     " (SELECT id FROM broadcast_plan WHERE done_at IS NOT NULL)")
            await connection.execute(
                "DELETE FROM outbox_body WHERE NOT EXISTS (SELECT 1 FROM outbox WHERE outbox.body_id = outbox_body.id)"
                " AND NOT EXISTS (SELECT 1 FROM broadcast_plan_body p WHERE p.body_id = outbox_body.id)")
            return cursor.rowcount

    async def drop_old_texts(self, before: float) -> int:
        """The inbound log keeps what people sent word for word until `before`; after that,
        only that it came and how it was handled."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE inbound SET body = '', event = NULL"
                " WHERE received_at < ? AND handled_at IS NOT NULL AND (body != '' OR event IS NOT NULL)", (before,))
            return cursor.rowcount


def _names_of(member: aiosqlite.Row) -> list[str]:
    """How the member's name may be written in a text, longest first: "Name (Org, Country)"
    (an attribution), "Name, Org, Country" (a key point's credit), then the name alone (as
    entered: another member with the same first name keeps theirs)."""
    name = member["name"].strip()
    if len(name) < 2:
        return []
    where = ", ".join(part for part in (member["organization"], member["country"]) if part)
    return [f"{name} ({where})", f"{name}, {where}", name] if where else [name]


async def _lock_outbox_rows(connection: aiosqlite.Connection, identities: list[aiosqlite.Row],
                            names: list[str]) -> None:
    """On PostgreSQL, every outbox row this transaction deletes or rewrites, locked before it
    changes anything. Senders run beside it and lock a row before its tally; were a row taken
    after a tally (a deletion counts itself down), the two could wait on each other. And a
    sender that has read a shared body just before the change has kept it by the time the
    lock is granted: the kept bodies are rewritten after."""
    conditions, arguments = [], []
    for row in identities:
        conditions.append("(platform = ? AND user_id = ?)")
        arguments += [row["platform"], row["user_id"]]
    if names:
        in_body, body_arguments = _mentioning(("body",), names)
        conditions += [in_body, f"body_id IN (SELECT id FROM outbox_body WHERE {in_body})"]
        arguments += [*body_arguments, *body_arguments]
    if conditions:
        await connection.execute(f"SELECT id FROM outbox WHERE {' OR '.join(conditions)} ORDER BY id FOR UPDATE",
                                 tuple(arguments))


def _mentioning(columns: tuple[str, ...], names: list[str]) -> tuple[str, tuple[str, ...]]:
    """A condition true of rows whose columns hold one of the names, and its arguments."""
    found = " OR ".join(f"instr(lower({column}), lower(?)) > 0" for column in columns for _ in _spellings(names))
    return f"({found})", tuple(spelling for _ in columns for spelling in _spellings(names))


async def _scrub(connection: aiosqlite.Connection, table: str, key: str, columns: tuple[str, ...],
                 names: list[str], instead: Mapping[str, str], default: str) -> None:
    """The names taken out of the table's texts."""
    language = _LANGUAGE_OF.get(table)
    found, arguments = _mentioning(columns, names)
    selected = ", ".join((key, *columns, *((language,) if language else ())))
    rows = await _all(connection, f"SELECT {selected} FROM {table} WHERE {found}", arguments)
    for row in rows:
        word = instead.get(row[language], default) if language else default
        changed = {column: _without(row[column], names, word) for column in columns if row[column] is not None}
        assignments = ", ".join(f"{column} = ?" for column in changed)
        await connection.execute(f"UPDATE {table} SET {assignments} WHERE {key} = ?", (*changed.values(), row[key]))


def _spellings(names: list[str]) -> list[str]:
    """A name as text, and as it appears inside JSON (escaped, ASCII-only or not)."""
    spellings: list[str] = []
    for name in names:
        for spelling in (name, json.dumps(name, ensure_ascii=False)[1:-1], json.dumps(name)[1:-1]):
            if spelling not in spellings:
                spellings.append(spelling)
    return spellings


def _without(text: str, names: list[str], word: str) -> str:
    for name in names:
        for spelling, replacement in ((name, word), (json.dumps(name, ensure_ascii=False)[1:-1], _json(word)),
                                      (json.dumps(name)[1:-1], json.dumps(word)[1:-1])):
            text = re.sub(rf"(?<!\w){re.escape(spelling)}(?!\w)", lambda _: replacement, text, flags=re.IGNORECASE)
    return text


def _json(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)[1:-1]


async def _one(connection: aiosqlite.Connection, sql: str, parameters: tuple) -> aiosqlite.Row | None:
    async with connection.execute(sql, parameters) as cursor:
        return await cursor.fetchone()


async def _all(connection: aiosqlite.Connection, sql: str, parameters: tuple) -> list[aiosqlite.Row]:
    async with connection.execute(sql, parameters) as cursor:
        return list(await cursor.fetchall())
