"""What members searched for and how many results they got: a monthly report lists the
searches that found nothing, which is what the archive does not answer yet."""

from __future__ import annotations

from storage.database import Database


class SqliteSearchLog:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def record(self, words: str, results: int, member_id: int | None, at: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute("INSERT INTO search_log (at, words, results, member_id) VALUES (?, ?, ?, ?)",
                                     (at, words, results, member_id))
