"""The core composes for each platform as it is: without edits a card's change is one new
message and progress is not ticked; with forms a facilitator edits in a form with the text
prefilled; outside a service window a broadcast goes as a template and the rest waits for
the person; short buttons and short interactive texts are respected."""

import asyncio

import pytest

from bot.ports import Button, Capabilities, Card, Field, Message, Purpose, Span, Style
from bot.services.fitting import fit
from tests.memory_platform import CAPABILITIES, MemoryPlatform, without
from tests.network import Network, close_now, settings_for
from tests.storage_backend import rows as backend_rows
from tests.test_flow import ask

WHATSAPP_LIKE = Capabilities(max_text=4096, max_buttons=10, max_button_label=20, can_edit=False, can_reply_to=True,
                             max_text_with_buttons=1024, service_window=86400)


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


async def start(tmp_path, **capabilities: object) -> Network:
    platform = MemoryPlatform(capabilities=without(CAPABILITIES, **capabilities))
    return await Network(settings_for(tmp_path), platform=platform).start()


async def test_without_edits_each_facilitator_gets_two_messages_about_a_question_not_six(tmp_path):
    network = await start(tmp_path, can_edit=False, can_toast=False)
    try:
        fatou, guy = await network.member("f1", "Fatou"), await network.member("f2", "Guy")
        amina = await network.member("a1", "Amina")
        members = [await network.member(f"m{n}", f"Member {n}") for n in range(6)]
        await ask(network, amina, "How do cash transfers reach children in remote areas?")
        card = await fatou.receives("waiting for approval")
        answer = await fatou.presses("Approve", on=card)
        assert answer.notice is None  # no toast here
        approved = await fatou.receives("approved by Fatou and shared with 7 members")  # not Amina, nor Fatou
        assert approved.labels() == ["Close now", "Extend by a week", "In French"]
        await guy.receives("approved by Fatou")
        for member in members:
            await member.receives("Question #1 from Amina")
        await asyncio.sleep(3.5)  # a progress report passes, and is not sent as messages
        for facilitator in (fatou, guy):
            about = [text for text in facilitator.texts() if "Question #1" in text and "Question #1 from" not in text]
            assert len(about) == 2, about
        assert card.edits == 0
    finally:
        await network.stop()


async def test_with_forms_a_facilitator_edits_the_question_in_a_form_with_its_text(tmp_path):
    network = await start(tmp_path, can_open_forms=True)
    try:
        fatou, amina = await network.member("f1", "Fatou"), await network.member("a1", "Amina")
        await ask(network, amina, "cash transfer kids remote how??")
        await fatou.presses("Edit", on=await fatou.receives("waiting for approval"))
        form = network.platform.forms["f1"]
        assert form.prefill == "cash transfer kids remote how??" and form.interaction
        await fatou.fills_in("How do cash transfers reach children in remote areas?")
        await fatou.receives("now reads as you wrote it")
        assert rows(network, "SELECT text FROM discussion") == [("How do cash transfers reach children in remote areas?",)]

        await fatou.presses("Edit")
        stale = network.platform.forms["f1"]
        await fatou.says("/cancel")
        await fatou.receives("Cancelled")
        network.platform.forms["f1"] = stale
        await fatou.fills_in("A text for a form that is closed")
        await fatou.receives("This form is no longer current")
        assert rows(network, "SELECT text FROM discussion") == [("How do cash transfers reach children in remote areas?",)]
    finally:
        await network.stop()


async def test_outside_the_window_a_member_gets_the_template_then_the_question_and_can_reply(tmp_path):
    network = await start(tmp_path, service_window=86400.0)
    try:
        fatou, amina = await network.member("f1", "Fatou"), await network.member("a1", "Amina")
        bola = await network.member("b1", "Bola")
        network.platform.outside_window.add("b1")
        await ask(network, amina, "Which registries help find children out of school?")
        await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
        template = await bola.receives("[template]")
        assert "Which registries help find children" in template.text and template.labels() == ["Read it"]
        await bola.presses("Read it", on=template)
        question = await bola.receives("Question #1 from Amina")
        await bola.presses("Reply", on=question)
        await bola.says("The school census, cross-checked with birth registration.")
        forwarded = await amina.receives("school census")
        assert "from Bola" in forwarded.text
    finally:
        await network.stop()


async def test_outside_the_window_a_message_without_template_waits_for_the_person(tmp_path):
    network = await start(tmp_path, service_window=86400.0)
    try:
        fatou, amina = await network.member("f1", "Fatou"), await network.member("a1", "Amina")
        await ask(network, amina, "Which registries help find children out of school?")
        network.platform.outside_window.add("a1")
        await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
        await asyncio.sleep(0.5)
        assert not any("was approved and shared" in text for text in amina.texts())
        assert rows(network, "SELECT state FROM outbox WHERE user_id = 'a1' AND body LIKE '%was approved%'") == [
            ("queued",)]
        await amina.says("/whoami")
        await amina.receives("was approved and shared")
        await amina.receives("Your Memory id is a1")
    finally:
        await network.stop()


def test_buttons_take_their_short_label_and_their_number_fits_the_platform():
    rows_ = tuple((Button(f"Option number {n} with a long label", f"t{n}", short=f"Option {n}"),) for n in range(12))
    fitted = fit(Message((Span("Choose"),), rows_), WHATSAPP_LIKE)
    labels = [button.label for row in fitted.buttons for button in row]
    assert labels == [f"Option {n}" for n in range(10)]
    without_short = fit(Message((Span("x"),), ((Button("Reply without my name at all", "t"),),)), WHATSAPP_LIKE)
    assert len(without_short.buttons[0][0].label) <= 20 and without_short.buttons[0][0].label.endswith("…")


def test_a_card_too_long_for_a_message_with_buttons_is_shortened_and_says_where_the_rest_is():
    card = Card("Question #7 is waiting for approval", fields=(Field("From", "Amina"),),
                body=(Span("word " * 600, italic=True),),
                buttons=((Button("Approve", "a", Style.PRIMARY), Button("Reject", "r", Style.DANGER)),),
                more="Send /question 7 for the whole text.")
    fitted = fit(card, WHATSAPP_LIKE)
    assert len(fitted.text) <= 1024
    assert fitted.text.rstrip().endswith("Send /question 7 for the whole text.")
    assert "…" in fitted.text and fitted.buttons == card.buttons
    assert fit(card, CAPABILITIES) == card  # fits as it is where texts may be long


@pytest.mark.parametrize("capabilities", [CAPABILITIES, WHATSAPP_LIKE])
async def test_every_message_of_a_whole_round_fits_the_platform(tmp_path, capabilities):
    network = await Network(settings_for(tmp_path), platform=MemoryPlatform(capabilities=capabilities)).start()
    try:
        fatou, amina, bola = (await network.member("f1", "Fatou"), await network.member("a1", "Amina"),
                              await network.member("b1", "Bola"))
        await amina.says("How do cash transfers reach children in remote areas? " * 30)
        await amina.presses("Submit", on=await amina.receives("Here is your question"))
        await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
        question = await bola.receives("Question #1")
        await bola.presses(question.labels()[1], on=question)  # Reply without my name, however it is shown
        await bola.says("Mobile money agents. " * 50)
        await bola.receives("Thank you! Your reply was sent")
        await close_now(fatou)
        await fatou.presses("Publish", on=await fatou.sees(lambda m: "Publish" in m.labels()))
        await amina.receives("Consolidated reply:")
    finally:
        await network.stop()
    for envelope in network.platform.envelopes:
        message = envelope.message
        labels = [button.label for row in message.buttons for button in row]
        assert all(len(label) <= capabilities.max_button_label for label in labels), labels
        assert len(labels) <= capabilities.max_buttons
        if isinstance(message, Card):
            limit = capabilities.text_with_buttons if message.buttons else capabilities.max_text
            assert len(message.text) <= limit, message.title
        assert envelope.purpose in Purpose


async def test_members_on_a_platform_the_bot_does_not_run_wait_and_are_not_counted(tmp_path):
    from bot.domain.members import Identity, Role

    network = await Network(settings_for(tmp_path)).start()
    try:
        fatou, amina = await network.member("f1", "Fatou"), await network.member("a1", "Amina")
        await network.member("b1", "Bola")
        async with network.app.database.transaction():
            for number in range(3):  # imported for Slack, which this bot does not run (yet)
                await network.app.members.create(Identity("slack", f"U00{number}", ""), f"Slack {number}",
                                                 Role.MEMBER, network.app.clock.now())
        await ask(network, amina, "Which registries help find children out of school?")
        answer = await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
        # Guy and Bola: not the three on Slack, nor Fatou, who approved it.
        assert answer.notice == "Approved and shared with 2 members"
        final = await fatou.sees(lambda m: "Delivered to" in m.text, timeout=15)
        assert "Delivered to 2 of 2 members." in final.text
        assert rows(network, "SELECT count(*) FROM outbox WHERE platform = 'slack'") == [(0,)]
    finally:
        await network.stop()
