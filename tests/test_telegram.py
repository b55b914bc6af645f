"""Telegram end to end: the real python-telegram-bot, over HTTP, against the fake Bot API."""

import asyncio
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, RetryAfter

from adapters.telegram import TelegramSettings, check_online
from adapters.telegram_text import render_parts, utf16_length
from bot.ports import Address, Envelope, Message, Sent, Span
from tests.fakes.telegram_api import FakeTelegram
from tests.storage_backend import rows as backend_rows
from tests.telegram_network import FACILITATOR_ID, join, start_app, telegram_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def api():
    async with FakeTelegram() as fake:
        yield fake


def rows(settings, sql):
    return backend_rows(settings.storage_path, sql)


# --- the fake refuses what Telegram refuses ------------------------------------------------


async def test_the_fake_refuses_what_telegram_refuses(api):
    async with Bot(api.token, base_url=api.base_url) as bot:
        with pytest.raises(BadRequest, match="(?i)too long"):
            await bot.send_message(1, "x" * 4097)
        with pytest.raises(BadRequest, match="(?i)can't parse entities"):
            await bot.send_message(2, "a < b", parse_mode="HTML")
        with pytest.raises(BadRequest, match="(?i)button_data_invalid"):
            await bot.send_message(3, "hi", reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("x", callback_data="y" * 65)]]))
        api.blocked.add(4)
        with pytest.raises(Forbidden, match="(?i)blocked"):
            await bot.send_message(4, "hi")
        for _ in range(3):
            await bot.send_message(5, "burst")
        with pytest.raises(RetryAfter):
            await bot.send_message(5, "one too many")
    assert len(api.refused) == 5


# --- rendering -------------------------------------------------------------------------------


def test_long_texts_are_split_at_boundaries_with_every_part_valid_html():
    paragraph = "Cash transfers & <care> reach children when agents are local. " * 40
    spans = (Span("Question from "), Span("Amina <admin> & co", bold=True), Span("\n\n"),
             Span((paragraph + "\n\n") * 3 + "مرحبا بالجميع 🙂 " * 300))
    parts = render_parts(spans)
    assert len(parts) > 1
    from tests.fakes.telegram_api import _visible
    visible = [_visible(part) for part in parts]  # raises on any broken tag or entity
    assert all(utf16_length(text) <= 4096 for text in visible)
    assert "<b>Amina &lt;admin&gt; &amp; co</b>" in parts[0]
    whole = "".join(span.text for span in spans)
    for text in visible:
        start = whole.index(text[:50])
        end = start + len(text)
        assert end == len(whole) or whole[end] in " \n", "a part ended inside a word"


async def test_an_edit_too_long_for_one_message_is_sent_whole_instead(api, tmp_path):
    from adapters.telegram import TelegramAdapter
    from tests.inbox_recorder import RecordingInbox

    adapter = TelegramAdapter(TelegramSettings(token=api.token, base_url=api.base_url))
    await adapter.start(RecordingInbox())
    try:
        to = Address("telegram", "7", "7")
        first = await adapter.send(Envelope(to, Message.plain("short card")))
        long_text = "A sentence about cash transfers and children. " * 200
        edited = await adapter.edit(Envelope(to, Message.plain(long_text)), first.message_id)
        assert isinstance(edited, Sent) and edited.other_ids
        shown = "".join(m.text for m in api.chats[7][1:])
        assert shown.replace(" ", "") == long_text.replace(" ", "")
    finally:
        await adapter.stop()


# --- the whole flow, polling -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_join_ask_clarify_approve_broadcast_and_reply(api, tmp_path, mode):
    settings = telegram_settings(tmp_path, api, mode=mode)
    app = await start_app(settings)
    try:
        fatou, amina, bola = api.user(FACILITATOR_ID, "Fatou"), api.user(501, "Amina"), api.user(502, "Bola", "fr")
        await asyncio.gather(join(fatou, "Fatou", "Network team"), join(amina, "Amina", "Save the Children", "Nigeria"),
                             join(bola, "Bola", "Ministry of Social Development", "Ghana"))
        await amina.send("What works for <adolescents> & their families?")
        draft = await amina.receives("Here is your question")
        assert draft.labels() == ["Submit", "Submit without my name", "Cancel"]
        await amina.press("Submit", on=draft)
        card = await fatou.receives("waiting for approval")
        assert "What works for <adolescents> & their families?" in card.text

        query = await fatou.press("Ask to clarify", on=card)
        await fatou.receives("What would you like to ask")
        answer = next(a for a in api.answers if a["callback_query_id"] == query)
        assert answer.get("text") == "Write your question for the asker"
        assert all(a["at"] - api.pressed_at[a["callback_query_id"]] < 1.0 for a in api.answers)
        await fatou.send("Cash, care or schooling?")
        await amina.receives("A facilitator has a question")
        await amina.send("Cash plus care.")
        updated = await fatou.receives("waiting for approval")
        assert "Cash plus care." in updated.text
        await fatou.press("Approve", on=updated)
        await fatou.sees(lambda m: m is card and "approved by Fatou" in m.text)
        assert card.edits >= 1

        # Bola's app is in French: everything the bot says to him is in French.
        question = await bola.receives("Question n°1 de Amina")
        assert question.labels() == ["Répondre", "Répondre sans mon nom"]
        await bola.press("Répondre", on=question)
        await bola.receives("Écrivez votre réponse")
        await bola.send("Parenting sessions with the transfers.")
        await bola.receives("Merci ! Votre réponse a été envoyée")
        await amina.receives("Parenting sessions")
        # Telegram's own reply to the question is a reply too (Fatou approved it: she has its card, not a copy).
        await bola.reply_to(question, "Cash plus home visits helped in Senegal.")
        forwarded = await amina.receives("home visits")
        assert "Bola (Ministry of Social Development, Ghana)" in forwarded.text
        assert api.refused == []
        assert "ask" in dict(api.commands["fr"]) and "ask" in dict(api.commands[""])
    finally:
        await app.stop()


# --- webhook mode ------------------------------------------------------------------------------


async def test_webhook_mode_receives_updates_and_refuses_a_wrong_secret(api, tmp_path, caplog):
    caplog.set_level(logging.DEBUG, logger="telegram.ext")
    settings = telegram_settings(tmp_path, api, mode="webhook")
    app = await start_app(settings)
    try:
        assert api.webhook and api.webhook["secret_token"] == "s3cret-token"
        amina = api.user(501, "Amina")
        await amina.send("/whoami")
        await amina.receives("Your Telegram id is 501")
        async with aiohttp.ClientSession() as session:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with session.post(settings.platform("telegram").webhook_url, json={"update_id": 99}, headers=headers) as r:
                    assert r.status == 403
        # python-telegram-bot itself checks the header, refuses with 403 and logs each refusal.
        refusals = [r for r in caplog.records if "secret token" in r.getMessage() and "include" in r.getMessage() or "wrong secret" in r.getMessage()]
        assert len(refusals) == 2
        assert api.refused == []
    finally:
        await app.stop()


# --- errors from the API -------------------------------------------------------------------------


async def test_a_member_who_blocked_the_bot_is_marked_unreachable_until_they_write(api, tmp_path):
    settings = telegram_settings(tmp_path, api)
    app = await start_app(settings)
    try:
        fatou, amina, bola = api.user(FACILITATOR_ID, "Fatou"), api.user(501, "Amina"), api.user(502, "Bola")
        await asyncio.gather(join(fatou, "Fatou"), join(amina, "Amina"), join(bola, "Bola"))
        api.blocked.add(502)
        await amina.send("How do we measure multidimensional child poverty?")
        await amina.press("Submit", on=await amina.receives("Here is your question"))
        await fatou.press("Approve", on=await fatou.receives("waiting for approval"))
        await fatou.sees(lambda m: "approved by Fatou" in m.text)
        for _ in range(50):
            if rows(settings, "SELECT reachable FROM identity WHERE user_id = '502'") == [(0,)]:
                break
            await asyncio.sleep(0.1)
        assert rows(settings, "SELECT reachable FROM identity WHERE user_id = '502'") == [(0,)]
        assert rows(settings, "SELECT state FROM outbox WHERE user_id = '502' AND purpose = 'broadcast'") == [("failed",)]
        api.blocked.discard(502)
        await bola.send("/help")
        await bola.receives("What I can do")
        assert rows(settings, "SELECT reachable FROM identity WHERE user_id = '502'") == [(1,)]
    finally:
        await app.stop()


async def test_many_messages_to_one_person_at_once_are_paced_without_a_429(api, tmp_path):
    settings = telegram_settings(tmp_path, api)
    app = await start_app(settings)
    try:
        amina = api.user(501, "Amina")
        for command in ("/start", "/help", "/whoami", "/help", "/profile"):
            await amina.send(command)
        await amina.receives("Your profile", timeout=15)
        assert api.refused == []
    finally:
        await app.stop()


# --- the facilitators' group ------------------------------------------------------------------


async def test_cards_go_to_the_facilitators_group_where_only_facilitators_can_press(api, tmp_path):
    settings = telegram_settings(tmp_path, api, group="-100777")
    app = await start_app(settings)
    try:
        group = api.group(-100777)
        fatou, amina = api.user(FACILITATOR_ID, "Fatou"), api.user(501, "Amina")
        await join(amina, "Amina")
        await amina.send("Which indicators track child poverty best?")
        await amina.press("Submit", on=await amina.receives("Here is your question"))
        card = await api.wait_until(lambda: next((m for m in group.messages if "waiting for approval" in m.text), None))
        query = await group.press_as(amina, "Approve", on=card)
        await api.wait_until(lambda: any(a["callback_query_id"] == query for a in api.answers))
        refusal = next(a for a in api.answers if a["callback_query_id"] == query)
        assert "Only facilitators" in refusal["text"]
        assert rows(settings, "SELECT state FROM discussion") == [("submitted",)]
        await group.press_as(fatou, "Approve", on=card)
        await api.wait_until(lambda: "approved by" in card.text)
        assert not any("waiting for approval" in m.text for m in fatou.messages)
    finally:
        await app.stop()


# --- check-config --online ------------------------------------------------------------------------


async def test_check_online_tells_a_wrong_token_from_an_unreachable_api(api):
    assert await check_online(TelegramSettings(token=api.token, base_url=api.base_url)) is None
    wrong = await check_online(TelegramSettings(token="999:WRONG", base_url=api.base_url))
    assert wrong and "token was refused" in wrong
    unreachable = await check_online(TelegramSettings(token=api.token, base_url="http://127.0.0.1:9/bot"))
    assert unreachable and "cannot reach" in unreachable


def test_check_config_online_runs_from_the_command_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[community]\nname = "Net"\n[storage]\npath = "x.db"\n'
                      '[telegram]\ntoken = "env:TG"\nbase_url = "http://127.0.0.1:9/bot"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", "--config", str(config), "--online"],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "TG": "1:x"}, timeout=60)
    assert result.returncode == 1
    assert "cannot reach the Bot API" in result.stderr and "Traceback" not in result.stderr


async def test_people_talking_in_a_group_do_not_become_members(api, tmp_path):
    settings = telegram_settings(tmp_path, api, group="-100777")
    app = await start_app(settings)
    try:
        group = api.group(-100777)
        stranger = api.user(999, "Passer-by")
        await group.message_from(stranger, "Hello everyone, what is this bot?")
        await group.message_from(stranger, "/help")
        for _ in range(100):  # both group messages handled (kept in the inbound log)
            if rows(settings, "SELECT count(*) FROM inbound WHERE user_id = '999'") == [(2,)]:
                break
            await asyncio.sleep(0.05)
        assert rows(settings, "SELECT count(*) FROM inbound WHERE user_id = '999'") == [(2,)]
        assert rows(settings, "SELECT count(*) FROM identity WHERE user_id = '999'") == [(0,)]
        await stranger.send("/whoami")
        await stranger.receives("Your Telegram id is 999")
        assert rows(settings, "SELECT count(*) FROM identity WHERE user_id = '999'") == [(1,)]
        assert not group.messages
    finally:
        await app.stop()


async def test_mydata_arrives_as_a_json_document_with_its_caption(api, tmp_path):
    settings = telegram_settings(tmp_path, api)
    app = await start_app(settings)
    try:
        amina = api.user(501, "Amina")
        await join(amina, "Amina", "Save the Children", "Nigeria")
        await amina.send("/mydata")
        sent = await amina.receives("everything the network holds about you")
        assert sent.document is not None and sent.document["filename"].endswith(".json")
        data = json.loads(sent.document["data"])
        assert data["profile"]["name"] == "Amina" and data["accounts"][0]["user_id"] == "501"
    finally:
        await app.stop()
