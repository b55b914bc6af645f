"""Events and registrations."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from bot.domain.events import DAY, Event, Registration, Reminder
from storage.database import Database

_COLUMNS = (
    "id, title, description, speakers, starts_at, time_zone, duration, link, place, capacity, language,"
    " created_by, created_at, recording, day_reminder_at, hour_reminder_at, followed_up_at"
)
_REMINDED = {Reminder.DAY: "day_reminder_at", Reminder.HOUR: "hour_reminder_at"}


class SqliteEventStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def create(self, event: Event) -> Event:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO event (title, description, speakers, starts_at, time_zone, duration, link, place,"
                " capacity, language, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (event.title, event.description, event.speakers, event.starts_at, event.time_zone, event.duration,
                 event.link, event.place, event.capacity, event.language, event.created_by, event.created_at))
            return replace(event, id=int(cursor.lastrowid or 0))

    async def get(self, event_id: int) -> Event | None:
        row = await self.database.fetch_one(f"SELECT {_COLUMNS} FROM event WHERE id = ?", (event_id,))
        return _event(row) if row else None

    async def coming(self, now: float) -> list[Event]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM event WHERE starts_at + duration > ? ORDER BY starts_at, id", (now,))
        return [_event(row) for row in rows]

    async def due(self, now: float) -> list[Event]:
        """Events whose reminders or follow-up may be due: within a day of their start and not
        yet followed up (the domain decides what exactly)."""
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM event WHERE followed_up_at IS NULL AND starts_at - ? <= ? ORDER BY starts_at",
            (DAY, now))
        return [_event(row) for row in rows]

    async def mark_reminded(self, event_id: int, reminder: Reminder, now: float) -> bool:
        """True for the one caller that marks it first."""
        column = _REMINDED[reminder]
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                f"UPDATE event SET {column} = ? WHERE id = ? AND {column} IS NULL", (now, event_id))
            return cursor.rowcount == 1

    async def mark_followed_up(self, event_id: int, now: float) -> bool:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(
                "UPDATE event SET followed_up_at = ? WHERE id = ? AND followed_up_at IS NULL", (now, event_id))
            return cursor.rowcount == 1

    async def set_recording(self, event_id: int, link: str) -> None:
        async with self.database.transaction() as connection:
            await connection.execute("UPDATE event SET recording = ? WHERE id = ?", (link, event_id))

    # --- registrations ----------------------------------------------------------------------

    async def registration(self, event_id: int, member_id: int) -> Registration | None:
        row = await self.database.fetch_one(
            "SELECT state FROM registration WHERE event_id = ? AND member_id = ?", (event_id, member_id))
        return Registration(row["state"]) if row else None

    async def registrations_of(self, member_id: int, event_ids: Sequence[int]) -> dict[int, Registration]:
        if not event_ids:
            return {}
        rows = await self.database.fetch_all(
            f"SELECT event_id, state FROM registration WHERE member_id = ?"
            f" AND event_id IN ({','.join('?' * len(event_ids))})", (member_id, *event_ids))
        return {row["event_id"]: Registration(row["state"]) for row in rows}

    async def set_registration(self, event_id: int, member_id: int, state: Registration, now: float) -> None:
        """Register, put on the waiting list or cancel; `since` is the moment of the latest
        change, so a member who comes back waits behind those already waiting."""
        async with self.database.transaction() as connection:
            await connection.execute(
                "INSERT INTO registration (event_id, member_id, state, since) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (event_id, member_id) DO UPDATE SET state = excluded.state, since = excluded.since",
                (event_id, member_id, state.value, now))

    async def counts(self, event_id: int) -> tuple[int, int]:
        """(registered, waiting)."""
        row = await self.database.fetch_one(
            "SELECT count(*) FILTER (WHERE state = 'registered'), count(*) FILTER (WHERE state = 'waiting')"
            " FROM registration WHERE event_id = ?", (event_id,))
        return (int(row[0]), int(row[1])) if row else (0, 0)

    async def place_in_line(self, event_id: int, member_id: int) -> int:
        row = await self.database.fetch_one(
            "SELECT count(*) FROM registration w, registration me WHERE me.event_id = ? AND me.member_id = ?"
            " AND w.event_id = me.event_id AND w.state = 'waiting'"
            " AND (w.since < me.since OR (w.since = me.since AND w.member_id <= me.member_id))",
            (event_id, member_id))
        return int(row[0]) if row else 0

    async def first_waiting(self, event_id: int) -> int | None:
        row = await self.database.fetch_one(
            "SELECT member_id FROM registration WHERE event_id = ? AND state = 'waiting'"
            " ORDER BY since, member_id LIMIT 1", (event_id,))
        return int(row[0]) if row else None

    async def registrants(self, event_id: int) -> list[tuple[int, str]]:
        """(member id, time zone) of those registered who have not left the network."""
        rows = await self.database.fetch_all(
            "SELECT m.id, m.timezone FROM registration r JOIN member m ON m.id = r.member_id"
            " WHERE r.event_id = ? AND r.state = 'registered' AND m.status != 'left' ORDER BY m.id", (event_id,))
        return [(int(row[0]), row[1]) for row in rows]

    async def time_zones(self, member_ids: Sequence[int]) -> dict[int, str]:
        zones: dict[int, str] = {}
        ids = list(member_ids)
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for row in await self.database.fetch_all(
                    f"SELECT id, timezone FROM member WHERE id IN ({','.join('?' * len(chunk))})", tuple(chunk)):
                zones[int(row[0])] = row[1]
        return zones

    async def set_attended(self, event_id: int, member_id: int, attended: bool) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE registration SET attended = ? WHERE event_id = ? AND member_id = ?",
                (int(attended), event_id, member_id))

    async def attendance(self, event_id: int) -> tuple[int, int]:
        """(said yes, said no)."""
        row = await self.database.fetch_one(
            "SELECT count(*) FILTER (WHERE attended = 1), count(*) FILTER (WHERE attended = 0)"
            " FROM registration WHERE event_id = ?", (event_id,))
        return (int(row[0]), int(row[1])) if row else (0, 0)


def _event(row) -> Event:  # type: ignore[no-untyped-def]
    return Event(
        id=row["id"], title=row["title"], description=row["description"], speakers=row["speakers"],
        starts_at=row["starts_at"], time_zone=row["time_zone"], duration=row["duration"], link=row["link"],
        place=row["place"], capacity=row["capacity"], language=row["language"], created_by=row["created_by"],
        created_at=row["created_at"], recording=row["recording"], day_reminder_at=row["day_reminder_at"],
        hour_reminder_at=row["hour_reminder_at"], followed_up_at=row["followed_up_at"],
    )
