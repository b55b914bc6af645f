"""The consolidated reply's draft, while facilitators edit it."""

from __future__ import annotations

from bot.domain.drafts import Draft
from storage.database import Database


class SqliteDraftStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def get(self, discussion_id: int) -> Draft | None:
        row = await self.database.fetch_one(
            "SELECT discussion_id, summary, full_text, discarded, updated_at FROM consolidated_draft"
            " WHERE discussion_id = ?",
            (discussion_id,),
        )
        if row is None:
            return None
        return Draft(row["discussion_id"], row["summary"], row["full_text"], bool(row["discarded"]), row["updated_at"])

    async def save(self, draft: Draft, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT INTO consolidated_draft (discussion_id, summary, full_text, discarded, updated_at)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (discussion_id) DO UPDATE SET summary = excluded.summary,"
                " full_text = excluded.full_text, discarded = excluded.discarded, updated_at = excluded.updated_at",
                (draft.discussion_id, draft.summary, draft.full_text, int(draft.discarded), now),
            )
