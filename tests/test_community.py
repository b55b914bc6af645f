"""Know Your Community: on its schedule the bot proposes the consenting member least recently
featured (never one who did not consent); the member answers a few questions, approves the
drafted text, a facilitator approves it and everyone receives it; /community lists it; the
next proposal, `feature_every` later, goes to someone else, neither lost nor repeated across
a restart; /forget takes the member's answers and name away."""

import json
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from bot.config import LimitSettings, ProgrammeSettings
from tests.clock import ManualClock
from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows

DAY = 86400.0


def rows(network, sql):
    return backend_rows(network.settings.storage_path, sql)


def number_of(network, user_id):
    [(number,)] = rows(network, f"SELECT member_id FROM identity WHERE user_id = '{user_id}'")
    return number


@pytest.fixture
async def manual(tmp_path):
    clock = ManualClock(start=datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc).timestamp())
    settings = replace(settings_for(tmp_path), limits=LimitSettings(burst=200),
                       programme=ProgrammeSettings(feature_every=14 * DAY))
    network = await Network(settings, clock=clock).start()
    yield network, clock
    await network.stop()


async def consents(person):
    await person.says("/profile")
    await person.presses("You may feature me", on=await person.receives("Your profile"))
    await person.receives("May be featured in the network's news: yes")


async def test_a_member_is_proposed_answers_approves_and_everyone_reads_their_feature(manual):
    network, clock = manual
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    # Carla joined first and has the lowest number, but never said yes to being featured.
    carla = await network.member("m0", "Carla")
    amina = await network.member("m1", "Amina", "Child Welfare Trust", "Ghana")
    bola = await network.member("m2", "Bola")
    await consents(amina)
    await consents(bola)

    assert await network.app.community.propose_due() == 1
    card = await fatou.receives("I propose to feature Amina (Child Welfare Trust, Ghana)")
    assert "Never featured before." in card.text and card.labels() == ["Ask them", "Pick another"]
    assert await network.app.community.propose_due() == 0  # not due again for 14 days

    # A facilitator cannot pick a member who did not consent.
    await fatou.says(f"/feature #{number_of(network, 'm0')}")
    await fatou.receives("has not agreed to be featured")

    await fatou.presses("Ask them", on=card)
    await fatou.receives("Amina is asked")
    await amina.presses("Start", on=await amina.receives("would like to feature you"))
    await amina.receives("What is your role?")
    await amina.says("Social worker")
    await amina.receives("Tell the network about your work")
    await amina.presses("Skip")
    await amina.receives("What would you like help with")
    await amina.says("Funding <b>home visits</b>")
    draft = await amina.receives("Here is your profile")
    assert "Meet Amina, Child Welfare Trust, Ghana." in draft.text
    assert "Role: “Social worker”" in draft.text and "They would like help with: “Funding <b>home visits</b>”" in draft.text
    assert "Their work" not in draft.text and draft.labels() == ["Approve", "Change"]
    assert rows(network, "SELECT role, work, help, state FROM feature") == [
        ("Social worker", "", "Funding <b>home visits</b>", "review")]

    await amina.presses("Change", on=draft)
    await amina.receives("Send your profile as you would like")
    mine = "I am Amina, a social worker in Accra. Ask me about home visits and cash plus care."
    await amina.says(mine)
    changed = await amina.receives("Here is your profile")
    assert mine in changed.text
    await amina.presses("Approve", on=changed)
    await amina.receives("A facilitator will approve your profile")

    approval = await fatou.receives("Amina approved their profile")
    assert mine in approval.text
    await fatou.presses("Approve and send", on=approval)
    await fatou.receives("Shared with 5 members")  # both facilitators (f2 enrolled at start) and three members
    await network.app.waker.idle()
    for person in (bola, carla, amina):
        received = await person.receives("Know Your Community: Amina")
        assert mine in received.text
    assert rows(network, "SELECT action, member_id FROM audit WHERE action = 'feature'") == [
        ("feature", number_of(network, "m1"))]

    await bola.says("/community")
    listing = await bola.receives("Know Your Community")
    assert "Amina · Nov 2, 2026\nI am Amina, a social worker in Accra. Ask me about home…" in listing.text
    [(feature_id,)] = rows(network, "SELECT id FROM feature WHERE state = 'published'")
    await bola.presses(f"Read #{feature_id}", on=listing)
    assert mine in (await bola.receives("Know Your Community: Amina")).text

    # Thirteen days later, and a restart: not due yet, nothing proposed twice.
    clock.advance(13 * DAY)
    await network.restart()
    assert await network.app.community.propose_due() == 0
    # A day later the next proposal goes to someone else: Bola, never featured.
    clock.advance(DAY + 60)
    assert await network.app.community.propose_due() == 1
    await fatou.receives("I propose to feature Bola")
    assert await network.app.community.propose_due() == 0
    await network.restart()  # the start's own look finds nothing due
    assert await network.app.community.propose_due() == 0
    assert rows(network, "SELECT member_id, state FROM feature ORDER BY id") == [
        (number_of(network, "m1"), "published"), (number_of(network, "m2"), "proposed")]
    assert not [text for text in carla.texts() if "would like to feature you" in text]


async def test_pick_another_proposes_the_next_consenting_member(manual):
    network, _ = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("m1", "Amina")
    bola = await network.member("m2", "Bola")
    await network.member("m3", "Carla")  # no consent
    await consents(amina)
    await consents(bola)
    assert await network.app.community.propose_due() == 1
    card = await fatou.receives("I propose to feature Amina")
    await fatou.presses("Pick another", on=card)
    other = await fatou.receives("I propose to feature Bola")
    await fatou.presses("Pick another", on=other)
    # Amina was passed over just now, but she is the only other one who consented.
    await fatou.receives("I propose to feature Amina")
    assert rows(network, "SELECT state FROM feature ORDER BY id") == [("passed",), ("passed",), ("proposed",)]


async def test_forget_deletes_a_members_answers_and_takes_their_name_off_features(manual):
    network, _ = manual
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("m1", "Amina")
    await consents(amina)
    await network.app.community.propose_due()
    await fatou.presses("Ask them", on=await fatou.receives("I propose to feature Amina"))
    await amina.presses("Start", on=await amina.receives("would like to feature you"))
    await amina.receives("What is your role?")
    await amina.says("Researcher")
    await amina.receives("Tell the network about your work")
    await amina.says("Amina studies birth registration in Ghana.")
    await amina.receives("What would you like help with")
    await amina.presses("Skip")
    await amina.presses("Approve", on=await amina.receives("Here is your profile"))
    await fatou.presses("Approve and send", on=await fatou.receives("Amina approved their profile"))
    await fatou.receives("Shared with")

    # The month's newsletter names her among the members featured.
    await fatou.says("/newsletter")
    preview = await fatou.receives("Test Network: newsletter of November 2026")
    assert "Know Your Community\n• Amina: Meet Amina." in preview.text
    await fatou.presses("Send", on=preview)
    await fatou.receives("is on its way to")

    await amina.says("/mydata")
    data = json.loads((await amina.receives("everything the network holds about you")).message.document.data)
    assert [(f["role"], f["state"]) for f in data["community_features"]] == [("Researcher", "published")]

    await amina.says("/forget")
    await amina.presses("Yes, forget me", on=await amina.receives("Forget you?"))
    await amina.receives("You are forgotten")
    [(member_id, role, work, name, text)] = rows(network, "SELECT member_id, role, work, name, text FROM feature")
    assert (member_id, role, work) == (None, None, None)
    assert "Amina" not in name and "Amina" not in text and "birth registration" in text
    [(content,)] = rows(network, "SELECT content FROM newsletter")
    assert "Amina" not in content and "birth registration" in content
