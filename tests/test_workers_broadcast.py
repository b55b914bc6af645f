"""Three workers on one PostgreSQL database send a broadcast: each message once in total, at
Telegram's rate for all of them together, while one of them is killed half-way."""

from __future__ import annotations

import asyncio
import signal

import pytest

from bot.services.delivery import MAX_IN_FLIGHT
from tests.fakes.telegram_api import FakeTelegram
from tests.storage_backend import storage_url
from tests.workers import (
    FIRST_MEMBER, busiest_second, plan_broadcast, received, start_worker, stop_all, wait_for, worker_config,
)

pytestmark = pytest.mark.postgresql_only
MEMBERS = 3000
CEILING = 30


@pytest.mark.timeout(300)  # 3,000 messages at 30 a second take 100 seconds
async def test_three_workers_send_a_broadcast_once_at_the_shared_rate_while_one_is_killed(tmp_path):
    url = storage_url(tmp_path / "workers.db")
    await plan_broadcast(url, MEMBERS)
    async with FakeTelegram() as api:
        logs = [tmp_path / f"worker{n}.log" for n in range(3)]
        workers = [await start_worker(worker_config(tmp_path, url, api, name=f"worker{n}"), logs[n])
                   for n in range(3)]
        try:
            await wait_for(lambda: sum(received(api).values()) >= MEMBERS // 2, 120, "half the broadcast")
            workers[0].send_signal(signal.SIGKILL)
            await workers[0].wait()
            await wait_for(lambda: len(members_reached(api)) == MEMBERS, 150, "the whole broadcast")
            await asyncio.sleep(1.0)  # a copy still on its way would show now
        finally:
            await stop_all(workers)
        copies = members_reached(api)
        sends = sorted(request.at for request in api.requests if request.method == "sendMessage" and not request.refused)
        too_many = [request for request in api.refused if request.refused.startswith("Too Many Requests")]

    assert len(copies) == MEMBERS, "every member got the question"
    doubled = sum(count - 1 for count in copies.values())
    # Only a message the killed worker had sent when it died, but not yet recorded as sent,
    # can go twice: at most what it had in flight.
    assert doubled <= MAX_IN_FLIGHT, f"{doubled} messages sent twice"
    # Three workers, each pacing alone at 30 a second, would have sent 90 and met hundreds of
    # 429s: together they stay under the ceiling.
    assert len(too_many) <= 2, f"{len(too_many)} refusals for going too fast"
    assert busiest_second(api) <= CEILING
    rate = len(sends) / (sends[-1] - sends[0])
    assert rate >= 0.8 * CEILING, f"{rate:.1f} messages a second"
    print(f"sent twice: {doubled}; refused for going too fast: {len(too_many)}; {rate:.1f} messages a second")


def members_reached(api: FakeTelegram) -> dict[int, int]:
    """How many copies of the question each member got (the facilitator, enrolled at start, too)."""
    return {chat: count for chat, count in received(api).items() if chat >= FIRST_MEMBER}
