"""`facilitator migrate-storage`: a community moves from its SQLite file onto PostgreSQL without
losing a row. The bot that starts on PostgreSQL finds its members, its discussions and its
archive; a database that already holds a community is refused; a copy that fails half-way
leaves the target as empty as it found it.

Every run needs both databases: the SQLite file is the source, whichever backend the suite runs
on, and PostgreSQL is the session's server (FACILITATOR_TEST_STORAGE=postgresql) or one started
for this module."""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bot.config import LimitSettings, Settings
from storage.migration_copy import CopyFailed, CopyRefused, copy_community
from tests import storage_backend
from tests.clock import ManualClock
from tests.network import ROOT, Network, close_now, settings_for
from tests.postgres_server import Server, running_server
from tests.test_closing import open_discussion, reply
from tests.test_events import create_event
from tests.test_surveys import write_event_survey

DAY = 86400.0
DECEMBER_FIRST = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc).timestamp()


@pytest.fixture(scope="module")
def server():  # type: ignore[no-untyped-def]
    if storage_backend._Session.server is not None:
        yield storage_backend._Session.server
        return
    with running_server() as started:
        asyncio.run(started.prepare_template())
        yield started


def on_sqlite(tmp_path: Path) -> Settings:
    """The community's settings on its SQLite file, whichever backend the suite runs on."""
    settings = settings_for(tmp_path, reply_window=21 * DAY, reminder_before=2 * DAY)
    return replace(settings, storage_url="", limits=LimitSettings(burst=200))


def sqlite_rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as connection:
        return connection.execute(sql).fetchall()


async def pg_rows(url: str, sql: str, *arguments: Any) -> list[tuple]:
    connection = await asyncpg.connect(url)
    try:
        return [tuple(row) for row in await connection.fetch(sql, *arguments)]
    finally:
        await connection.close()


async def rows_in_every_table(url: str) -> dict[str, int]:
    names = [row[0] for row in await pg_rows(
        url, "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
             " AND table_type = 'BASE TABLE' AND table_name != 'schema_migrations'")]
    counts = {}
    for name in names:
        [(count,)] = await pg_rows(url, f'SELECT count(*) FROM "{name}"')
        counts[name] = count
    return counts


async def shared_columns(url: str, source: Path, table: str) -> list[str]:
    on_postgres = [row[0] for row in await pg_rows(
        url, "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
             " AND table_name = $1 AND is_generated = 'NEVER' ORDER BY ordinal_position", table)]
    on_sqlite = {row[1] for row in sqlite_rows(source, f'PRAGMA table_info("{table}")')} | {"rowid"}
    return [column for column in on_postgres if column in on_sqlite]


class CountingProgress:
    """A progress that counts what it is told."""

    def __init__(self) -> None:
        self.tables: dict[str, int] = {}
        self.rows = 0

    def table(self, name: str, rows: int) -> None:
        self.tables[name] = rows

    def copied(self, rows: int) -> None:
        self.rows += rows


async def seed(network: Network) -> None:
    """A month of a small network: members join, a question is approved and answered, its
    consolidated reply published, a webinar announced with a registration and its survey."""
    fatou, amina, bola, carla = await open_discussion(network)
    await reply(bola, "Mobile money agents in each district worked well for disbursement.")
    await reply(carla, "Community health workers carried enrolment forms to remote villages.", anonymous=True)
    await close_now(fatou)
    await fatou.presses("Publish", on=await fatou.receives("Draft consolidated reply"))
    await bola.sees(lambda m: m.text.startswith("Consolidated reply:"))
    await amina.receives("Consolidated reply:")
    await create_event(fatou)
    announced = await amina.sees(lambda m: "Cash transfers and child poverty" in m.text and "Register" in m.labels())
    await amina.presses("Register", on=announced)
    await amina.receives("You are registered for")
    await write_event_survey(fatou)


async def test_a_seeded_community_is_found_whole_by_a_bot_started_on_postgresql(tmp_path, server: Server):
    clock = ManualClock(start=DECEMBER_FIRST)
    settings = on_sqlite(tmp_path)
    source = await Network(settings, clock=clock).start()
    try:
        await seed(source)
    finally:
        await source.stop()
    url = await server.new_database()

    progress = CountingProgress()
    # Small batches: the outbox's edits (rows naming earlier rows) span several of them.
    report = await copy_community(settings.storage_path, url, progress, batch_rows=7)

    assert report.left_out == ()
    copied = {table.name: table for table in report.tables}
    assert {"member", "identity", "discussion", "reply", "outbox", "outbox_tally", "consolidated_reply",
            "event", "registration", "survey", "survey_question", "meta"} <= set(copied)
    assert not {"archive_search", "archive_search_headings", "schema_migrations"} & set(copied)
    assert all(table.source_rows == table.target_rows for table in report.tables)
    assert progress.rows == report.rows == sum(progress.tables.values())
    assert copied["member"].target_rows >= 4 and copied["consolidated_reply"].target_rows == 1
    assert copied["registration"].target_rows == 1 and copied["survey_question"].target_rows == 4
    # Row for row, column for column (SQLite's rowid too, where PostgreSQL keeps it).
    for table in report.tables:
        if table.name == "archive_search_stale":
            continue
        columns = ", ".join(f'"{column}"' if column != "rowid" else "rowid"
                            for column in await shared_columns(url, settings.storage_path, table.name))
        before = sorted(sqlite_rows(settings.storage_path, f'SELECT {columns} FROM "{table.name}"'), key=repr)
        after = sorted(await pg_rows(url, f'SELECT {columns} FROM "{table.name}"'), key=repr)
        assert after == before, table.name
    # The delivery tallies are the SQLite triggers' counts, not counted again on insert.
    assert copied["outbox_tally"].target_rows > 0
    # The archive is indexed again at the first search.
    assert report.reindexed == 1
    assert await pg_rows(url, "SELECT discussion_id FROM archive_search_stale") == [(1,)]

    target = await Network(replace(settings, storage_url=url), clock=clock).start()
    try:
        # A newcomer is the next member, after the copied ones.
        await target.member("d1", "Dan")
        [(highest,)] = sqlite_rows(settings.storage_path, "SELECT max(id) FROM member")
        assert await pg_rows(url, "SELECT m.id FROM member m JOIN identity i ON i.member_id = m.id"
                                  " WHERE i.user_id = 'd1'") == [(highest + 1,)]
        # The members are who they were: Amina's question is hers, her registration too.
        amina = target.person("a1", "Amina")
        await amina.says("/mydata")
        data = json.loads((await amina.receives("everything the network holds about you")).message.document.data)
        assert data["profile"]["name"] == "Amina" and data["profile"]["organization"] == "Save the Children"
        assert [question["text"] for question in data["questions"]] == [
            "How do cash transfers reach children in remote areas?"]
        # The archive is searched as before (its index built again from the replies).
        carla = target.person("c1", "Carla")
        await carla.says("/search mobile money")
        results = await carla.receives("What the network has discussed")
        assert "#1 How do cash transfers reach children" in results.text
        await carla.says("/read 1")
        assert "Community health workers" in (await carla.receives("The question")).text
    finally:
        await target.stop()


async def test_a_database_that_already_holds_rows_is_refused(tmp_path, server: Server):
    settings = on_sqlite(tmp_path)
    source = await Network(settings).start()
    try:
        await source.member("a1", "Amina")
    finally:
        await source.stop()
    url = await server.new_database()
    await copy_community(settings.storage_path, url)
    copied = await rows_in_every_table(url)

    with pytest.raises(CopyRefused, match=r"is not empty \(.*member.*\): migrate-storage copies into an empty"):
        await copy_community(settings.storage_path, url)
    assert await rows_in_every_table(url) == copied


async def test_a_copy_that_fails_half_way_leaves_the_target_empty(tmp_path, server: Server):
    settings = on_sqlite(tmp_path)
    source = await Network(settings).start()
    try:
        await source.member("a1", "Amina")
        await source.member("b1", "Bola")
    finally:
        await source.stop()
    # A row SQLite let in with its foreign keys off (an old tool, a hand edit): a reply to a
    # discussion that is not there. It comes late in the copy, after the members.
    with sqlite3.connect(settings.storage_path) as connection:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute("INSERT INTO reply (discussion_id, member_id, text, created_at) VALUES (99, 1, 'Hi', 1.0)")
    url = await server.new_database()
    as_migrated = await rows_in_every_table(url)
    assert as_migrated["member"] == as_migrated["reply"] == 0

    with pytest.raises(CopyFailed, match=r"reply.*discussion.*nothing was copied"):
        await copy_community(settings.storage_path, url, batch_rows=1)
    assert await rows_in_every_table(url) == as_migrated

    # A value SQLite kept that PostgreSQL's column cannot hold fails the same way.
    with sqlite3.connect(settings.storage_path) as connection:
        connection.execute("DELETE FROM reply")
        connection.execute("UPDATE member SET digest_hour = 'eight' WHERE id = 2")
    with pytest.raises(CopyFailed, match=r"member.digest_hour: 'eight' cannot be stored as bigint"):
        await copy_community(settings.storage_path, url)
    assert await rows_in_every_table(url) == as_migrated


class WriterDuringTheCopy:
    """A progress that, as the copy starts, writes to the SQLite file as a running bot would
    (WAL lets it): a member who joins while the copy runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wrote = False

    def table(self, name: str, rows: int) -> None:
        if not self.wrote:
            with sqlite3.connect(self.path) as connection:
                connection.execute("INSERT INTO member (name, joined_at) VALUES ('Zanele', 1.0)")
            self.wrote = True

    def copied(self, rows: int) -> None:
        return None


async def test_the_copy_is_one_snapshot_while_the_bot_goes_on_writing(tmp_path, server: Server):
    settings = on_sqlite(tmp_path)
    source = await Network(settings).start()
    try:
        await source.member("a1", "Amina")
        url = await server.new_database()
        writer = WriterDuringTheCopy(settings.storage_path)
        report = await copy_community(settings.storage_path, url, writer, batch_rows=1)
    finally:
        await source.stop()
    assert writer.wrote
    # The copy is the file as it was when the copy began, whole: the newcomer is not in it.
    names = await pg_rows(url, "SELECT name FROM member ORDER BY id")
    assert [name for (name,) in names] == [name for (name,) in sqlite_rows(
        settings.storage_path, "SELECT name FROM member WHERE name != 'Zanele' ORDER BY id")]
    assert ("Zanele",) in sqlite_rows(settings.storage_path, "SELECT name FROM member")
    assert all(table.source_rows == table.target_rows for table in report.tables)


def migrate_storage(*arguments: str, environment: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "migrate-storage", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **(environment or {})})


async def test_the_command_copies_says_what_it_copied_and_refuses_a_second_time(tmp_path, server: Server):
    settings = on_sqlite(tmp_path)
    source = await Network(settings).start()
    try:
        await source.member("a1", "Amina", "Save the Children", "Nigeria")
        await source.member("b1", "Bola")
    finally:
        await source.stop()
    url = await server.new_database()

    done = await asyncio.to_thread(migrate_storage, "--from", f"sqlite:{settings.storage_path}",
                                   "--to", "env:TARGET_DATABASE", environment={"TARGET_DATABASE": url})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["table", "SQLite", "PostgreSQL"]
    [(members,)] = sqlite_rows(settings.storage_path, "SELECT count(*) FROM member")  # with the facilitators
    assert any(line.split() == ["member", str(members), str(members)] for line in lines)
    assert "Copied" in done.stdout and "Traceback" not in done.stderr
    assert await pg_rows(url, "SELECT name FROM member ORDER BY id") == sqlite_rows(
        settings.storage_path, "SELECT name FROM member ORDER BY id")

    again = await asyncio.to_thread(migrate_storage, "--from", f"sqlite:{settings.storage_path}", "--to", url)
    assert again.returncode == 2
    [line] = again.stderr.strip().splitlines()
    assert line.startswith("facilitator: ") and "is not empty" in line

    unset = await asyncio.to_thread(migrate_storage, "--from", f"sqlite:{settings.storage_path}",
                                    "--to", "env:NOT_SET_ANYWHERE")
    assert unset.returncode == 2
    assert unset.stderr.strip() == "facilitator: --to: environment variable NOT_SET_ANYWHERE is not set"
    missing = await asyncio.to_thread(migrate_storage, "--from", f"sqlite:{tmp_path / 'none.db'}", "--to", url)
    assert missing.returncode == 2 and "no SQLite database at" in missing.stderr
    assert not (tmp_path / "none.db").exists()
