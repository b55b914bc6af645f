"""The platforms' sending slots shared by every worker (table send_slot): a worker takes a
few consecutive slots at a time, so that together they send no faster than the platform's
rate, however many they are."""

from __future__ import annotations


class SqlSendSlots:
    def __init__(self, database) -> None:  # type: ignore[no-untyped-def]
        self.database = database

    async def take(self, platform: str, count: int, interval: float, now: float) -> float:
        """The first of `count` slots `interval` apart, none before `now` nor before a slot
        another worker took; the next worker's come after them."""
        span = count * interval
        async with self.database.transaction(shared=True) as connection:
            (row,) = await connection.execute_fetchall(
                "INSERT INTO send_slot (platform, next_at) VALUES (?, ?) ON CONFLICT (platform) DO UPDATE"
                " SET next_at = (CASE WHEN send_slot.next_at > ? THEN send_slot.next_at ELSE ? END) + ?"
                " RETURNING next_at", (platform, now + span, now, now, span))
        return float(row[0]) - span
