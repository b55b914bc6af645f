"""A large network on one machine: a broadcast is planned with the decision and its rows are
written after it in short batches (its message stored once), nothing goes out for a decision
rolled back, a plan interrupted by a stop is finished after the next start, progress is
counted as rows change, and members are imported a batch at a time."""


import pytest

from bot.domain.discussions import Discussion
from bot.services.importing import ImportRow, import_members
from storage.member_import import SqliteMemberImport
from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows

MEMBERS = 40
AUDIENCE = MEMBERS + 1  # and the other facilitator of the configuration, f2


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


def imported(count: int, start: int = 0, country: str = "Ghana") -> list[ImportRow]:
    return [ImportRow(line=n + 2, name=f"Member {n}", organization="", country=country, topics=(), language="en",
                      platform="memory", platform_id=f"m{n}") for n in range(start, start + count)]


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


async def a_question(network: Network) -> tuple[Discussion, int]:
    """A submitted question, and the facilitator who approves it; MEMBERS members imported."""
    fatou = await network.member("f1", "Fatou")
    await import_members(imported(MEMBERS), SqliteMemberImport(network.app.database), 0.0)
    app = network.app
    [(facilitator_id,)] = rows(network, "SELECT member_id FROM identity WHERE user_id = 'f1'")
    async with app.database.transaction():
        discussion = await app.discussions.create(facilitator_id, "How do cash transfers reach remote areas?", "en",
                                                  False, 0.0)
    assert fatou is not None
    return discussion, facilitator_id


async def approve(network: Network, discussion: Discussion, by: int) -> int:
    app = network.app
    async with app.database.transaction():
        approved = discussion.approve(by, 1.0, 86400.0)
        await app.discussions.save(approved, discussion.version)
        asker = await app.members.get(discussion.asker_id)
        return await app.broadcast.share(approved, asker)


async def test_a_broadcast_is_written_in_batches_after_the_decision_with_its_message_stored_once(network):
    discussion, facilitator = await a_question(network)
    network.app.waker.batch = 7  # members per transaction, small enough to take several
    audience = await approve(network, discussion, facilitator)
    assert audience == AUDIENCE  # neither the asker nor the approver (the same person here)
    # Planned with the decision: not one row yet.
    assert rows(network, "SELECT count(*) FROM outbox WHERE purpose = 'broadcast'") == [(0,)]
    assert rows(network, "SELECT planned, written, done_at IS NULL FROM broadcast_plan") == [(AUDIENCE, 0, 1)]
    network.app.waker.wake()
    await network.app.waker.idle()
    assert rows(network, "SELECT planned, written, done_at IS NOT NULL FROM broadcast_plan") == [
        (AUDIENCE, AUDIENCE, 1)]
    assert rows(network, "SELECT count(*), count(DISTINCT user_id), count(DISTINCT body_id), max(length(body))"
                         " FROM outbox WHERE purpose = 'broadcast'") == [(AUDIENCE, AUDIENCE, 1, 0)]
    assert rows(network, "SELECT count(*) FROM outbox_body") == [(1,)]
    # Every member receives it, in full.
    last = network.person(f"m{MEMBERS - 1}")
    assert "How do cash transfers reach remote areas?" in (await last.receives("Question #1")).text


async def test_nothing_is_written_for_a_decision_rolled_back(network):
    discussion, facilitator = await a_question(network)
    with pytest.raises(RuntimeError):
        async with network.app.database.transaction():
            approved = discussion.approve(facilitator, 1.0, 86400.0)
            await network.app.discussions.save(approved, discussion.version)
            await network.app.broadcast.share(approved, await network.app.members.get(facilitator))
            raise RuntimeError("the use case failed after sharing")
    network.app.waker.wake()
    await network.app.waker.idle()
    assert rows(network, "SELECT count(*) FROM broadcast_plan") == [(0,)]
    assert rows(network, "SELECT count(*) FROM outbox WHERE purpose = 'broadcast'") == [(0,)]
    assert rows(network, "SELECT state FROM discussion") == [("submitted",)]


async def test_a_plan_left_by_a_stop_is_written_after_the_next_start_once(network):
    discussion, facilitator = await a_question(network)
    await approve(network, discussion, facilitator)  # planned; stopped before any batch is written
    await network.restart()
    await network.app.waker.idle()
    assert rows(network, "SELECT count(*), count(DISTINCT user_id) FROM outbox WHERE purpose = 'broadcast'") == [
        (AUDIENCE, AUDIENCE)]
    await network.restart()  # a finished plan is not written again
    await network.app.waker.idle()
    assert rows(network, "SELECT count(*) FROM outbox WHERE purpose = 'broadcast'") == [(AUDIENCE,)]


async def test_progress_is_counted_as_rows_change_and_agrees_with_the_rows(network):
    discussion, facilitator = await a_question(network)
    await approve(network, discussion, facilitator)
    network.app.waker.wake()
    await network.app.waker.idle()
    await network.person(f"m{MEMBERS - 1}").receives("Question #1")
    # Some fail, one waits for its person, one is confirmed by the platform: the counts follow.
    async with network.app.database.transaction() as connection:
        await connection.execute("UPDATE outbox SET state = 'failed', reason = 'blocked' WHERE user_id IN ('m1', 'm2')")
        await connection.execute("UPDATE outbox SET state = 'queued', not_before = 1e18 WHERE user_id = 'm3'")
        await connection.execute("UPDATE outbox SET delivered_at = 5, read_at = 6 WHERE user_id = 'm4'")
        await connection.execute("DELETE FROM outbox WHERE user_id = 'm5' AND purpose = 'broadcast'")
    counts = await network.app.waker.outbox.counts(discussion.id, "broadcast")
    scanned = dict(rows(network, "SELECT CASE WHEN state = 'failed' THEN 'failed:' || reason"
                                 " WHEN state = 'queued' AND not_before >= 1e18 THEN 'waiting' ELSE state END, count(*)"
                                 " FROM outbox WHERE discussion_id = 1 AND purpose = 'broadcast' AND edit_of IS NULL"
                                 " GROUP BY 1"))
    assert {key: n for key, n in counts.items() if n} == scanned
    assert scanned == {"sent": AUDIENCE - 4, "failed:blocked": 2, "waiting": 1}
    assert await network.app.waker.outbox.confirmations(discussion.id, "broadcast") == (1, 1)


async def test_members_are_imported_a_batch_at_a_time_and_again_changes_nothing(network):
    members = SqliteMemberImport(network.app.database)
    first = await import_members(imported(2500), members, 0.0)
    assert (first.imported, first.updated, first.unchanged) == (2500, 0, 0)
    again = await import_members(imported(2500), members, 0.0)
    assert (again.imported, again.updated, again.unchanged) == (0, 0, 2500)
    moved = await import_members(imported(10, country="Kenya") + imported(5, start=2500), members, 0.0)
    assert (moved.imported, moved.updated, moved.unchanged) == (5, 10, 0)
    assert rows(network, "SELECT count(*) FROM member m JOIN identity i ON i.member_id = m.id"
                         " WHERE i.platform = 'memory' AND i.user_id LIKE 'm%'") == [(2505,)]
    assert rows(network, "SELECT country, count(*) FROM member WHERE name LIKE 'Member %' GROUP BY country") == [
        ("Ghana", 2495), ("Kenya", 10)]
    # Each identity belongs to the member of its own line.
    assert rows(network, "SELECT count(*) FROM member m JOIN identity i ON i.member_id = m.id"
                         " WHERE i.user_id LIKE 'm%' AND m.name != 'Member ' || substr(i.user_id, 2)") == [(0,)]
