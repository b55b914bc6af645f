"""Of several workers on one PostgreSQL database, one polls Telegram (which allows one
getUpdates at a time); when it dies another takes over within seconds."""

from __future__ import annotations

import signal
import time

import pytest

from tests.fakes.telegram_api import FakeTelegram, TelegramUser
from tests.storage_backend import storage_url
from tests.workers import leader_of, start_worker, stop_all, wait_for, worker_config

pytestmark = pytest.mark.postgresql_only


async def test_one_worker_polls_telegram_and_another_takes_over_when_it_dies(tmp_path):
    url = storage_url(tmp_path / "leader.db")
    async with FakeTelegram() as api:
        logs = [tmp_path / f"worker{n}.log" for n in range(2)]
        workers = [await start_worker(worker_config(tmp_path, url, api, name=f"worker{n}"), logs[n])
                   for n in range(2)]
        try:
            await wait_for(lambda: leader_of(logs) is not None, 30, "a leader")
            first = leader_of(logs)
            assert first is not None
            await TelegramUser(api, 501, "Ada").send("/start")
            await wait_for(lambda: len(api.chats.get(501, [])) >= 1, 30, "an answer to the first member")
            assert api.conflicts == 0, "only the leader polls"

            workers[first].send_signal(signal.SIGKILL)
            await workers[first].wait()
            killed_at = time.monotonic()
            await wait_for(lambda: leader_of([log for n, log in enumerate(logs) if n != first]) is not None, 30,
                           "another leader")
            took_over = time.monotonic() - killed_at
            await TelegramUser(api, 502, "Grace").send("/start")
            await wait_for(lambda: len(api.chats.get(502, [])) >= 1, 30, "an answer after the leader died")
        finally:
            await stop_all(workers)
    assert took_over < 10, f"the lead was taken over after {took_over:.1f} s"
    # The dead leader's last getUpdates may still be waiting at the fake when the new one asks.
    assert api.conflicts <= 1
