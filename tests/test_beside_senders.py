"""On PostgreSQL the use cases that change several outbox rows run while senders, beside
them, record messages as sent: a sender locks its row, then counts it in the discussion's
tally. A member forgotten (their rows deleted and counted down, others that quote their name
rewritten, in several statements), or a member found unreachable (their queued rows skipped,
in one), locks every row it changes before it counts any: neither side waits on the other in
a circle, which PostgreSQL would break by failing one of them."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Awaitable, TypeVar

import pytest

from bot.domain.members import Identity, Role
from storage.discussions import SqliteDiscussionStore
from storage.members import SqliteMemberStore
from storage.outbox import SqliteOutbox
from storage.personal_data import SqlitePersonalData
from storage.postgres import PostgresDatabase
from tests.storage_backend import storage_url

pytestmark = pytest.mark.postgresql_only
T = TypeVar("T")

NAME = "Zanele Okonkwo"


async def beside_a_sender(database: PostgresDatabase, row_id: int, change: Awaitable[T]) -> T:
    """What `change` gives when it runs while a sender records the row as sent, held apart
    in its two steps (storage/outbox.py mark_sent): the row locked, then counted as sent."""
    async with database.transaction(shared=True) as sender:
        await sender.execute("SELECT id FROM outbox WHERE id = ? FOR UPDATE", (row_id,))
        changing = asyncio.ensure_future(change)
        await asyncio.sleep(0.5)  # the change goes as far as it can beside the sender
        await sender.execute("UPDATE outbox SET state = 'sent', message_id = '9' WHERE id = ?", (row_id,))
    return await asyncio.wait_for(changing, 10)


async def test_forget_and_a_message_recorded_as_sent_beside_it_both_finish(tmp_path):
    database = await PostgresDatabase.open(storage_url(tmp_path / "forget.db"))
    try:
        members, discussions = SqliteMemberStore(database), SqliteDiscussionStore(database)
        zanele = await members.create(Identity("telegram", "701", "701"), NAME, Role.MEMBER, 0.0)
        amina = await members.create(Identity("telegram", "702", "702"), "Amina", Role.MEMBER, 0.0)
        discussion = await discussions.create(amina.id, "How do cash transfers reach children?", "en", False,
                                              time.time())
        async with database.transaction() as connection:
            for user_id, member_id, text in (("701", zanele.id, "Question #1 for you"),
                                             ("702", amina.id, f"{NAME} replied to your question")):
                await connection.execute(
                    "INSERT INTO outbox (platform, user_id, chat_id, member_id, purpose, discussion_id, body,"
                    " created_at, claimed_by) VALUES ('telegram', ?, ?, ?, 'broadcast', ?, ?, ?, 'sender')",
                    (user_id, user_id, member_id, discussion.id, json.dumps({"text": text}), time.time()))
        [(to_amina,)] = await database.fetch_all("SELECT id FROM outbox WHERE user_id = '702'")

        forgetting = await beside_a_sender(database, to_amina, SqlitePersonalData(database).forget(
            zanele.id, {}, "a member"))
        assert forgetting is True

        assert [tuple(row) for row in await database.fetch_all("SELECT user_id, state, body FROM outbox")] == [
            ("702", "sent", json.dumps({"text": "a member replied to your question"}))]
        tally = await database.fetch_all("SELECT state, n FROM outbox_tally WHERE discussion_id = ? AND n != 0",
                                         (discussion.id,))
        assert [tuple(row) for row in tally] == [("sent", 1)]
    finally:
        await database.close()


async def test_skipping_an_unreachable_members_messages_and_one_recorded_as_sent_beside_it_both_finish(tmp_path):
    database = await PostgresDatabase.open(storage_url(tmp_path / "skip.db"))
    try:
        members, discussions = SqliteMemberStore(database), SqliteDiscussionStore(database)
        amina = await members.create(Identity("telegram", "702", "702"), "Amina", Role.MEMBER, 0.0)
        discussion = await discussions.create(amina.id, "How do cash transfers reach children?", "en", False,
                                              time.time())
        async with database.transaction() as connection:
            for worker in ("this worker", "another worker"):
                await connection.execute(
                    "INSERT INTO outbox (platform, user_id, chat_id, member_id, purpose, discussion_id, body,"
                    " created_at, claimed_by) VALUES ('telegram', '702', '702', ?, 'broadcast', ?, ?, ?, ?)",
                    (amina.id, discussion.id, json.dumps({"text": "Question #1"}), time.time(), worker))
        [(first,), (in_flight,)] = await database.fetch_all("SELECT id FROM outbox ORDER BY id")

        skipped = await beside_a_sender(database, in_flight, SqliteOutbox(database).skip_queued_for(
            "telegram", "702", "blocked the bot"))

        assert skipped == 1
        states = await database.fetch_all("SELECT id, state FROM outbox ORDER BY id")
        assert [tuple(row) for row in states] == [(first, "skipped"), (in_flight, "sent")]
    finally:
        await database.close()
