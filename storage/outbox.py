"""The outbox: one row per message per recipient, written before anything is sent.

A row waiting for its person to write again (outside a platform's service window) stays
queued with `not_before` at WAITING_FOR_PERSON, so nothing claims it until `wake_person`."""

from __future__ import annotations

import os
import secrets
import socket
import time
from typing import Callable, Sequence

import aiosqlite

from bot.ports import (
    Address, DeliveryReport, DeliveryStatus, Envelope, Message, Outgoing, Priority, Purpose, TranscriptEntry,
)
from bot.services.outbox import (
    BroadcastPlan, MessageCopy, QueuedMessage, SentMessage, body_keeps_text, decode_body, decode_message, encode_body,
)
from storage.database import Database

WAITING_FOR_PERSON = 1e18
# How long a claim lasts unless its worker renews it (the delivery engine does every few
# seconds while it holds the row): the rows of a worker that died go to another soon.
CLAIM_FOR = 10.0
_CHUNK = 500  # rows per statement of a bulk edit, within SQLite's limit of bound values
_ORIGINAL = "id, platform, user_id, chat_id, member_id, priority, purpose, discussion_id, state, edit_of"
# A row's message: its own body, or the one it shares with the rest of a broadcast.
_BODY = "COALESCE((SELECT b.body FROM outbox_body b WHERE b.id = {row}.body_id), {row}.body)"
_SHARED_FROM = 50  # a message going to at least this many rows of one enqueue is stored once
_INSERT_EDIT = ("INSERT INTO outbox (platform, user_id, chat_id, member_id, priority, purpose, discussion_id,"
                " body, edit_of, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


class SqliteOutbox:
    def __init__(self, database: Database, worker: str = "") -> None:
        self.database = database
        # Who claims rows here: one name per running process (several share a PostgreSQL server).
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        # The body of each row handed to the delivery engine, as it was then: a row changed in
        # place while it was being sent gets its new version as an edit once it is sent.
        self._claimed: dict[int, str] = {}

    @property
    def _locking(self) -> str:
        """Reading a row to change it: on PostgreSQL a sender may be recording it as sent at
        this moment (beside this transaction, not after it): wait for that, then read. Rows
        are locked in the order of their ids, as everywhere: two transactions that each
        lock several never wait on each other in a circle."""
        return " FOR UPDATE" if self.database.dialect == "postgresql" else ""

    def rewrite_claimed(self, change: Callable[[str], str]) -> None:
        """Change the bodies kept of rows being sent right now, as their rows were changed (a
        forgotten member's name taken out): what is kept of them must not bring it back."""
        for row_id, body in list(self._claimed.items()):
            self._claimed[row_id] = change(body)


    # --- what the core does ---------------------------------------------------------------

    async def enqueue(self, envelopes: Sequence[Envelope]) -> list[int]:
        if not envelopes:
            return []
        now = _now()
        async with self.database.transaction() as connection:
            uses: dict[tuple[int, int], int] = {}
            for envelope in envelopes:
                key = (id(envelope.message), id(envelope.template))
                uses[key] = uses.get(key, 0) + 1
            bodies: dict[tuple[int, int], tuple[str, int | None]] = {}
            rows = []
            for envelope in envelopes:
                key = (id(envelope.message), id(envelope.template))
                if key not in bodies:
                    body = encode_body(envelope.message, envelope.template)
                    bodies[key] = ("", await _store_body(connection, body)) if uses[key] >= _SHARED_FROM else (body, None)
                body, body_id = bodies[key]
                rows.append((
                    envelope.to.platform, envelope.to.user_id, envelope.to.chat_id, envelope.member_id,
                    int(envelope.priority), envelope.purpose.value, envelope.discussion_id, body, body_id, now,
                ))
            ids: list[int] = []
            for start in range(0, len(rows), _CHUNK):
                chunk = rows[start:start + _CHUNK]
                added = await connection.execute_fetchall(
                    "INSERT INTO outbox (platform, user_id, chat_id, member_id, priority, purpose, discussion_id,"
                    " body, body_id, created_at) VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                    + " RETURNING id", [value for row in chunk for value in row])
                # In the order of the rows: ids are handed out in it (RETURNING's own order is not promised).
                ids += sorted(row[0] for row in added)
        return ids

    async def enqueue_edit(self, original_id: int, message: Outgoing, keeps_text: bool = False) -> int:
        async with self.database.transaction() as connection:
            cursor = await connection.execute(f"SELECT {_ORIGINAL} FROM outbox WHERE id = ?{self._locking}",
                                              (original_id,))
            original = await cursor.fetchone()
            if original is None:
                raise KeyError(f"no outbox row {original_id}")
            if original["state"] == "queued" and original["edit_of"] is None:
                await connection.execute("UPDATE outbox SET body = ?, body_id = NULL WHERE id = ?",
                                         (encode_body(message), original_id))
                return original_id
            # A newer edit of the same message that has not gone yet is replaced, not queued twice
            # (whole: it may change the text too).
            cursor = await connection.execute(
                "UPDATE outbox SET body = ? WHERE edit_of = ? AND state = 'queued'", (encode_body(message), original_id)
            )
            if cursor.rowcount:
                row = await (await connection.execute(
                    "SELECT id FROM outbox WHERE edit_of = ? AND state = 'queued'", (original_id,))).fetchone()
                return int(row["id"])  # type: ignore[index]
            body = encode_body(message, keeps_text=keeps_text)
            cursor = await connection.execute(_INSERT_EDIT, _edit_row(original, body, keeps_text))
            return int(cursor.lastrowid or 0)

    async def enqueue_edits(self, edits: Sequence[tuple[int, Outgoing]], keeps_text: bool = False) -> None:
        """As enqueue_edit for each, with a few statements per hundreds of rows: a broadcast's
        thousands of copies change in one short transaction."""
        bodies: dict[tuple[int, bool], str] = {}

        def body(message: Outgoing, as_edit: bool) -> str:
            key = (id(message), as_edit)
            if key not in bodies:
                bodies[key] = encode_body(message, keeps_text=keeps_text and as_edit)
            return bodies[key]

        async with self.database.transaction() as connection:
            for start in range(0, len(edits), _CHUNK):
                chunk = edits[start:start + _CHUNK]
                ids = [row for row, _ in chunk]
                marks = ",".join("?" * len(ids))
                originals = {row["id"]: row for row in await (await connection.execute(
                    f"SELECT {_ORIGINAL} FROM outbox WHERE id IN ({marks}) ORDER BY id{self._locking}", ids)).fetchall()}
                pending = {row["edit_of"]: row["id"] for row in await (await connection.execute(
                    f"SELECT id, edit_of FROM outbox WHERE edit_of IN ({marks}) AND state = 'queued'", ids)).fetchall()}
                in_place, inserted = [], []
                for row_id, message in chunk:
                    original = originals.get(row_id)
                    if original is None:
                        continue
                    if original["state"] == "queued" and original["edit_of"] is None:
                        in_place.append((body(message, False), row_id))
                    elif row_id in pending:  # an edit still to go: replaced whole, it may change the text too
                        in_place.append((body(message, False), pending[row_id]))
                    else:
                        inserted.append(_edit_row(original, body(message, True), keeps_text))
                await connection.executemany("UPDATE outbox SET body = ?, body_id = NULL WHERE id = ?", in_place)
                await connection.executemany(_INSERT_EDIT, inserted)

    async def copies(self, discussion_id: int, purposes: Sequence[str]) -> list[MessageCopy]:
        marks = ",".join("?" * len(purposes))
        # An edit row has its original's discussion and purpose: the newest one is what shows.
        rows = await self.database.fetch_all(
            "WITH latest AS (SELECT edit_of, MAX(id) AS id FROM outbox"
            f" WHERE discussion_id = ? AND purpose IN ({marks}) AND edit_of IS NOT NULL GROUP BY edit_of)"
            f" SELECT o.id, o.platform, o.user_id, o.chat_id, COALESCE(e.body, {_BODY.format(row='o')}) AS body"
            " FROM outbox o"
            " LEFT JOIN latest l ON l.edit_of = o.id LEFT JOIN outbox e ON e.id = l.id"
            f" WHERE o.discussion_id = ? AND o.purpose IN ({marks}) AND o.edit_of IS NULL"
            " AND o.state IN ('sent', 'queued') ORDER BY o.id",
            (discussion_id, *purposes, discussion_id, *purposes))
        # Copies in one language on one platform share a body: read once, one message for all.
        messages: dict[str, Outgoing] = {}
        return [MessageCopy(row["id"], Address(row["platform"], row["user_id"], row["chat_id"]),
                            messages.setdefault(row["body"], decode_message(row["body"]))) for row in rows]

    async def find_sent(self, recipient: Address, message_id: str) -> SentMessage | None:
        row = await self.database.fetch_one(
            f"SELECT id, member_id, purpose, discussion_id, {_BODY.format(row='outbox')} AS body FROM outbox"
            " WHERE platform = ? AND user_id = ? AND state = 'sent' AND edit_of IS NULL"
            " AND (message_id = ? OR (' ' || other_ids || ' ') LIKE ?) ORDER BY id DESC LIMIT 1",
            (recipient.platform, recipient.user_id, message_id, f"% {message_id} %"),
        )
        if row is None:
            return None
        return SentMessage(row["id"], row["member_id"], row["purpose"], row["discussion_id"],
                           decode_message(row["body"]))

    async def transcript(self, address: Address, limit: int) -> list[TranscriptEntry]:
        sent = await self.database.fetch_all(
            "SELECT o.id, o.message_id, o.sent_at,"
            " COALESCE((SELECT e.body FROM outbox e WHERE e.edit_of = o.id AND e.state = 'sent'"
            f"           ORDER BY e.id DESC LIMIT 1), {_BODY.format(row='o')}) AS body"
            " FROM outbox o WHERE o.platform = ? AND o.user_id = ? AND o.state = 'sent' AND o.edit_of IS NULL"
            " AND o.purpose != 'notice'"
            " ORDER BY o.id DESC LIMIT ?",
            (address.platform, address.user_id, limit),
        )
        received = await self.database.fetch_all(
            "SELECT id, body, received_at FROM inbound WHERE platform = ? AND user_id = ? AND kind != 'button'"
            " ORDER BY id DESC LIMIT ?",
            (address.platform, address.user_id, limit),
        )
        entries = [TranscriptEntry(True, row["message_id"], decode_message(row["body"]), row["sent_at"]) for row in sent]
        entries += [TranscriptEntry(False, f"in-{row['id']}", Message.plain(row["body"]), row["received_at"])
                    for row in received]
        entries.sort(key=lambda entry: entry.at)
        return entries[-limit:]

    # --- what the delivery engine does -------------------------------------------------------

    async def release_claims(self, starting: bool) -> None:
        """This worker's claims, given up as it stops: another worker takes its rows at once.
        Starting on SQLite, every claim: one process has the file (its lock says so), and the
        claims left are those of the process before it, which stopped."""
        everyone = starting and self.database.dialect == "sqlite"
        if starting and not everyone:
            return
        async with self.database.transaction(shared=True) as connection:
            await connection.execute(
                "UPDATE outbox SET claimed_by = NULL, claimed_until = NULL WHERE id IN (SELECT id FROM outbox"
                " WHERE claimed_by IS NOT NULL" + ("" if everyone else " AND claimed_by = ?") +
                f" ORDER BY id{self._locking})", () if everyone else (self.worker,))

    async def keep_claims(self, now: float) -> None:
        """This worker is alive: the rows it holds stay its own for CLAIM_FOR from now."""
        held = list(self._claimed)
        if not held:
            return
        async with self.database.transaction(shared=True) as connection:
            for start in range(0, len(held), _CHUNK):
                chunk = held[start:start + _CHUNK]
                kept = await connection.execute_fetchall(
                    "UPDATE outbox SET claimed_until = ? WHERE id IN (SELECT id FROM outbox"
                    f" WHERE id IN ({','.join('?' * len(chunk))}) AND claimed_by = ? ORDER BY id{self._locking})"
                    " RETURNING id", (now + CLAIM_FOR, *chunk, self.worker))
                # A row no longer this worker's (sent, given up, or taken by another after
                # this worker stalled past its claim) is not held any more.
                for row_id in set(chunk) - {row[0] for row in kept}:
                    self._claimed.pop(row_id, None)

    async def claim(self, platform: str, now: float, limit: int, exclude: Sequence[int] = ()) -> list[QueuedMessage]:
        """Due rows in priority order, then oldest first, claimed for this worker for a while:
        no other worker takes them meanwhile (on PostgreSQL they skip rows another is claiming
        at this very moment, rather than wait). An edit waits for its original."""
        placeholders = ",".join("?" * len(exclude))
        not_in = f" AND o.id NOT IN ({placeholders})" if exclude else ""
        lock = " FOR UPDATE SKIP LOCKED" if self.database.dialect == "postgresql" else ""
        async with self.database.transaction(shared=True) as connection:
            # Executed and read in one step: a task cancelled in between (the bot stopping)
            # would leave SQLite's statement running and its transaction unable to end.
            taken = await connection.execute_fetchall(
                "UPDATE outbox SET claimed_by = ?, claimed_until = ? WHERE id IN ("
                " SELECT o.id FROM outbox o WHERE o.platform = ? AND o.state = 'queued' AND o.not_before <= ?"
                " AND (o.claimed_until IS NULL OR o.claimed_until < ? OR o.claimed_by = ?)" + not_in +
                " ORDER BY o.priority, o.id LIMIT ?" + lock + ") RETURNING id",
                (self.worker, now + CLAIM_FOR, platform, now, now, self.worker, *exclude, limit))
            if not taken:
                return []
            ids = [row[0] for row in taken]
            rows = await (await connection.execute(
                "SELECT o.id, o.platform, o.user_id, o.chat_id, o.member_id, o.priority, o.purpose, o.discussion_id,"
                f" {_BODY.format(row='o')} AS body, o.attempts, o.edit_of, e.message_id AS edit_of_message_id,"
                " e.state AS edit_of_state,"
                " i.last_seen_at"
                " FROM outbox o LEFT JOIN outbox e ON e.id = o.edit_of"
                " LEFT JOIN identity i ON i.platform = o.platform AND i.user_id = o.user_id"
                f" WHERE o.id IN ({','.join('?' * len(ids))}) ORDER BY o.priority, o.id", ids)).fetchall()
            # Kept before the claim is committed: until then the rows are locked, and a change
            # to them (a member forgotten) comes after, and rewrites what is kept here.
            claimed, orphaned_edits = [], []
            for row in rows:
                if row["edit_of"] is not None and row["edit_of_state"] != "sent":
                    if row["edit_of_state"] in ("failed", "skipped"):
                        orphaned_edits.append(row["id"])
                    continue
                message, template = decode_body(row["body"])
                # Edits too: a newer edit replaces a queued one in place, even while it is sent.
                self._claimed[row["id"]] = row["body"]
                claimed.append(QueuedMessage(
                    id=row["id"],
                    envelope=Envelope(
                        to=Address(row["platform"], row["user_id"], row["chat_id"]), message=message,
                        purpose=_purpose(row["purpose"]), priority=Priority(row["priority"]),
                        member_id=row["member_id"], discussion_id=row["discussion_id"], template=template,
                        row=row["id"], last_seen_at=row["last_seen_at"],
                        keeps_text=row["edit_of"] is not None and body_keeps_text(row["body"]),
                    ),
                    attempts=row["attempts"],
                    edit_of_message_id=row["edit_of_message_id"],
                ))
        for row_id in orphaned_edits:
            await self.mark_failed(row_id, "the message it edits was never delivered")
        return claimed

    async def mark_sent(self, row_id: int, message_id: str, other_ids: Sequence[str], now: float) -> None:
        async with self.database.transaction(shared=True) as connection:
            if self._locking:
                # Beside other transactions: a change to this row (a member forgotten) either
                # is done by now or waits for this one.
                await connection.execute(f"SELECT id FROM outbox WHERE id = ?{self._locking}", (row_id,))
            # Taken inside the transaction: a change made while this one waited for its turn
            # (a member forgotten) has rewritten it by now.
            sent_body = self._claimed.pop(row_id, None)
            # Only the row this worker claimed: one deleted meanwhile (its member forgotten)
            # may have had its id taken by a new row, which this send is not about.
            cursor = await connection.execute(
                "UPDATE outbox SET state = 'sent', message_id = ?, other_ids = ?, sent_at = ?,"
                " attempts = attempts + 1, reason = '', claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ? AND claimed_by = ?",
                (message_id, " ".join(other_ids), now, row_id, self.worker),
            )
            if cursor.rowcount and sent_body is not None:
                await self._follow_change_made_while_sending(connection, row_id, sent_body)

    async def _follow_change_made_while_sending(self, connection: aiosqlite.Connection, row_id: int,
                                                sent_body: str) -> None:
        """The core changed the row in place (a card's new state, buttons taken off, a newer
        edit) while the platform took the version claimed before: the row keeps what was really
        sent, and the new version follows as an edit of the same message."""
        row = await (await connection.execute(f"SELECT {_ORIGINAL}, {_BODY.format(row='outbox')} AS body"
                                              " FROM outbox WHERE id = ?",
                                              (row_id,))).fetchone()
        if row is None or row["body"] == sent_body:
            return
        await connection.execute("UPDATE outbox SET body = ?, body_id = NULL WHERE id = ?", (sent_body, row_id))
        message = dict(row) | {"id": row["edit_of"] or row["id"]}
        await connection.execute(_INSERT_EDIT, _edit_row(message, row["body"], keeps_text=False))

    async def mark_retry(self, row_id: int, reason: str, not_before: float, count_attempt: bool) -> None:
        self._claimed.pop(row_id, None)
        async with self.database.transaction(shared=True) as connection:
            await connection.execute(
                "UPDATE outbox SET reason = ?, not_before = ?, attempts = attempts + ?,"
                " claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?",
                (reason, not_before, int(count_attempt), row_id, self.worker),
            )

    async def mark_failed(self, row_id: int, reason: str) -> None:
        self._claimed.pop(row_id, None)
        async with self.database.transaction(shared=True) as connection:
            await connection.execute(
                "UPDATE outbox SET state = 'failed', reason = ?, attempts = attempts + 1,"
                " claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?",
                (reason, row_id, self.worker),
            )

    async def record_report(self, report: DeliveryReport, now: float, max_attempts: int) -> Address | None:
        """Apply what the platform reported to the row that carried that message; the row's
        address, or None when no row has that id."""
        row = await self.database.fetch_one(
            "SELECT id, platform, user_id, chat_id FROM outbox WHERE platform = ? AND message_id = ?"
            " ORDER BY id DESC LIMIT 1", (report.platform, report.message_id))
        if row is None:
            return None
        status, reason = report.status, report.reason
        updates = {
            DeliveryStatus.DELIVERED: ("delivered_at = COALESCE(delivered_at, ?)", (now,)),
            DeliveryStatus.READ: ("delivered_at = COALESCE(delivered_at, ?), read_at = COALESCE(read_at, ?)",
                                  (now, now)),
            DeliveryStatus.UNDELIVERABLE: ("state = 'failed', reason = ?", (reason,)),
            DeliveryStatus.OUTSIDE_WINDOW: ("state = 'queued', message_id = NULL, reason = ?, not_before = ?",
                                            (reason, WAITING_FOR_PERSON)),
            DeliveryStatus.FAILED: ("state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'queued' END,"
                                    " message_id = NULL, attempts = attempts + 1, reason = ?, not_before = ?",
                                    (max_attempts, reason, now + 60.0)),
        }
        assignments, values = updates[status]
        async with self.database.transaction() as connection:
            await connection.execute(f"UPDATE outbox SET {assignments} WHERE id = ?", (*values, row["id"]))
        return Address(row["platform"], row["user_id"], row["chat_id"])

    async def park(self, row_id: int, reason: str) -> None:
        self._claimed.pop(row_id, None)
        async with self.database.transaction(shared=True) as connection:
            await connection.execute("UPDATE outbox SET reason = ?, not_before = ?,"
                                     " claimed_by = NULL, claimed_until = NULL WHERE id = ? AND claimed_by = ?",
                                     (reason, WAITING_FOR_PERSON, row_id, self.worker))

    async def skip_queued_for(self, platform: str, user_id: str, reason: str) -> int:
        async with self.database.transaction() as connection:
            # One statement: its rows are all locked before its triggers count any of them, so
            # a sender holding one of them (another worker's) and wanting the tally never waits
            # on this one while it waits on that sender.
            cursor = await connection.execute(
                "UPDATE outbox SET state = 'skipped', reason = ? WHERE platform = ? AND user_id = ? AND state = 'queued'",
                (reason, platform, user_id),
            )
            return cursor.rowcount

    async def next_due(self, platform: str) -> float | None:
        # A claimed row is due for others when its claim runs out (its worker may have died).
        row = await self.database.fetch_one(
            "SELECT MIN(CASE WHEN claimed_until IS NOT NULL AND claimed_until > not_before THEN claimed_until"
            " ELSE not_before END) FROM outbox WHERE platform = ? AND state = 'queued' AND not_before < ?",
            (platform, WAITING_FOR_PERSON),
        )
        return row[0] if row and row[0] is not None else None

    async def wake_person(self, platform: str, user_id: str, now: float) -> None:
        async with self.database.transaction() as connection:
            await connection.execute(
                "UPDATE outbox SET not_before = ? WHERE platform = ? AND user_id = ? AND state = 'queued'"
                " AND not_before > ?",
                (now, platform, user_id, now),
            )

    async def broadcasting(self) -> list[int]:
        """Discussions whose broadcast is still going out: rows queued, or not yet written."""
        rows = await self.database.fetch_all(
            "SELECT discussion_id FROM outbox_tally WHERE purpose = 'broadcast' AND state = 'queued' AND n > 0"
            " UNION SELECT discussion_id FROM broadcast_plan"
            " WHERE done_at IS NULL AND purpose = 'broadcast' AND discussion_id IS NOT NULL")
        return sorted(row[0] for row in rows)

    async def counts(self, discussion_id: int, purpose: str) -> dict[str, int]:
        """The discussion's messages by state (failures by reason); "planned" for those whose
        rows are not written yet."""
        rows = await self.database.fetch_all(
            "SELECT state, reason, n FROM outbox_tally WHERE discussion_id = ? AND purpose = ? AND n > 0"
            " AND state NOT IN ('delivered', 'read')", (discussion_id, purpose))
        counts: dict[str, int] = {}
        for row in rows:
            key = f"failed:{row['reason']}" if row["state"] == "failed" else row["state"]
            counts[key] = counts.get(key, 0) + row["n"]
        planned = await self.database.fetch_one(
            "SELECT COALESCE(SUM(CASE WHEN planned > written THEN planned - written ELSE 0 END), 0) FROM broadcast_plan"
            " WHERE discussion_id = ? AND purpose = ? AND done_at IS NULL", (discussion_id, purpose))
        if planned and planned[0]:
            counts["planned"] = int(planned[0])
        return counts

    async def confirmations(self, discussion_id: int, purpose: str) -> tuple[int, int]:
        """(delivered, read) as the platforms reported them, for platforms that report."""
        rows = await self.database.fetch_all(
            "SELECT state, n FROM outbox_tally WHERE discussion_id = ? AND purpose = ?"
            " AND state IN ('delivered', 'read')", (discussion_id, purpose))
        found = {row["state"]: int(row["n"]) for row in rows}
        return found.get("delivered", 0), found.get("read", 0)

    # --- a broadcast to the whole network, written in batches ---------------------------------

    async def audience_keys(self) -> set[tuple[str, str]]:
        """The (language, platform) of every member a broadcast may reach: what to compose."""
        rows = await self.database.fetch_all(
            "SELECT DISTINCT m.language, i.platform FROM member m JOIN identity i ON i.member_id = m.id"
            " WHERE m.status = 'active' AND i.reachable = 1")
        return {(row[0], row[1]) for row in rows}

    async def plan_broadcast(self, plan: BroadcastPlan) -> int:
        """Keep the plan (in the caller's transaction: it is decided with what caused it) and
        its messages, one per language and platform; returns how many members it is for."""
        served = list(plan.platforms)
        excluded = ",".join(str(member_id) for member_id in sorted(set(plan.exclude)))
        async with self.database.transaction() as connection:
            row = await (await connection.execute(
                "SELECT count(*) FROM member m WHERE m.status = 'active' AND m.delivery = 'instant'"
                " AND instr(',' || ? || ',', ',' || m.id || ',') = 0"
                " AND EXISTS (SELECT 1 FROM identity i WHERE i.member_id = m.id AND i.reachable = 1"
                f"{_served('i', served)})", (excluded, *served))).fetchone()
            planned = int(row[0]) if row else 0
            cursor = await connection.execute(
                "INSERT INTO broadcast_plan (discussion_id, purpose, priority, default_language, exclude, platforms,"
                " planned, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (plan.discussion_id, plan.purpose.value, int(plan.priority), plan.default_language, excluded,
                 ",".join(served), planned, _now()))
            plan_id = cursor.lastrowid
            stored: dict[str, int] = {}
            for (language, platform), (message, template) in plan.messages.items():
                body = encode_body(message, template)
                if body not in stored:
                    stored[body] = await _store_body(connection, body)
                await connection.execute(
                    "INSERT INTO broadcast_plan_body (plan_id, language, platform, body_id) VALUES (?, ?, ?, ?)",
                    (plan_id, language, platform, stored[body]))
        return planned

    async def unwritten_plans(self) -> list[int]:
        rows = await self.database.fetch_all("SELECT id FROM broadcast_plan WHERE done_at IS NULL ORDER BY id")
        return [row[0] for row in rows]

    async def write_batch(self, plan_id: int, members: int) -> bool:
        """The rows of the plan's next `members` members, in one short transaction; True once
        every member has their row. A member in a language no message was composed for gets
        the community's default language (the translator would have fallen back to it too)."""
        async with self.database.transaction() as connection:
            plan = await (await connection.execute(
                "SELECT * FROM broadcast_plan WHERE id = ? AND done_at IS NULL", (plan_id,))).fetchone()
            if plan is None:
                return True
            served = [platform for platform in plan["platforms"].split(",") if platform]
            last = await (await connection.execute(
                "SELECT max(id) FROM (SELECT id FROM member WHERE id > ? ORDER BY id LIMIT ?) AS batch",
                (plan["after_member"], members))).fetchone()
            if last is None or last[0] is None:
                await connection.execute(
                    "UPDATE broadcast_plan SET done_at = ? WHERE id = ?", (_now(), plan_id))
                return True
            cursor = await connection.execute(
                "INSERT INTO outbox (platform, user_id, chat_id, member_id, priority, purpose, discussion_id,"
                " body, body_id, created_at)"
                " SELECT i.platform, i.user_id, i.chat_id, m.id, ?, ?, ?, '',"
                "        COALESCE(own.body_id, fallback.body_id), ?"
                " FROM member m"
                " JOIN identity i ON i.rowid = (SELECT i2.rowid FROM identity i2"
                "     WHERE i2.member_id = m.id AND i2.reachable = 1" + _served("i2", served) +
                "     ORDER BY COALESCE(i2.last_seen_at, 0) DESC, i2.rowid LIMIT 1)"
                " LEFT JOIN broadcast_plan_body own ON own.plan_id = ? AND own.platform = i.platform"
                "     AND own.language = m.language"
                " LEFT JOIN broadcast_plan_body fallback ON fallback.plan_id = ? AND fallback.platform = i.platform"
                "     AND fallback.language = ?"
                " WHERE m.id > ? AND m.id <= ? AND m.status = 'active' AND m.delivery = 'instant'"
                " AND instr(',' || ? || ',', ',' || m.id || ',') = 0"
                " AND COALESCE(own.body_id, fallback.body_id) IS NOT NULL"
                " ORDER BY m.id",
                (plan["priority"], plan["purpose"], plan["discussion_id"], _now(), *served, plan_id, plan_id,
                 plan["default_language"], plan["after_member"], last[0], plan["exclude"]))
            await connection.execute(
                "UPDATE broadcast_plan SET after_member = ?, written = written + ? WHERE id = ?",
                (last[0], cursor.rowcount, plan_id))
        return False

    async def settle(self) -> None:
        """After many rows were written: the write-ahead log copied back into the database
        without waiting for anyone (it then shrinks to the journal size limit). PostgreSQL's
        server looks after its own log."""
        if self.database.dialect == "sqlite":
            await self.database.fetch_one("PRAGMA wal_checkpoint(PASSIVE)")


async def _store_body(connection: aiosqlite.Connection, body: str) -> int:
    cursor = await connection.execute("INSERT INTO outbox_body (body) VALUES (?)", (body,))
    return int(cursor.lastrowid or 0)


def _served(alias: str, platforms: Sequence[str]) -> str:
    """The SQL that keeps identities on the platforms served ('' when all are)."""
    return f" AND {alias}.platform IN ({','.join('?' * len(platforms))})" if platforms else ""


def _edit_row(original, body: str, keeps_text: bool) -> tuple:  # type: ignore[no-untyped-def]
    """The values of a new row that edits `original`. A changed card goes ahead of broadcasts;
    buttons taken off a broadcast's copies keep the broadcast's own place in the queue."""
    priority = int(original["priority"]) if keeps_text else min(int(original["priority"]), int(Priority.CARD))
    return (original["platform"], original["user_id"], original["chat_id"], original["member_id"], priority,
            original["purpose"], original["discussion_id"], body, original["id"], _now())


def _now() -> float:
    return time.time()


def _purpose(value: str) -> Purpose:
    try:
        return Purpose(value)
    except ValueError:  # a row written by a version that had other purposes
        return Purpose.ANSWER
