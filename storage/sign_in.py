"""One-time sign-in links for the dashboard."""

from __future__ import annotations

from storage.database import Database


class SqliteSignInLinks:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def add(self, token_hash: str, member_id: int, expires_at: float, now: float) -> None:
        async with self.database.transaction() as connection:
            # Links nobody can use any more go as new ones come.
            await connection.execute("DELETE FROM sign_in_link WHERE expires_at < ? OR used_at IS NOT NULL", (now,))
            await connection.execute(
                "INSERT INTO sign_in_link (token_hash, member_id, expires_at) VALUES (?, ?, ?)",
                (token_hash, member_id, expires_at))

    async def redeem(self, token_hash: str, now: float) -> int | None:
        """The member the link is for, marking it used; None when unknown, used or expired."""
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE sign_in_link SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at >= ?"
                " RETURNING member_id", (now, token_hash, now))
            row = await cursor.fetchone()
            return int(row[0]) if row else None
