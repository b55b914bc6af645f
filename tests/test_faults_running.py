"""The disk filling up while the bot runs: a message that cannot be kept is refused politely
(the person is asked to send it again), one line is logged, what was accepted before is
still handled, and the next message works once there is room again."""

import asyncio
import errno
import logging
import sqlite3

import asyncpg
import pytest

from tests.network import Network, settings_for
from tests.storage_backend import ON_POSTGRES, rows as backend_rows


class FullDiskOnce:
    """The inbound log, on a disk that is full for the next message only."""

    def __init__(self, inbound, error: Exception) -> None:  # type: ignore[no-untyped-def]
        self._inbound = inbound
        self._error: Exception | None = error

    async def record(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self._error is not None:
            error, self._error = self._error, None
            raise error
        return await self._inbound.record(*args, **kwargs)

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._inbound, name)


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


# What the database says when its disk is full, and about something else.
if ON_POSTGRES:
    DATABASE_FULL: Exception = asyncpg.DiskFullError('could not extend file "base/16384/16390": No space left on device')
    OTHER_STORAGE_ERROR: Exception = asyncpg.UndefinedTableError('relation "inbound" does not exist')
else:
    DATABASE_FULL = sqlite3.OperationalError("database or disk is full")
    OTHER_STORAGE_ERROR = sqlite3.OperationalError("no such table")


@pytest.mark.parametrize("error", [
    DATABASE_FULL,
    OSError(errno.ENOSPC, "No space left on device"),
], ids=["database-full", "enospc"])
async def test_a_message_that_cannot_be_kept_is_refused_and_what_was_kept_is_still_handled(network, caplog, error):
    amina = await network.member("a1", "Amina")
    intake = network.app.intake
    # A message accepted before the disk fills, and not handled yet when it does.
    gate = asyncio.Event()
    dispatch = intake.dispatcher.dispatch

    async def held(event):  # type: ignore[no-untyped-def]
        await gate.wait()
        await dispatch(event)

    intake.dispatcher.dispatch = held  # type: ignore[method-assign]
    assert (await amina.says("/whoami")).accepted

    intake.inbound = FullDiskOnce(intake.inbound, error)
    caplog.set_level(logging.WARNING)
    refused = await amina.says("/profile")

    assert not refused.accepted
    assert "cannot take your message right now" in (refused.refusal or "")
    assert rows(network, "SELECT count(*) FROM inbound WHERE body = '/profile'") == [(0,)]
    warnings = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "no room" in warnings[0].getMessage() and warnings[0].exc_info is None

    gate.set()  # (the held use case holds the database, so nothing is sent before)
    await amina.receives("Please send it again in a while")
    await amina.receives("Your Memory id is a1")
    assert (await amina.says("/profile")).accepted
    await amina.receives("Your profile")
    assert rows(network, "SELECT count(*) FROM inbound WHERE handled_at IS NULL") == [(0,)]
    assert sum("Your Memory id" in text for text in amina.texts()) == 1


async def test_another_storage_error_is_not_mistaken_for_a_full_disk(network):
    amina = await network.member("a1", "Amina")
    network.app.intake.inbound = FullDiskOnce(network.app.intake.inbound, OTHER_STORAGE_ERROR)
    with pytest.raises(type(OTHER_STORAGE_ERROR)):
        await amina.says("/whoami")
