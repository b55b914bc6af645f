"""The facilitators' workspace on Telegram, through the real python-telegram-bot and the fake
Bot API: how many taps moderating and publishing take, Reply buttons taken off a closed
question's copies with editMessageReplyMarkup, and a draft's text offered to edit (a message of
its own to copy, or, with inline mode, a button that puts it in the message box)."""

import asyncio

import pytest

from adapters.telegram import TelegramAdapter, TelegramSettings
from bot.ports import Address, Button, Envelope, Prompt, Span
from tests.fakes.telegram_api import BOT_USER, FakeTelegram
from tests.inbox_recorder import RecordingInbox
from tests.telegram_network import FACILITATOR_ID, join, start_app, telegram_settings

QUESTION = "How do cash transfers reach children in remote areas?"


@pytest.fixture
async def api():
    # Telegram's pace for one chat is tested with the delivery engine; here it would only
    # make each test wait for its turn.
    async with FakeTelegram(chat_burst=50) as fake:
        yield fake


class Taps:
    """A facilitator's presses, counted."""

    def __init__(self, user) -> None:  # type: ignore[no-untyped-def]
        self.user = user
        self.count = 0

    async def press(self, label: str, on) -> None:  # type: ignore[no-untyped-def]
        self.count += 1
        await self.user.press(label, on=on)


async def a_closed_discussion(api: FakeTelegram):  # type: ignore[no-untyped-def]
    fatou, amina, bola = api.user(FACILITATOR_ID, "Fatou"), api.user(501, "Amina"), api.user(502, "Bola")
    await asyncio.gather(join(fatou, "Fatou", "Network team"), join(amina, "Amina", "Save the Children", "Nigeria"),
                         join(bola, "Bola", "Ministry of Social Development", "Ghana"))
    await amina.send(QUESTION)
    await amina.press("Submit", on=await amina.receives("Here is your question"))
    await fatou.press("Approve", on=await fatou.receives("waiting for approval"))
    question = await bola.receives("Question #1 from Amina")
    await bola.press("Reply", on=question)
    await bola.receives("Write your reply")
    await bola.send("Mobile money agents in each district worked well.")
    await bola.receives("Your reply was sent")
    await fatou.press("Close now", on=await fatou.sees(lambda m: "Close now" in m.labels()))
    await fatou.press("Yes, close it", on=await fatou.sees(lambda m: "Yes, close it" in m.labels()))
    draft = await fatou.receives("Draft consolidated reply")
    return fatou, amina, bola, question, draft


async def test_approving_takes_one_tap_and_publishing_a_draft_as_written_at_most_two(api, tmp_path):
    app = await start_app(telegram_settings(tmp_path, api, per_chat_interval=0.0))
    try:
        fatou, amina, bola = api.user(FACILITATOR_ID, "Fatou"), api.user(501, "Amina"), api.user(502, "Bola")
        await asyncio.gather(join(fatou, "Fatou"), join(amina, "Amina"), join(bola, "Bola"))
        await amina.send(QUESTION)
        await amina.press("Submit", on=await amina.receives("Here is your question"))

        moderating = Taps(fatou)
        await moderating.press("Approve", on=await fatou.receives("waiting for approval"))
        question = await bola.receives("Question #1 from Amina")
        assert moderating.count == 1

        await bola.press("Reply", on=question)
        await bola.send("Mobile money agents in each district worked well.")
        await bola.receives("Your reply was sent")
        await fatou.press("Close now", on=await fatou.sees(lambda m: "Close now" in m.labels()))
        await fatou.press("Yes, close it", on=await fatou.sees(lambda m: "Yes, close it" in m.labels()))

        publishing = Taps(fatou)
        await publishing.press("Publish", on=await fatou.receives("Draft consolidated reply"))
        await bola.receives("Consolidated reply:")
        assert publishing.count <= 2
        assert api.refused == []
    finally:
        await app.stop()


async def test_closing_takes_the_reply_buttons_off_each_copy_by_editing_its_keyboard_alone(api, tmp_path):
    app = await start_app(telegram_settings(tmp_path, api, per_chat_interval=0.0))
    try:
        fatou, amina, bola, question, draft = await a_closed_discussion(api)
        await bola.sees(lambda m: m is question and not m.buttons)
        assert QUESTION in question.text
        edits = [r for r in api.requests if r.method.startswith("editMessage") and int(r.params["chat_id"]) == 502]
        assert [r.method for r in edits] == ["editMessageReplyMarkup"]
        assert api.refused == []
    finally:
        await app.stop()


async def test_editing_a_draft_sends_its_key_points_as_a_message_to_copy(api, tmp_path):
    app = await start_app(telegram_settings(tmp_path, api, per_chat_interval=0.0))
    try:
        fatou, amina, bola, question, draft = await a_closed_discussion(api)
        await fatou.press("Edit", on=draft)
        await fatou.receives("as they stand")
        points = await fatou.receives("Mobile money agents")
        assert points.text == ("Mobile money agents in each district worked well "
                               "(Bola, Ministry of Social Development, Ghana).")
        assert points.html.startswith("<pre>") and points.labels() == ["Replace the whole text"]
        await fatou.send("Use the mobile money agents already in each district.")
        updated = await fatou.receives("Draft consolidated reply")
        assert "• Use the mobile money agents already in each district." in updated.text
    finally:
        await app.stop()


async def test_with_inline_mode_a_button_puts_the_key_points_in_the_message_box(api, tmp_path):
    api.inline_mode = True
    app = await start_app(telegram_settings(tmp_path, api, per_chat_interval=0.0))
    try:
        fatou, amina, bola, question, draft = await a_closed_discussion(api)
        await fatou.press("Edit", on=draft)
        prompt = await fatou.receives("as they stand")
        [insert] = [b for row in prompt.buttons for b in row if "switch_inline_query_current_chat" in b]
        assert insert["text"] == "Edit the text"
        assert insert["switch_inline_query_current_chat"] == (
            "Mobile money agents in each district worked well (Bola, Ministry of Social Development, Ghana).")
        assert "Replace the whole text" in prompt.labels()
        # What the button puts in the box starts with the bot's name: the text alone is taken.
        await fatou.send(f"@{BOT_USER['username']} Use the agents already in each district.")
        updated = await fatou.receives("Draft consolidated reply")
        assert "• Use the agents already in each district." in updated.text and "@" not in updated.text
    finally:
        await app.stop()


async def test_a_text_too_long_for_the_message_box_is_sent_to_copy_even_with_inline_mode(api):
    api.inline_mode = True
    adapter = TelegramAdapter(TelegramSettings(token=api.token, base_url=api.base_url))
    await adapter.start(RecordingInbox())
    try:
        to = Address("telegram", "7", "7")
        short, long = "Agents in each district.", "Agents in each district worked well for disbursement. " * 6
        lines = "Agents in each district.\nLocal staff trained."  # an inline query is one line
        other = ((Button("Replace the whole text", "pw.1..x"),),)
        for prefill in (short, long, lines):
            await adapter.send(Envelope(to, Prompt((Span("Send the key points."),), "Key points", "fm.1.x.y",
                                                   prefill=prefill, buttons=other, insert_label="Edit the text")))
        first, second, third, fourth, fifth = api.chats[7]
        assert [b.get("switch_inline_query_current_chat") for row in first.buttons for b in row] == [short, None]
        assert second.text == "Send the key points." and not second.buttons
        assert third.text == long.strip() and third.html.startswith("<pre>") and third.labels() == [
            "Replace the whole text"]
        assert fourth.text == "Send the key points." and fifth.text == lines and fifth.html.startswith("<pre>")
        assert api.refused == []
    finally:
        await adapter.stop()
