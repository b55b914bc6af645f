"""News, briefs and alerts: a member shares news with /share, a facilitator approves it in one
tap (or edits it, or rejects it with a reason), and it reaches the network with no Reply button,
or the digest of those who chose one; a facilitator's brief can be meant for one country; an
alert reaches a digest reader at once, marked as urgent."""

import json
from dataclasses import replace
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.config import LimitSettings
from tests.clock import ManualClock
from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows

NAIROBI = ZoneInfo("Africa/Nairobi")
TEXT = "Three days in Nairobi on budgeting for child benefits, for programme staff. Places are free."


@pytest.fixture
async def network(tmp_path):
    clock = ManualClock(start=datetime(2026, 11, 23, 10, tzinfo=NAIROBI).timestamp())
    settings = replace(settings_for(tmp_path), limits=LimitSettings(messages_per_second=100.0, burst=200))
    network = await Network(settings, clock=clock).start()
    yield network, clock
    await network.stop()


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


async def share(person, title: str = "Workshop on child benefits", link: str = "https://example.org/w"):
    await person.says("/share")
    kinds = await person.receives("What kind of news")
    assert kinds.labels() == ["Workshop", "Publication", "Job", "Resource", "News", "Cancel"]
    await person.presses("Workshop", on=kinds)
    await person.receives("What is the title")
    await person.says(title)
    await person.receives("in a few lines")
    await person.says(TEXT)
    await person.receives("A link")
    await (person.says(link) if link else person.presses("Skip"))
    preview = await person.receives("Here is how it will read")
    assert f"Workshop: {title}" in preview.text and TEXT in preview.text
    await person.presses("Submit", on=preview)
    return await person.receives("is with the facilitators")


async def test_shared_news_is_approved_in_one_tap_and_reaches_the_others_without_reply_or_in_the_digest(network):
    network, clock = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina", "Save the Children", "Kenya")
    bola = await network.member("b1", "Bola")
    carla = await network.member("c1", "Carla")
    await carla.says("/timezone Africa/Nairobi")
    await carla.receives("Saved")
    await carla.says("/digest daily 8")
    await carla.receives("a daily digest at 08:00")
    clock.advance(60)

    sent = await share(amina)
    assert "news #1" in sent.text
    card = await fatou.receives("News #1 is waiting for approval")
    assert "Amina (Save the Children, Kenya)" in card.text and "https://example.org/w" in card.text
    assert card.labels() == ["Approve", "Edit", "Reject"]
    await fatou.presses("Approve", on=card)
    await fatou.sees(lambda m: "News #1 was approved by Fatou" in m.text and not m.labels())
    await fatou.receives("News #1 was sent to")
    await network.app.waker.idle()
    news = await bola.receives("Workshop: Workshop on child benefits")
    assert TEXT in news.text and "https://example.org/w" in news.text and "Shared by Amina" in news.text
    assert news.labels() == []  # nothing is collected: no Reply
    told = await amina.receives("was approved")
    assert "“Workshop on child benefits”" in told.text
    assert not any("Workshop on child benefits" in text for text in carla.texts())

    clock.advance(22 * 3600)  # the next morning, 08:01 in Nairobi
    await network.app.digests.send_due()
    digest = await carla.receives("Your daily digest")
    assert "News and briefs" in digest.text and "Workshop: Workshop on child benefits" in digest.text
    assert sum("Workshop on child benefits" in text for text in carla.texts()) == 1
    assert rows(network, "SELECT action, actor_name, member_id FROM audit") == [("news-approve", "Fatou", 3)]
    assert rows(network, "SELECT kind, state, submitted_by, state_by, link FROM news") == [
        ("workshop", "approved", 3, 1, "https://example.org/w")]


async def test_a_facilitator_rejects_news_with_a_reason_and_the_member_is_told(network):
    network, _ = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await share(amina, link="")
    card = await fatou.receives("News #1 is waiting for approval")
    await fatou.presses("Reject", on=card)
    asked = await fatou.receives("Why is news #1 not approved")
    assert asked.labels() == ["Reject without a reason"]
    await fatou.says("It is an advertisement for a paid course.")
    await fatou.receives("News #1 was rejected; the member who shared it has been told")
    told = await amina.receives("was not approved")
    assert "It is an advertisement for a paid course." in told.text
    await fatou.sees(lambda m: "News #1 was rejected by Fatou: It is an advertisement" in m.text and not m.labels())
    assert not any("Workshop on child benefits" in text for text in bola.texts())
    assert rows(network, "SELECT state, reason, link FROM news") == [
        ("rejected", "It is an advertisement for a paid course.", "")]
    assert rows(network, "SELECT action FROM audit") == [("news-reject",)]


async def test_a_facilitator_edits_news_before_approving_it(network):
    network, _ = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await share(amina)
    await fatou.presses("Edit", on=await fatou.receives("News #1 is waiting for approval"))
    await fatou.receives("Send the new text of news #1")
    await fatou.says("x" * 1600)
    await fatou.receives("at most 1500 characters")
    await fatou.says("Three days in Nairobi on child benefits. Free places for programme staff.")
    await fatou.receives("News #1 now reads as you wrote it")
    card = await fatou.sees(lambda m: "Free places for programme staff" in m.text and "Approve" in m.labels())
    await fatou.presses("Approve", on=card)
    await network.app.waker.idle()
    news = await bola.receives("Workshop: Workshop on child benefits")
    assert "Free places for programme staff" in news.text and "budgeting" not in news.text
    assert rows(network, "SELECT action FROM audit ORDER BY id") == [("news-edit",), ("news-approve",)]


async def test_bad_answers_are_refused_with_a_reason_and_nothing_is_written(network):
    network, _ = network
    await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    await amina.says("/share")
    await amina.presses("Job", on=await amina.receives("What kind of news"))
    await amina.says("t" * 200)
    await amina.receives("That is too long: at most 150 characters")
    await amina.says("Child protection officer in Kampala")
    await amina.receives("in a few lines")
    await amina.says("A two-year post with a national NGO.")
    await amina.receives("A link")
    await amina.says("javascript:alert(1)")
    await amina.receives("That is not a web link")
    await amina.says("ftp://example.org/job")
    await amina.receives("That is not a web link")
    await amina.presses("Cancel")
    await amina.receives("Cancelled: nothing was sent")
    assert rows(network, "SELECT count(*) FROM news") == [(0,)]


async def test_a_brief_for_one_country_reaches_only_its_members(network):
    network, _ = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina", country="Kenya")
    bola = await network.member("b1", "Bola", country="Uganda")
    chege = await network.member("c1", "Chege", country="kenya")
    await fatou.says("/brief")
    await fatou.receives("A brief goes to the members it is for")
    await fatou.says("New cash transfer law")
    await fatou.receives("in a few lines")
    await fatou.says("Parliament passed the child grant bill on Tuesday.")
    await fatou.presses("Skip", on=await fatou.receives("A link"))
    await fatou.presses("By country", on=await fatou.receives("Who should receive it?"))
    await fatou.receives("Which countries?")
    await fatou.says("Kenya")
    preview = await fatou.receives("Here is how it will read")
    assert "To 2 members in Kenya." in preview.text and "Brief: New cash transfer law" in preview.text
    await fatou.presses("Send", on=preview)
    await fatou.receives("Brief #1 was sent to 2 members")
    for kenyan in (amina, chege):
        brief = await kenyan.receives("Brief: New cash transfer law")
        assert brief.labels() == []
    assert not any("cash transfer law" in text for text in bola.texts())
    assert rows(network, "SELECT kind, state, audience, audience_values, submitted_by FROM news") == [
        ("brief", "approved", "country", "Kenya", 1)]
    assert rows(network, "SELECT action FROM audit") == [("brief",)]


async def test_an_alert_reaches_a_digest_reader_at_once_marked_as_urgent(network):
    network, _ = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await bola.says("/digest weekly 9")
    await bola.receives("a weekly digest")
    await fatou.says("/alert")
    await fatou.receives("An alert goes out at once")
    await fatou.says("Floods in the north")
    await fatou.receives("in a few lines")
    await fatou.says("Schools are closed; the helpline is open day and night.")
    await fatou.says("https://example.org/floods")
    await fatou.presses("Everyone", on=await fatou.receives("Who should receive it?"))
    preview = await fatou.receives("Here is how it will read")
    assert "To 3 members." in preview.text  # Amina, Bola and the other facilitator, f2
    await fatou.presses("Send", on=preview)
    await fatou.receives("Alert #1 was sent to 3 members")
    for member in (amina, bola):
        alert = await member.receives("Floods in the north")
        assert alert.text.startswith("⚠️ ALERT") and "https://example.org/floods" in alert.text
        assert any(span.bold and "ALERT" in span.text for span in alert.message.spans)
    assert rows(network, "SELECT action FROM audit") == [("alert",)]
    # Ahead of any broadcast still queued: with the priority of a facilitator's card.
    assert set(rows(network, "SELECT purpose, priority FROM outbox WHERE purpose = 'alert'")) == {("alert", 1)}


async def test_a_member_cannot_send_a_brief_or_an_alert(network):
    network, _ = network
    await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    for command in ("/brief", "/alert"):
        await amina.says(command)
        await amina.receives("Only facilitators")
    assert rows(network, "SELECT count(*) FROM news") == [(0,)]


async def test_mydata_holds_a_members_news_and_forget_takes_their_name_off(network):
    network, _ = network
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina Yusuf")
    await share(amina, title="Amina Yusuf's workshop")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await amina.receives("was approved")
    await amina.says("/mydata")
    sent = await amina.receives("everything the network holds about you")
    [shared] = json.loads(sent.message.document.data)["news_shared"]
    assert (shared["title"], shared["state"], shared["kind"], shared["link"]) == (
        "Amina Yusuf's workshop", "approved", "workshop", "https://example.org/w")
    await amina.says("/forget")
    await amina.presses("Yes, forget me", on=await amina.receives("Forget you?"))
    await amina.receives("You are forgotten")
    assert rows(network, "SELECT title, submitted_by, state FROM news") == [
        ("a member's workshop", None, "approved")]
