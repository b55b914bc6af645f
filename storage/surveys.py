"""Surveys, their questions and their answers."""

from __future__ import annotations

import json

from bot.domain.surveys import Kind, Question, Survey, SurveyState
from bot.services.surveys import Answer
from storage.database import Database

_COLUMNS = "id, title, state, event_id, created_by, created_at, closes_at, audience"


def _respondent(member_id: int) -> str:
    return f"m{member_id}"


class SqliteSurveyStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(self, title: str, event_id: int | None, created_by: int, now: float) -> Survey:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO survey (title, event_id, created_by, created_at) VALUES (?, ?, ?, ?)",
                (title, event_id, created_by, now))
            survey_id = int(cursor.lastrowid or 0)
        return Survey(survey_id, title, SurveyState.DRAFT, event_id, created_by, now)

    async def get(self, survey_id: int) -> Survey | None:
        row = await self.database.fetch_one(f"SELECT {_COLUMNS} FROM survey WHERE id = ?", (survey_id,))
        return await self._survey(row) if row else None

    async def of_event(self, event_id: int) -> Survey | None:
        row = await self.database.fetch_one(f"SELECT {_COLUMNS} FROM survey WHERE event_id = ?", (event_id,))
        return await self._survey(row) if row else None

    async def add_question(self, survey_id: int, kind: Kind, text: str, options: tuple[str, ...] = ()) -> Question:
        async with self.database.transaction() as connection:
            async with connection.execute(
                    "SELECT coalesce(max(position), 0) + 1 FROM survey_question WHERE survey_id = ?",
                    (survey_id,)) as cursor:
                row = await cursor.fetchone()
            position = int(row[0]) if row else 1
            await connection.execute(
                "INSERT INTO survey_question (survey_id, position, kind, text, options) VALUES (?, ?, ?, ?, ?)",
                (survey_id, position, kind.value, text, json.dumps(list(options), ensure_ascii=False)))
        return Question(position, kind, text, options)

    async def open(self, survey_id: int, audience: str, closes_at: float | None) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE survey SET state = 'open', audience = ?, closes_at = ? WHERE id = ? AND state = 'draft'",
                (audience, closes_at, survey_id))

    async def close(self, survey_id: int) -> bool:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE survey SET state = 'closed' WHERE id = ? AND state = 'open'", (survey_id,))
            return cursor.rowcount == 1

    async def discard(self, survey_id: int) -> None:
        """A draft given up: it goes, with its questions."""
        async with self.database.transaction() as connection:
            await connection.execute("DELETE FROM survey WHERE id = ? AND state = 'draft'", (survey_id,))

    async def closing_due(self, now: float) -> list[int]:
        rows = await self.database.fetch_all(
            "SELECT id FROM survey WHERE state = 'open' AND closes_at IS NOT NULL AND closes_at <= ?", (now,))
        return [int(row[0]) for row in rows]

    async def answer(self, survey_id: int, position: int, member_id: int, value: int | None, text: str | None,
                     now: float) -> bool:
        """Keep the member's answer, replacing an earlier one; True when it changed one."""
        async with self.database.transaction() as connection:
            async with connection.execute(
                    "SELECT 1 FROM survey_answer WHERE survey_id = ? AND position = ? AND respondent = ?",
                    (survey_id, position, _respondent(member_id))) as cursor:
                existed = await cursor.fetchone() is not None
            await connection.execute(
                "INSERT INTO survey_answer (survey_id, position, respondent, member_id, value, text, answered_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (survey_id, position, respondent) DO UPDATE SET"
                " value = excluded.value, text = excluded.text, answered_at = excluded.answered_at",
                (survey_id, position, _respondent(member_id), member_id, value, text, now))
        return existed

    async def answers(self, survey_id: int) -> list[Answer]:
        rows = await self.database.fetch_all(
            "SELECT position, respondent, value, text, answered_at FROM survey_answer WHERE survey_id = ?"
            " ORDER BY position, answered_at, respondent", (survey_id,))
        return [Answer(row["position"], row["respondent"], row["value"], row["text"], row["answered_at"])
                for row in rows]

    async def _survey(self, row) -> Survey:  # type: ignore[no-untyped-def]
        questions = await self.database.fetch_all(
            "SELECT position, kind, text, options FROM survey_question WHERE survey_id = ? ORDER BY position",
            (row["id"],))
        return Survey(
            id=row["id"], title=row["title"], state=SurveyState(row["state"]), event_id=row["event_id"],
            created_by=row["created_by"], created_at=row["created_at"], closes_at=row["closes_at"],
            audience=row["audience"],
            questions=tuple(Question(q["position"], Kind(q["kind"]), q["text"], tuple(json.loads(q["options"])))
                            for q in questions),
        )
