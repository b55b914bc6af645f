"""On PostgreSQL a member is forgotten while senders, beside that transaction, record
messages as sent: a sender locks its row, then counts it in the discussion's tally; forget
deletes the member's rows (counting them down) and rewrites others that quote the name. Both
finish: neither waits on the other in a circle, which PostgreSQL would break by failing one."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.domain.members import Identity, Role
from storage.discussions import SqliteDiscussionStore
from storage.members import SqliteMemberStore
from storage.personal_data import SqlitePersonalData
from storage.postgres import PostgresDatabase
from tests.storage_backend import storage_url

pytestmark = pytest.mark.postgresql_only

NAME = "Zanele Okonkwo"


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

        async with database.transaction(shared=True) as sender:
            # What recording a send does (storage/outbox.py mark_sent), held apart in its two steps.
            await sender.execute("SELECT id FROM outbox WHERE id = ? FOR UPDATE", (to_amina,))
            forgetting = asyncio.create_task(
                SqlitePersonalData(database).forget(zanele.id, {}, "a member"))
            await asyncio.sleep(0.5)  # forget goes as far as it can beside the sender
            await sender.execute("UPDATE outbox SET state = 'sent', message_id = '9' WHERE id = ?", (to_amina,))
        assert await asyncio.wait_for(forgetting, 10) is True

        assert [tuple(row) for row in await database.fetch_all("SELECT user_id, state, body FROM outbox")] == [
            ("702", "sent", json.dumps({"text": "a member replied to your question"}))]
        tally = await database.fetch_all("SELECT state, n FROM outbox_tally WHERE discussion_id = ? AND n != 0",
                                         (discussion.id,))
        assert [tuple(row) for row in tally] == [("sent", 1)]
    finally:
        await database.close()
