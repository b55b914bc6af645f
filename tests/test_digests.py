"""Daily and weekly digests: at the member's hour in their time zone, once, with a Reply
button per new question; a digest missed while the bot was down is sent once at start."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.domain.members import DeliveryPreference, Member
from bot.services.digests import last_due
from tests.clock import ManualClock
from tests.network import Network, settings_for
from tests.test_flow import ask
from tests.storage_backend import rows as backend_rows

NAIROBI = ZoneInfo("Africa/Nairobi")


def at(year, month, day, hour, minute=0, zone=NAIROBI) -> float:
    return datetime(year, month, day, hour, minute, tzinfo=zone).timestamp()


def test_the_last_due_time_follows_the_members_hour_and_zone():
    daily = Member(1, delivery=DeliveryPreference.DAILY, digest_hour=8, timezone="Africa/Nairobi")
    assert last_due(daily, at(2026, 11, 24, 9)) == at(2026, 11, 24, 8)
    assert last_due(daily, at(2026, 11, 24, 7, 59)) == at(2026, 11, 23, 8)
    weekly = Member(1, delivery=DeliveryPreference.WEEKLY, digest_hour=8, timezone="Africa/Nairobi")
    assert last_due(weekly, at(2026, 11, 26, 12)) == at(2026, 11, 23, 8)  # Monday 23 November


@pytest.fixture
async def network(tmp_path):
    clock = ManualClock(start=at(2026, 11, 23, 10))
    network = await Network(settings_for(tmp_path), clock=clock).start()
    yield network, clock
    await network.stop()


def rows(network, sql):
    return backend_rows(network.settings.storage_path, sql)


async def test_a_daily_reader_gets_one_digest_with_reply_buttons_instead_of_each_question(network):
    network, clock = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    carla = await network.member("c1", "Carla")
    await bola.says("/timezone Africa/Nairobi")
    await bola.receives("Saved")
    await bola.says("/digest daily 8")
    await bola.receives("a daily digest at 08:00 (Africa/Nairobi)")
    clock.advance(60)
    await ask(network, amina, "Which registries help find children out of school?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await carla.receives("Which registries help find children")
    assert not any("Which registries" in text for text in bola.texts())

    clock.advance(22 * 3600)  # the next morning, 08:01 in Nairobi
    await network.app.digests.send_due()
    digest = await bola.receives("Your daily digest")
    assert "Which registries help find children out of school?" in digest.text
    assert digest.labels() == ["Reply to #1"]
    await network.app.digests.send_due()
    await network.restart()
    assert rows(network, "SELECT count(*) FROM outbox WHERE purpose = 'digest'") == [(1,)]
    await bola.presses("Reply to #1", on=digest)
    await bola.receives("Write your reply")


async def test_a_digest_missed_while_the_bot_was_down_is_sent_once_at_start(network):
    network, clock = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await bola.says("/digest weekly 9")
    await bola.receives("a weekly digest on Mondays")
    clock.advance(60)
    await ask(network, amina, "How do we budget for a universal child benefit?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await network.stop()
    clock.advance(9 * 86400)  # the bot was down over the next Monday
    await network.start()
    await bola.receives("Your weekly digest", timeout=10)
    await network.restart()
    assert rows(network, "SELECT count(*) FROM outbox WHERE purpose = 'digest'") == [(1,)]


async def test_an_unknown_time_zone_is_refused_with_an_example(network):
    network, clock = network
    bola = await network.member("b1", "Bola")
    await bola.says("/timezone Mars/Olympus")
    await bola.receives("I do not know the time zone Mars/Olympus")


async def test_replying_to_a_digest_with_the_platforms_reply_is_a_reply_to_the_question_chosen(network):
    network, clock = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await bola.says("/digest daily 8")
    await bola.receives("a daily digest")
    clock.advance(60)
    for question in ("Which registries help find children out of school?",
                     "How do we budget for a universal child benefit?"):
        await ask(network, amina, question)
        await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    clock.advance(24 * 3600)
    await network.app.digests.send_due()
    digest = await bola.receives("Your daily digest")
    assert digest.labels() == ["Reply to #1", "Reply to #2"]
    await bola.says("The school census, checked against birth registration.", reply_to=digest)
    which = await bola.receives("Which question is your reply for?")
    await bola.presses("Question #1", on=which)
    await bola.receives("Thank you! Your reply was sent")
    forwarded = await amina.receives("school census")
    assert "Reply to your question #1 from Bola" in forwarded.text
    assert rows(network, "SELECT discussion_id, text FROM reply") == [
        (1, "The school census, checked against birth registration.")]
