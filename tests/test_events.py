"""Events: a facilitator creates one in a short conversation; members register in one tap and
get a calendar file; reminders a day and an hour before, each in the member's own time zone,
once, across a restart; a waiting list that moves; attendance and the recording afterwards."""

from dataclasses import replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.domain.events import Event, Reminder, parse_duration, parse_start, parse_where
from bot.config import LimitSettings
from bot.domain.refusal import Refusal
from tests.clock import ManualClock
from tests.fakes.telegram_api import FakeTelegram
from tests.network import Network, settings_for
from tests.telegram_network import FACILITATOR_ID, join, start_app, telegram_settings
from tests.storage_backend import rows as backend_rows

NAIROBI = ZoneInfo("Africa/Nairobi")
HOUR, DAY = 3600.0, 86400.0
# 15 December 2026, 14:00 in Nairobi = 11:00 UTC = 06:00 in Lima.
START = datetime(2026, 12, 15, 14, 0, tzinfo=NAIROBI).timestamp()


def rows(network, sql):
    return backend_rows(network.settings.storage_path, sql)


def typing_fast(tmp_path):
    """Settings for a facilitator who answers a form faster than any person could: the flood
    rule would slow them down, which is not what these tests are about."""
    return replace(settings_for(tmp_path), limits=LimitSettings(burst=200))


def registrations(network, column="state"):
    return rows(network, f"SELECT i.user_id, r.{column} FROM registration r JOIN identity i ON i.member_id = r.member_id"
                         " ORDER BY i.user_id")


@pytest.fixture
async def manual(tmp_path):
    clock = ManualClock(start=datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc).timestamp())
    network = await Network(typing_fast(tmp_path), clock=clock).start()
    yield network, clock
    await network.stop()


async def create_event(fatou, title="Cash transfers and child poverty", capacity="Skip",
                       where="https://meet.example.org/cash", start="2026-12-15 14:00 Africa/Nairobi"):
    await fatou.says("/event")
    await fatou.receives("What is the event's title?")
    await fatou.says(title)
    await fatou.receives("Describe the event")
    await fatou.says("What the evidence says about cash transfers for families with children.")
    await fatou.receives("Who are the speakers?")
    await fatou.says("Dr Amina Diallo (UNICEF)")
    await fatou.receives("When does it start?")
    await fatou.says(start)
    await fatou.receives("How long does it last?")
    await fatou.says("90m")
    await fatou.receives("Where do people join?")
    await fatou.says(where)
    await fatou.receives("How many places")
    if capacity == "Skip":
        await fatou.presses("Skip")
    else:
        await fatou.says(capacity)
    await fatou.presses("English", on=await fatou.receives("In which language is the event?"))
    preview = await fatou.receives("as members will see it")
    assert title in preview.text and preview.labels() == ["Publish", "Cancel"]
    await fatou.presses("Publish", on=preview)
    await fatou.receives("is published and was sent to")


def test_the_start_is_read_in_its_time_zone_with_clear_errors():
    assert parse_start("2026-12-15 14:00 Africa/Nairobi") == (START, "Africa/Nairobi")
    assert isinstance(parse_start("15/12/2026 14:00"), Refusal)
    unknown = parse_start("2026-12-15 14:00 Mars/Olympus")
    assert isinstance(unknown, Refusal) and unknown.params == {"zone": "Mars/Olympus"}
    assert isinstance(parse_start("2026-02-30 14:00 UTC"), Refusal)
    assert parse_duration("90m") == 5400 and parse_duration("1h30m") == 5400 and parse_duration("2h") == 7200
    assert isinstance(parse_duration("soon"), Refusal) and isinstance(parse_duration("0m"), Refusal)
    assert parse_where("https://meet.example.org/x") == ("https://meet.example.org/x", "")
    assert parse_where("UNICEF office, Nairobi") == ("", "UNICEF office, Nairobi")
    assert isinstance(parse_where("ftp://files.example.org"), Refusal)


def test_which_reminder_is_due_when():
    event = Event(1, "Webinar", START, "Africa/Nairobi", 5400, "en", created_at=START - 10 * DAY)
    assert event.reminder_due(START - DAY - 60) is None
    assert event.reminder_due(START - DAY) is Reminder.DAY
    assert event.reminder_due(START - HOUR) is Reminder.HOUR  # the day one was missed: only the hour one
    assert event.reminder_due(START) is None
    late = Event(2, "Webinar", START, "UTC", 5400, "en", created_at=START - 5 * HOUR)
    assert late.reminder_due(START - 2 * HOUR) is None and late.reminder_due(START - HOUR) is Reminder.HOUR


async def test_a_facilitator_creates_an_event_and_members_register_with_a_calendar_file(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    carla = await network.member("c1", "Carla")
    await amina.says("/timezone Africa/Nairobi")
    await amina.receives("Saved")
    await carla.says("/timezone America/Lima")
    await carla.receives("Saved")

    await create_event(fatou)
    announced = await amina.receives("Cash transfers and child poverty")
    assert "Starts: Dec 15, 2026, 2:00\u202fPM (Africa/Nairobi)" in announced.text
    assert "Speakers: Dr Amina Diallo (UNICEF)" in announced.text and "Duration: 90 minutes" in announced.text
    assert announced.labels() == ["Register"]
    in_lima = await carla.receives("Cash transfers and child poverty")
    assert "Starts: Dec 15, 2026, 6:00\u202fAM (America/Lima)" in in_lima.text
    assert not any("Register" in m.labels() for m in fatou.messages)  # the author gets the card instead
    await fatou.receives("Registered: 0")

    answer = await amina.presses("Register", on=announced)
    assert answer.notice == "Registered"
    confirmation = await amina.receives("You are registered for")
    document = confirmation.message.document
    assert document is not None and document.content_type == "text/calendar" and document.filename == "event-1.ics"
    calendar = icalendar.Calendar.from_ical(document.data)
    [entry] = calendar.walk("VEVENT")
    assert entry.decoded("dtstart") == datetime(2026, 12, 15, 11, 0, tzinfo=timezone.utc)
    assert entry.decoded("dtend") == datetime(2026, 12, 15, 12, 30, tzinfo=timezone.utc)
    assert str(entry["summary"]) == "Cash transfers and child poverty"
    assert str(entry["url"]) == "https://meet.example.org/cash"
    assert "Join here: https://meet.example.org/cash" in confirmation.text
    assert confirmation.labels() == ["Cancel registration"]

    again = await amina.presses("Register", on=announced)
    assert again.notice == "Already registered"
    await amina.receives("You are already registered")
    assert registrations(network) == [("a1", "registered")]

    await carla.says("/events")
    listing = await carla.receives("Coming events")
    assert "#1 Cash transfers and child poverty" in listing.text and "Dec 15, 2026, 6:00\u202fAM (America/Lima)" in listing.text
    assert listing.labels() == ["Register #1"]
    await carla.presses("Register #1", on=listing)
    await carla.receives("You are registered for")
    await carla.says("/events")
    assert (await carla.receives("Coming events")).labels() == ["Cancel #1"]


async def test_bad_answers_in_the_form_are_explained_and_asked_again(tmp_path):
    network = Network(typing_fast(tmp_path), clock=ManualClock(start=datetime(2026, 12, 1, tzinfo=timezone.utc).timestamp()))
    await network.start()
    try:
        await _bad_answers(network)
    finally:
        await network.stop()


async def _bad_answers(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await amina.says("/event")
    await amina.receives("Only facilitators can do that")
    await fatou.says("/event")
    await fatou.receives("What is the event's title?")
    await fatou.says("Child benefits")
    await fatou.presses("Skip", on=await fatou.receives("Describe the event"))
    await fatou.presses("Skip", on=await fatou.receives("Who are the speakers?"))
    await fatou.receives("When does it start?")
    await fatou.says("next Tuesday at 3")
    await fatou.receives("for example: 2026-12-15 14:00 Africa/Nairobi")
    await fatou.says("2026-12-15 14:00 Africa/Atlantis")
    await fatou.receives("I do not know the time zone Africa/Atlantis")
    await fatou.says("2020-12-15 14:00 UTC")
    await fatou.receives("That moment has passed")
    await fatou.says("2026-12-15 14:00 UTC")
    await fatou.receives("How long does it last?")
    await fatou.says("a while")
    await fatou.receives("like 90m, 2h or 1h30m")
    await fatou.says("2h")
    await fatou.receives("Where do people join?")
    await fatou.says("ftp://example.org")
    await fatou.receives("That link does not look right")
    await fatou.says("Hotel Kenya, Nairobi")
    await fatou.receives("How many places")
    await fatou.says("lots")
    await fatou.receives("Please send the number of places")
    await fatou.says("40")
    await fatou.presses("English", on=await fatou.receives("In which language"))
    await fatou.presses("Cancel", on=await fatou.receives("as members will see it"))
    await fatou.receives("Cancelled: nothing was sent.")
    assert rows(network, "SELECT count(*) FROM event") == [(0,)]
    assert not any("Child benefits" in text for text in amina.texts())


async def test_reminders_in_each_time_zone_are_sent_once_across_a_restart(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    carla = await network.member("c1", "Carla")
    bola = await network.member("b1", "Bola")
    await amina.says("/timezone Africa/Nairobi")
    await carla.says("/timezone America/Lima")
    await create_event(fatou)
    for person in (amina, carla):
        await person.presses("Register", on=await person.receives("Cash transfers"))
        await person.receives("You are registered")
    await bola.receives("Cash transfers")  # not registered: no reminders

    clock.advance(START - DAY - 60 - clock.now())
    assert await network.app.events.send_due() == 0
    clock.advance(90)  # a day before
    await network.restart()  # the job that runs at start sends what is due
    day = await amina.receives("is tomorrow")
    assert "Reminder: “Cash transfers and child poverty” is tomorrow, Dec 15, 2026, 2:00\u202fPM (Africa/Nairobi)." in day.text
    assert day.labels() == ["Cancel registration"]
    assert "Dec 15, 2026, 6:00\u202fAM (America/Lima)" in (await carla.receives("is tomorrow")).text
    assert await network.app.events.send_due() == 0
    await network.restart()

    clock.advance(DAY - HOUR)  # an hour before
    await network.restart()
    hour = await carla.receives("starts in one hour")
    assert "6:00\u202fAM (America/Lima)" in hour.text and "https://meet.example.org/cash" in hour.text
    assert "2:00\u202fPM (Africa/Nairobi)" in (await amina.receives("starts in one hour")).text
    await network.restart()
    assert await network.app.events.send_due() == 0
    assert rows(network, "SELECT user_id, count(*) FROM outbox WHERE purpose = 'reminder' GROUP BY user_id") == [
        ("a1", 2), ("c1", 2)]
    assert not any("starts in one hour" in text for text in bola.texts())


async def test_a_full_event_keeps_a_waiting_list_that_moves_when_someone_cancels(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    carla = await network.member("c1", "Carla")
    await create_event(fatou, title="Small workshop", capacity="1", where="UNICEF office, Nairobi")
    await amina.presses("Register", on=await amina.receives("Small workshop"))
    confirmation = await amina.receives("You are registered")
    assert "Place: UNICEF office, Nairobi" in confirmation.text
    await bola.presses("Register", on=await bola.receives("Small workshop"))
    assert "you are number 1 on the waiting list" in (await bola.receives("is full")).text
    await carla.presses("Register", on=await carla.receives("Small workshop"))
    assert "you are number 2 on the waiting list" in (await carla.receives("is full")).text
    await carla.says("/events")
    assert "0 places left" in (listing := await carla.receives("Coming events")).text or "no places left" in listing.text

    await amina.presses("Cancel registration", on=confirmation)
    await amina.receives("Your registration for “Small workshop” is cancelled")
    promoted = await bola.receives("Good news: a place opened")
    assert promoted.message.document is not None and promoted.message.document.filename == "event-1.ics"
    assert registrations(network) == [("a1", "cancelled"), ("b1", "registered"), ("c1", "waiting")]
    await carla.says("/events")
    assert "waiting list: number 1" in (await carla.receives("Coming events")).text


async def test_after_the_event_attendance_is_asked_and_the_recording_sent(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await create_event(fatou)
    for person in (amina, bola):
        await person.presses("Register", on=await person.receives("Cash transfers"))
        await person.receives("You are registered")
    clock.advance(START + 2 * HOUR - clock.now())
    await network.app.events.send_due()
    asked = await amina.receives("Did you attend?")
    assert asked.labels() == ["Yes", "No"]
    assert (await amina.presses("Yes", on=asked)).notice == "Thank you!"
    await bola.presses("No", on=await bola.receives("Did you attend?"))
    await network.app.events.send_due()
    assert registrations(network, "attended") == [("a1", 1), ("b1", 0)]

    await fatou.says("/recording 1 not-a-link")
    await fatou.receives("That link does not look right")
    await fatou.says("/recording 1 https://video.example.org/cash")
    await fatou.receives("Saved, and sent to 2 registrants")
    assert "https://video.example.org/cash" in (await bola.receives("The recording of")).text
    await fatou.says("/event 1")
    card = await fatou.receives("Event #1")
    assert "Attended: 1 yes, 1 no" in card.text and "Recording: https://video.example.org/cash" in card.text
    await network.restart()
    assert rows(network, "SELECT count(*) FROM outbox WHERE body LIKE '%Did you attend%'") == [(2,)]


async def test_on_telegram_a_member_registers_in_one_tap_and_gets_the_calendar_file(tmp_path):
    async with FakeTelegram() as api:
        settings = replace(telegram_settings(tmp_path, api), limits=LimitSettings(burst=200))
        app = await start_app(settings)
        try:
            fatou, amina = api.user(FACILITATOR_ID, "Fatou"), api.user(501, "Amina")
            await join(fatou, "Fatou")
            await join(amina, "Amina")
            await amina.send("/timezone America/Lima")
            await amina.receives("Saved")
            await fatou.send("/event")
            for question, answer in (("title?", "Budgeting for children"), ("Describe the event", "Skip"),
                                     ("Who are the speakers?", "Skip"),
                                     ("When does it start?", "2030-03-10 16:00 Africa/Nairobi"),
                                     ("How long does it last?", "1h"),
                                     ("Where do people join?", "https://meet.example.org/budget"),
                                     ("How many places", "Skip"), ("In which language", "English")):
                asked = await fatou.receives(question)
                await (fatou.press(answer, on=asked) if answer in asked.labels() else fatou.send(answer))
            await fatou.press("Publish", on=await fatou.receives("as members will see it"))
            announced = await amina.receives("Budgeting for children")
            assert "Starts: Mar 10, 2030, 8:00\u202fAM (America/Lima)" in announced.text
            await amina.press("Register", on=announced)
            confirmation = await amina.sees(lambda m: m.document is not None)
            assert confirmation.document["filename"] == "event-1.ics"
            assert "You are registered for “Budgeting for children”" in confirmation.text
            [entry] = icalendar.Calendar.from_ical(confirmation.document["data"]).walk("VEVENT")
            assert entry.decoded("dtstart") == datetime(2030, 3, 10, 13, 0, tzinfo=timezone.utc)
            assert str(entry["url"]) == "https://meet.example.org/budget"
            await amina.send("/events")
            assert (await amina.receives("Coming events")).labels() == ["Cancel #1"]
        finally:
            await app.stop()


async def test_a_digest_reminds_its_reader_of_the_events_coming_in_their_time_zone(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou")
    carla = await network.member("c1", "Carla")
    await carla.says("/timezone America/Lima")
    await carla.receives("Saved")
    await carla.says("/digest daily 8")
    await carla.receives("a daily digest at 08:00 (America/Lima)")
    await create_event(fatou)
    await carla.receives("Cash transfers and child poverty")  # the announcement itself reaches everyone
    clock.advance(24 * 3600)  # the next morning in Lima
    await network.app.digests.send_due()
    digest = await carla.receives("Your daily digest")
    assert "Coming events" in digest.text and "/events" in digest.text
    assert "• Cash transfers and child poverty: Dec 15, 2026, 6:00\u202fAM (America/Lima)" in digest.text
    clock.advance(24 * 3600)  # once: the next day's digest has nothing new to say
    await network.app.digests.send_due()
    assert sum("Your daily digest" in text for text in carla.texts()) == 1
