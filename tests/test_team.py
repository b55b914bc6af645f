"""The facilitators' tools over people: muting and removing a member (with a reason the
member is told, and an audit entry), and adding facilitators at run time."""


import pytest

from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows
from tests.test_flow import ask


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


async def member_number(network: Network, user_id: str) -> int:
    [(number,)] = rows(network, f"SELECT member_id FROM identity WHERE user_id = '{user_id}'")
    return number


async def test_the_card_shows_the_members_number_that_the_commands_take(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    await ask(network, amina, "How do cash transfers reach children in remote areas?")
    card = await fatou.receives("waiting for approval")
    assert f"#{await member_number(network, 'a1')}" in card.text


async def test_a_muted_member_is_told_why_cannot_ask_or_reply_and_still_receives_questions(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    bola = await network.member("b1", "Bola", "Ministry", "Ghana")
    number = await member_number(network, "b1")

    await fatou.says(f"/mute #{number}")
    await fatou.receives("Say why")
    await fatou.says(f"/mute #{number} repeated advertising")
    await fatou.receives(f"Member #{number} is muted")
    told = await bola.receives("paused your questions and replies")
    assert "repeated advertising" in told.text

    await bola.says("Can I advertise my training course here?")
    await bola.receives("paused your questions and replies")
    assert rows(network, "SELECT count(*) FROM discussion") == [(0,)]

    await ask(network, amina, "How do cash transfers reach children in remote areas?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    question = await bola.receives("Question #")
    answer = await bola.presses("Reply", on=question)
    assert answer.refused and "paused" in (answer.notice or "")

    await fatou.says(f"/unmute #{number}")
    await bola.receives("You can ask and reply in the network again")
    await bola.presses("Reply", on=question)
    await bola.says("Mobile money agents in each district worked well.")
    await bola.receives("Thank you! Your reply was sent")
    assert [a for (a,) in rows(network, "SELECT action FROM audit ORDER BY id")] == ["mute", "approve", "unmute"]
    [(detail,)] = rows(network, "SELECT detail FROM audit WHERE action = 'mute'")
    assert detail == "repeated advertising"


async def test_removing_a_member_asks_first_and_then_they_receive_nothing_and_cannot_rejoin(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    bola = await network.member("b1", "Bola", "Ministry", "Ghana")
    number = await member_number(network, "b1")

    await fatou.says(f"/remove #{number} impersonating a UNICEF officer")
    confirm = await fatou.receives("Remove Bola")
    assert rows(network, f"SELECT status FROM member WHERE id = {number}") == [("active",)]
    await fatou.presses("Yes, remove", on=confirm)
    await fatou.receives(f"Member #{number} is removed")
    await bola.receives("removed you from the network: impersonating a UNICEF officer")

    await bola.says("/start")
    await bola.receives("removed you from the network")
    await bola.says("Hello?")
    await bola.receives("removed you from the network")
    await ask(network, amina, "How do cash transfers reach children in remote areas?")
    await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
    await amina.receives("was approved and shared")
    assert not any("Question #" in text for text in bola.texts())
    assert rows(network, "SELECT action, member_id, detail FROM audit WHERE action = 'remove'") == [
        ("remove", number, "impersonating a UNICEF officer")]


async def test_a_facilitator_cannot_be_muted_and_a_member_cannot_mute(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    await fatou.says(f"/mute #{await member_number(network, 'f1')} x")
    await fatou.receives("That is a facilitator")
    await amina.says(f"/mute #{await member_number(network, 'f1')} x")
    await amina.receives("Only facilitators can do that")
    await fatou.says("/mute #9999 spam")
    await fatou.receives("Name the member by their number")
    assert rows(network, "SELECT count(*) FROM audit") == [(0,)]


async def test_a_facilitator_added_at_run_time_gets_cards_across_a_restart_and_can_be_taken_off(network):
    fatou = await network.member("f1", "Fatou", "Network team", "Senegal")
    amina = await network.member("a1", "Amina", "Save the Children", "Nigeria")
    carla = await network.member("c1", "Carla", "UNICEF", "Peru")

    await fatou.says(f"/facilitators add #{await member_number(network, 'c1')}")
    await fatou.receives("Carla (UNICEF, Peru) is a facilitator now")
    await network.restart()
    await ask(network, amina, "How do cash transfers reach children in remote areas?")
    await carla.receives("waiting for approval")

    await fatou.says("/facilitators")
    listing = await fatou.receives("The facilitators")
    assert "Carla" in listing.text and "Fatou" in listing.text
    await fatou.says("/facilitators remove memory f1")
    await fatou.receives("listed in the configuration file")
    await fatou.says("/facilitators remove memory c1")
    await fatou.receives("Carla (UNICEF, Peru) is no longer a facilitator")
    await carla.says("/audit")
    await carla.receives("Only facilitators can do that")
    assert [a for (a,) in rows(network, "SELECT action FROM audit ORDER BY id")] == [
        "facilitator-added", "facilitator-removed"]
