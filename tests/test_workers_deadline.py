"""Three workers on one PostgreSQL database, each with the discussion's deadline planned: the
discussion closes once, and the facilitator and the asker are told once."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace

import pytest

from bot.domain.discussions import State
from bot.domain.members import Identity, Role
from storage.discussions import SqliteDiscussionStore
from storage.members import SqliteMemberStore
from storage.postgres import PostgresDatabase
from tests.fakes.telegram_api import FakeTelegram
from tests.storage_backend import storage_url
from tests.workers import FACILITATOR, start_worker, stop_all, wait_for, worker_config

pytestmark = pytest.mark.postgresql_only


async def test_a_deadline_closes_its_discussion_once_with_three_workers(tmp_path):
    url = storage_url(tmp_path / "deadline.db")
    database = await PostgresDatabase.open(url)
    try:
        members, discussions = SqliteMemberStore(database), SqliteDiscussionStore(database)
        await members.create(Identity("telegram", str(FACILITATOR), str(FACILITATOR)), "Fran", Role.FACILITATOR, 0.0)
        asker = await members.create(Identity("telegram", "601", "601"), "Asha", Role.MEMBER, 0.0)
        discussion = await discussions.create(asker.id, "How do cash transfers reach children?", "en", False,
                                              time.time())
        now = time.time()
        opened = replace(discussion, state=State.APPROVED, approved_at=now, deadline_at=now + 6.0, version=2)
        assert await discussions.save(opened, expected_version=discussion.version)
        discussion_id = discussion.id
    finally:
        await database.close()

    async with FakeTelegram() as api:
        logs = [tmp_path / f"worker{n}.log" for n in range(3)]
        workers = [await start_worker(worker_config(tmp_path, url, api, name=f"worker{n}"), logs[n])
                   for n in range(3)]
        try:
            await wait_for(lambda: _closed(api), 40, "the facilitator's card of the closed discussion", api)

            await asyncio.sleep(3.0)  # the other workers' jobs for the same deadline have fired too
        finally:
            await stop_all(workers)
        cards = [message for message in api.chats.get(FACILITATOR, []) if "closed" in message.text]
        told = [message for message in api.chats.get(601, []) if "closed" in message.text]

    database = await PostgresDatabase.open(url)
    try:
        closed = await SqliteDiscussionStore(database).get(discussion_id)
        audit = await database.fetch_all("SELECT action FROM audit WHERE discussion_id = ?", (discussion_id,))
    finally:
        await database.close()
    assert closed is not None and closed.state == State.CLOSED
    assert len(cards) == 1, f"the facilitator was told {len(cards)} times"
    assert len(told) == 1, f"the asker was told {len(told)} times"
    assert [row[0] for row in audit].count("closed") <= 1


def _closed(api: FakeTelegram) -> bool:
    return any("closed" in message.text for message in api.chats.get(FACILITATOR, []))
