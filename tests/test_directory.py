"""The member directory and introductions: only members who said yes are found, by topic,
country, organization, language or what they offer; /profile changes it all; /connect asks
the other member first, and nothing is shared without their yes; requests are limited and
expire; /forget takes a member's directory entry and requests away."""

import json
from dataclasses import replace

import pytest

from bot.domain.members import Identity, Member, Role
from bot.services.introductions import contact
from bot.texts.catalog import Texts
from tests.clock import ManualClock
from tests.memory_platform import Person
from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows

DAY = 86400.0


def rows(network: Network, sql: str, parameters: tuple = ()) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql, parameters)


def number_of(network: Network, name: str) -> int:
    [(number,)] = rows(network, "SELECT id FROM member WHERE name = ?", (name,))
    return number


@pytest.fixture
async def clocked(tmp_path):
    clock = ManualClock()
    network = await Network(settings_for(tmp_path), clock=clock).start()
    yield network, clock
    await network.stop()


@pytest.fixture
async def network(clocked):
    return clocked[0]


async def amina_bola_carla(network: Network) -> tuple[Person, Person, Person]:
    """Amina and Bola both work on school feeding in Ghana; only Amina said yes to the directory.
    Carla, in Peru, looks for people."""
    amina = await network.member("a1", "Amina Mensah", "World Food Programme", "Ghana", topics="school feeding, nutrition",
                                 offers="Training on school meals procurement", seeks="Evaluations from the Sahel",
                                 listed=True)
    bola = await network.member("b1", "Bola Owusu", "Ghana School Feeding Programme", "Ghana",
                                topics="school feeding", offers="Menus for school meals")
    carla = await network.member("c1", "Carla Quispe", "UNICEF", "Peru", listed=True)
    return amina, bola, carla


async def search(person: Person, words: str) -> str:
    await person.says(f"/members {words}")
    return (await person.receives("")).text


# --- the directory ----------------------------------------------------------------------------


async def test_only_members_who_said_yes_are_found_and_in_their_own_words(network):
    amina, bola, carla = await amina_bola_carla(network)
    found = await search(carla, "school feeding")
    number = number_of(network, "Amina Mensah")
    assert f"#{number} Amina Mensah — World Food Programme, Ghana" in found
    assert "Offers: Training on school meals procurement" in found
    assert "Looking for: Evaluations from the Sahel" in found
    assert "Topics: school feeding, nutrition" in found
    assert f"/connect {number}" in found
    assert "Bola" not in found and "Menus" not in found  # Bola never said yes

    for words in ("ghana", "World Food", "procurement", "Sahel", "nutri", "English", "côte ghana"):
        result = await search(carla, words)
        assert f"#{number} Amina Mensah" in result, words
        assert "Bola" not in result, words

    assert "No member in the directory matches “Lima”" in await search(carla, "Lima")
    assert (await search(amina, "Bola Owusu")).startswith("No member in the directory matches")  # not even by name
    mine = await search(amina, "Peru")  # what other words find, from the other side
    assert "Carla Quispe — UNICEF, Peru" in mine and "Amina" not in mine  # one never finds oneself


async def test_the_directory_says_who_matches_some_words_when_none_matches_all(network):
    amina, bola, carla = await amina_bola_carla(network)
    found = await search(carla, "nutrition Kenya")
    assert found.startswith("No member matches all of these words")
    assert "Amina Mensah" in found


async def test_the_directory_shows_ten_and_says_how_many_more(network):
    app = network.app
    now = app.clock.now()
    async with app.database.transaction():
        for index in range(13):
            member = await app.members.create(Identity("memory", f"n{index}", f"n{index}"), f"Nutritionist {index}",
                                              Role.MEMBER, now)
            await app.members.save(replace(member, topics=("nutrition",), in_directory=index != 12))
    carla = await network.member("c1", "Carla Quispe", "UNICEF", "Peru")
    found = await search(carla, "nutrition")
    assert found.count("Nutritionist") == 10
    assert "Nutritionist 0" in found and "Nutritionist 9" in found and "Nutritionist 10" not in found
    assert "And 2 more: add a word to narrow the search." in found  # the 13th said no

    await carla.says("/members")
    about = await carla.receives("12 members can be found in the directory.")
    assert "You are not in the directory" in about.text


async def test_profile_shows_and_changes_the_directory_entry_and_the_consent(network):
    amina, bola, carla = await amina_bola_carla(network)
    number = number_of(network, "Bola Owusu")
    await bola.says("/profile")
    profile = await bola.receives("Your profile")
    assert "What I offer: Menus for school meals" in profile.text
    assert "In the member directory: no" in profile.text

    await bola.presses("Directory", on=profile)
    await bola.presses("Yes", on=await bola.receives("find you in the directory"))
    await bola.receives("Saved")
    assert f"#{number} Bola Owusu" in await search(carla, "menus")

    await bola.presses("What I look for", on=await bola.receives("Your profile"))
    await bola.receives("What are you looking for")
    await bola.says("Cost studies of home-grown school feeding")
    await bola.receives("Saved")
    assert "Looking for: Cost studies of home-grown school feeding" in await search(carla, "cost studies")

    await bola.presses("Directory", on=await bola.receives("Your profile"))
    await bola.presses("No", on=await bola.receives("find you in the directory"))
    await bola.receives("Saved")
    assert "Bola" not in await search(carla, "menus")
    assert rows(network, "SELECT offers, seeks, in_directory FROM member WHERE id = ?", (number,)) == [
        ("Menus for school meals", "Cost studies of home-grown school feeding", 0)]


# --- introductions ----------------------------------------------------------------------------


async def test_an_accepted_introduction_gives_each_the_others_name_and_a_way_to_reach_them(network):
    amina, bola, carla = await amina_bola_carla(network)
    amina_number, carla_number = number_of(network, "Amina Mensah"), number_of(network, "Carla Quispe")
    await carla.says(f"/connect {amina_number} I work on school feeding in Peru too")
    asked = await carla.receives(f"I asked member #{amina_number} whether they agree")
    assert "Amina" not in asked.text

    request = await amina.receives("Introduction request")
    assert f"Carla Quispe (UNICEF, Peru) (member #{carla_number}) would like to be introduced to you." in request.text
    assert "I work on school feeding in Peru too" in request.text
    assert request.labels() == ["Accept", "Decline"]
    assert not any("Amina" in text for text in carla.texts()[-1:])  # nothing shared yet

    await amina.presses("Accept", on=request)
    mine = await amina.receives("You are now introduced to Carla Quispe (UNICEF, Peru).")
    assert f"/connect {carla_number}" in mine.text  # the memory platform gives no contact: through the bot
    theirs = await carla.receives(f"Member #{amina_number} accepted your introduction: "
                                  "Amina Mensah (World Food Programme, Ghana).")
    assert f"/connect {amina_number}" in theirs.text
    assert rows(network, "SELECT state FROM introduction") == [("accepted",)]

    # Introduced: a message now passes through the bot.
    await carla.says(f"/connect {amina_number} Could we talk on Tuesday?")
    await carla.receives("Sent to Amina Mensah")
    passed = await amina.receives("Message from Carla Quispe (UNICEF, Peru)")
    assert "Could we talk on Tuesday?" in passed.text
    assert f"/connect {carla_number}" in passed.text
    leaving = await network.app.members.get(amina_number)  # out of the directory, still in touch
    await network.app.members.save(replace(leaving, in_directory=False))
    await carla.says(f"/connect {amina_number} Still there?")
    await carla.receives("Sent to Amina Mensah")
    await amina.receives("Still there?")

    # The request's buttons are gone: it cannot be answered twice.
    await amina.sees(lambda m: m.message_id == request.message_id and m.labels() == [])


async def test_a_declined_introduction_shares_nothing_and_is_not_asked_again(network):
    amina, bola, carla = await amina_bola_carla(network)
    amina_number = number_of(network, "Amina Mensah")
    await carla.says(f"/connect #{amina_number}")
    request = await amina.receives("Introduction request")
    assert "They wrote" not in request.text
    await amina.presses("Decline", on=request)
    await amina.receives("Declined")
    told = await carla.receives(f"Member #{amina_number} cannot take up your introduction this time.")
    assert "Amina" not in told.text and "Ghana" not in told.text
    assert not any("Amina" in text for text in carla.texts())
    assert not any("Carla" in text for text in amina.texts()[amina.texts().index(request.text) + 1:])

    await carla.says(f"/connect {amina_number} please")
    await carla.receives(f"Member #{amina_number} cannot take up an introduction now.")
    await carla.says(f"/connect {amina_number} A message through the bot")  # not introduced: not passed on
    await carla.receives(f"Member #{amina_number} cannot take up an introduction now.")
    assert rows(network, "SELECT state FROM introduction") == [("declined",)]
    assert not any("through the bot" in text for text in amina.texts())


async def test_introductions_are_refused_to_oneself_to_those_not_listed_and_beyond_five_waiting(network):
    amina, bola, carla = await amina_bola_carla(network)
    carla_number, bola_number = number_of(network, "Carla Quispe"), number_of(network, "Bola Owusu")
    await carla.says(f"/connect {carla_number}")
    await carla.receives("That is you!")
    await carla.says(f"/connect {bola_number} hello")
    await carla.receives(f"No member #{bola_number} is in the directory.")
    await carla.says("/connect 9999")
    await carla.receives("No member #9999 is in the directory.")
    await carla.says("/connect Amina")
    await carla.receives("Name the member by their number from /members")
    assert not any("Introduction request" in text for text in bola.texts())

    app = network.app
    async with app.database.transaction():
        for index in range(6):
            member = await app.members.create(Identity("memory", f"p{index}", f"p{index}"), f"Peer {index}",
                                              Role.MEMBER, app.clock.now())
            await app.members.save(replace(member, in_directory=True))
    peers = [number_of(network, f"Peer {index}") for index in range(6)]
    for peer in peers[:5]:
        await carla.says(f"connect {peer}")  # the plain word works too
        await carla.receives(f"I asked member #{peer}")
    await carla.says(f"/connect {peers[0]}")
    await carla.receives(f"You asked member #{peers[0]} already")
    await carla.says(f"/connect {peers[5]}")
    await carla.receives("You have 5 introductions waiting for an answer")
    assert rows(network, "SELECT count(*) FROM introduction WHERE state = 'pending'") == [(5,)]


async def test_muted_and_departed_members_cannot_connect_and_are_not_found(network):
    fatou = await network.member("f1", "Fatou", "Network team")
    amina, bola, carla = await amina_bola_carla(network)
    amina_number, carla_number = number_of(network, "Amina Mensah"), number_of(network, "Carla Quispe")
    await fatou.says(f"/mute #{carla_number} spam")
    await carla.receives("paused your questions and replies")
    await carla.says(f"/connect {amina_number}")
    await carla.receives("The facilitators have paused your questions and replies: spam")

    await amina.says("/leave")
    await amina.presses("Yes, leave", on=await amina.sees(lambda m: "Yes, leave" in m.labels()))
    await amina.receives("You have left")
    assert "Amina" not in await search(bola, "ghana")
    await amina.says("/members ghana")
    await amina.receives("You have left the network.")
    assert rows(network, "SELECT count(*) FROM introduction") == [(0,)]


async def test_an_unanswered_request_expires_after_a_week(clocked):
    network, clock = clocked
    amina, bola, carla = await amina_bola_carla(network)
    amina_number = number_of(network, "Amina Mensah")
    await carla.says(f"/connect {amina_number}")
    request = await amina.receives("Introduction request")

    clock.advance(6 * DAY)
    assert await network.app.introductions.expire_due() == 0
    clock.advance(1 * DAY + 1)
    assert await network.app.introductions.expire_due() == 1
    await carla.receives(f"Your introduction request to member #{amina_number} expired without an answer.")
    late = await amina.presses("Accept", on=request)
    assert late.refused and late.notice == "This request has expired."
    assert rows(network, "SELECT state FROM introduction") == [("expired",)]
    assert not any("Amina" in text for text in carla.texts())
    await carla.says(f"/connect {amina_number}")  # expired, so it may be asked again
    await carla.receives(f"I asked member #{amina_number}")


# --- the member's own data ------------------------------------------------------------------


async def test_mydata_holds_the_directory_entry_and_forget_deletes_it_with_the_requests(network):
    amina, bola, carla = await amina_bola_carla(network)
    amina_number, carla_number = number_of(network, "Amina Mensah"), number_of(network, "Carla Quispe")
    await bola.says(f"/connect {amina_number} I am Bola")  # Bola is not listed, and may still ask
    await amina.presses("Accept", on=await amina.receives("Introduction request"))
    await amina.says(f"/connect {carla_number} Hello Carla")

    await amina.says("/mydata")
    data = json.loads((await amina.receives("everything the network holds about you")).message.document.data)
    assert data["profile"]["offers"] == "Training on school meals procurement"
    assert data["profile"]["looks_for"] == "Evaluations from the Sahel"
    assert data["consents"]["found_in_member_directory"] is True
    assert [(i["direction"], i["other_member_number"], i["note"], i["state"]) for i in data["introductions"]] == [
        ("was asked", number_of(network, "Bola Owusu"), "", "accepted"),  # Bola's words are Bola's
        ("asked", carla_number, "Hello Carla", "pending"),
    ]

    request = await carla.receives("Introduction request")
    await amina.says("/forget")
    await amina.presses("Yes, forget me", on=await amina.receives("Forget you?"))
    await amina.receives("You are forgotten")
    assert rows(network, "SELECT offers, seeks, in_directory FROM member WHERE id = ?", (amina_number,)) == [
        ("", "", 0)]
    assert rows(network, "SELECT count(*) FROM introduction") == [(0,)]
    assert "Amina" not in await search(carla, "ghana")
    late = await carla.presses("Accept", on=request)
    assert late.refused and late.notice == "This request no longer exists."


# --- contacts, per platform -------------------------------------------------------------------


def test_a_contact_is_what_each_platform_offers_and_the_bot_where_it_offers_nothing():
    t = Texts(("en",), "en").for_language("en")

    def said(member: Member) -> str:
        return "".join(part if isinstance(part, str) else part.text for part in contact(t, member))

    member = Member(id=7, identities=(
        Identity("whatsapp", "254700111222"), Identity("email", "amina@example.org"),
        Identity("telegram", "4242"), Identity("slack", "U123ABC"), Identity("webchat", "w-1"),
        Identity("email", "old@example.org", reachable=False),
    ))
    lines = said(member).split("\n")
    assert lines == [
        "WhatsApp: +254700111222", "Email: amina@example.org", "Telegram: open their profile (user 4242)",
        "Slack: member ID U123ABC, to search in your workspace",
        "To write to them, send /connect 7 and your message: the bot passes it on.",
    ]
    links = [part.link for part in contact(t, member) if not isinstance(part, str) and part.link]
    assert links == ["https://wa.me/254700111222", "mailto:amina@example.org", "tg://user?id=4242"]
    assert said(Member(id=8)) == "To write to them, send /connect 8 and your message: the bot passes it on."
