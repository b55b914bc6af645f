"""The monthly newsletter: a facilitator drafts it from what the month published, previews it,
writes an introduction, sends it to every member in one tap; it is exported as an HTML page
with the archive, every member's word escaped."""

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bot.cli import _write_export
from bot.config import LimitSettings
from bot.services.archive import ArchivedReply
from tests.clock import ManualClock
from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows


def at(day: int, month: int = 11) -> float:
    return datetime(2026, month, day, 12, 0, tzinfo=timezone.utc).timestamp()


def rows(network, sql):
    return backend_rows(network.settings.storage_path, sql)


@pytest.fixture
async def manual(tmp_path):
    clock = ManualClock(start=at(20))
    network = await Network(replace(settings_for(tmp_path), limits=LimitSettings(burst=200)), clock=clock).start()
    yield network, clock
    await network.stop()


async def seed(network, asker_id: int) -> None:
    """A consolidated reply published in November and one in October; a good practice
    approved in November, one still waiting; an event past in November, one coming; news."""
    app = network.app
    async with app.database.transaction() as connection:
        for number, day, month in ((1, 10, 11), (2, 15, 10)):
            await connection.execute(
                "INSERT INTO discussion (id, asker_id, text, state, created_at) VALUES (?, ?, 'q', 'published', ?)",
                (number, asker_id, at(day, month)))
        for title, state, day in (("Mobile money for <script>alert(1)</script> families", "approved", 12),
                                  ("Waiting practice", "submitted", 13)):
            await connection.execute(
                "INSERT INTO practice (title, summary, status, state, created_at, updated_at)"
                " VALUES (?, 'Paid monthly through agents & banks.', 'ongoing', ?, ?, ?)",
                (title, state, at(day - 1), at(day)))
        for title, day, month in (("Webinar on cash plus care", 5, 11), ("Birth registration clinic", 3, 12)):
            await connection.execute(
                "INSERT INTO event (title, description, starts_at, time_zone, duration, language, created_at)"
                " VALUES (?, 'An hour with practitioners.', ?, 'UTC', 3600, 'en', ?)", (title, at(day, month), at(1)))
        # News and briefs (the news feature's table): an approved publication goes in, an alert does not.
        for kind, title in (("publication", "New report on child poverty"), ("alert", "Flood alert")):
            await connection.execute(
                "INSERT INTO news (kind, title, text, state, created_at, decided_at)"
                " VALUES (?, ?, 'Read it online.', 'approved', ?, ?)", (kind, title, at(13), at(14)))
    await app.archive.add(ArchivedReply(1, "Indexing child benefits to inflation", "How?",
                                        "Automatic indexation protects the value of benefits.", "Bola: CPI.", "en",
                                        at(10)))
    await app.archive.add(ArchivedReply(2, "An October reply", "How?", "Old news.", "", "en", at(15, 10)))


async def test_a_newsletter_is_previewed_given_an_intro_sent_in_one_tap_and_exported(manual, tmp_path):
    network, _ = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("m1", "Amina")
    bola = await network.member("m2", "Bola")
    [(amina_id,)] = rows(network, "SELECT member_id FROM identity WHERE user_id = 'm1'")
    await seed(network, amina_id)

    # A member may not; a month that has not begun is refused with a clear word.
    await amina.says("/newsletter")
    await amina.receives("Only facilitators")
    await fatou.says("/newsletter 2026-12")
    await fatou.receives("That month has not begun yet.")

    await fatou.says("/newsletter 2026-11")
    await fatou.receives("Here is the newsletter of November 2026")
    preview = await fatou.receives("Test Network: newsletter of November 2026")
    assert preview.labels() == ["Send", "Edit intro", "Cancel"]
    text = preview.text
    assert "Consolidated replies\n• Indexing child benefits to inflation: Automatic indexation" in text
    assert "Good practices\n• Mobile money for <script>alert(1)</script> families: Paid monthly" in text
    assert "Past events\n• Webinar on cash plus care (Nov 5, 2026, 12:00\u202fPM UTC)" in text
    assert "Coming events\n• Birth registration clinic" in text
    assert "News and briefs\n• New report on child poverty: Read it online." in text
    assert "An October reply" not in text and "Waiting practice" not in text and "Flood alert" not in text

    await fatou.presses("Edit intro", on=preview)
    await fatou.receives("Write the introduction of the newsletter")
    await fatou.says("Dear members, a busy month: <b>thank you</b> all.")
    edited = await fatou.receives("Test Network: newsletter of November 2026")
    assert edited.text.startswith("Test Network: newsletter of November 2026\n\nDear members, a busy month")

    await fatou.presses("Send", on=edited)
    sent = await fatou.receives("is on its way to")
    await network.app.waker.idle()
    for person in (amina, bola):
        received = await person.receives("Test Network: newsletter of November 2026")
        assert "Dear members, a busy month" in received.text and "Indexing child benefits" in received.text
    [(state, audience)] = rows(network, "SELECT state, audience FROM newsletter WHERE month = '2026-11'")
    assert state == "sent" and f"to {audience} members" in sent.text and audience == 4  # f1, f2, m1, m2
    assert rows(network, "SELECT action, detail FROM audit WHERE action = 'newsletter'") == [
        ("newsletter", "2026-11 #1")]

    # Sent once: its buttons are gone, and neither the first preview's button nor a new draft sends it again.
    assert edited.labels() == []
    answer = await fatou.presses("Send", on=preview)
    assert answer.refused and answer.notice == "This newsletter was already sent."
    await fatou.says("/newsletter 2026-11")
    await fatou.receives("The newsletter of 2026-11 was already sent.")
    assert rows(network, "SELECT count(*) FROM newsletter WHERE state = 'sent'") == [(1,)]

    out = tmp_path / "site"
    assert await _write_export(network.settings, "html", out) == 0
    page = (out / "newsletter-2026-11.html").read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;thank you&lt;/b&gt;" in page and "agents &amp; banks" in page
    assert "<h2>Consolidated replies</h2>" in page and "Indexing child benefits to inflation" in page
    assert "index.html" in [path.name for path in out.iterdir()]


async def test_a_cancelled_draft_sends_nothing(manual):
    network, _ = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("m1", "Amina")
    await fatou.says("/newsletter")
    preview = await fatou.receives("Test Network: newsletter of November 2026")
    assert "Nothing was published this month." in preview.text
    await fatou.presses("Cancel", on=preview)
    await fatou.receives("The newsletter draft is cancelled")
    assert preview.labels() == []
    assert rows(network, "SELECT state FROM newsletter") == [("cancelled",)]
    assert not [text for text in amina.texts() if "newsletter of" in text]
