"""Slack end to end: the real slack-bolt and slack_sdk, over HTTP on 127.0.0.1, against the
fake Slack; events and presses reach the bot as signed requests of Slack's own shape."""

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import SlackAdapter, SlackSettings, check_online
from adapters.slack_blocks import MAX_BLOCKS, MAX_SECTION, message_parts
from adapters.telegram import TelegramSettings
from bot.app import load_settings
from bot.config import ConfigError
from bot.domain.members import Identity, Role
from bot.ports import (
    Address, Button, ButtonPress, Card, Document, Envelope, Field, FormSubmitted, IncomingCommand, IncomingText,
    Message, Priority, Prompt, Purpose, RetryLater, Sent, Span, Style, Undeliverable,
)
from storage.members import SqliteMemberStore
from storage.opening import open_storage
from storage.outbox import SqliteOutbox
from tests.fakes.slack_api import FakeSlack, SlackUser, mentions
from tests.fakes.telegram_api import FakeTelegram
from tests.inbox_recorder import RecordingInbox
from tests.slack_network import FACILITATOR, enrol, join, slack_adapter, slack_settings, slack_settings_for, start_app
from tests.storage_backend import rows as backend_rows, storage_toml, storage_url
from tests.telegram_network import FACILITATOR_ID, free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def api():
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
def inbox():
    return RecordingInbox()


@pytest.fixture
async def adapter(api, inbox):
    """The adapter on its own, its events kept by a recording inbox."""
    adapter = SlackAdapter(slack_settings_for(api))
    await adapter.start(inbox)
    api.events_url = adapter.events_url or ""
    yield adapter
    await adapter.stop()


def rows(path: Path, sql: str, *args: object) -> list[tuple]:
    return backend_rows(path, sql, args)


async def eventually(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


# --- the fake refuses what Slack refuses -------------------------------------------------------


async def test_the_fake_refuses_what_slack_refuses(api):
    amina = api.user("UAMINA001", "Amina Yusuf")
    api.channel("C0ARCHIVE", "old")
    api.archived.add("C0ARCHIVE")
    client = AsyncWebClient(token=api.token, base_url=api.base_url)
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}

    def buttons(text: str = "Ok", value: str = "t") -> list[dict]:
        return [{"type": "actions", "elements": [{"type": "button", "action_id": "a", "value": value,
                                                  "text": {"type": "plain_text", "text": text}}]}]

    refusals = [
        (dict(channel=amina.id, text="x", blocks=[section] * 51), "invalid_blocks"),
        (dict(channel=amina.id, text="x", blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}]),
         "invalid_blocks"),
        (dict(channel=amina.id, text="x", blocks=buttons(text="b" * 76)), "invalid_blocks"),
        (dict(channel=amina.id, text="x", blocks=buttons(value="v" * 2001)), "invalid_blocks"),
        (dict(channel=amina.id, text="", blocks=[section]), "no_text"),
        (dict(channel="C0NOWHERE", text="x"), "channel_not_found"),
        (dict(channel="C0ARCHIVE", text="x"), "is_archived"),
    ]
    for arguments, error in refusals:
        with pytest.raises(SlackApiError) as refused, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # slack_sdk warns about the missing text, then sends
            await client.chat_postMessage(**arguments)
        assert refused.value.response["error"] == error
    assert (await client.chat_postMessage(channel=amina.id, text="x", blocks=[section] * 50))["channel"] == amina.dm

    stale = api.trigger(amina.id)
    api._triggers[stale] = (amina.id, time.monotonic() - 3.5, False)
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Reply"}, "blocks": [section]}
    with pytest.raises(SlackApiError, match="expired_trigger_id"):
        await client.views_open(trigger_id=stale, view=modal)
    fresh = api.trigger(amina.id)
    with pytest.raises(SlackApiError, match="invalid_blocks|invalid_arguments"):
        await client.views_open(trigger_id=fresh, view={**modal, "title": {"type": "plain_text", "text": "t" * 25}})
    assert (await client.views_open(trigger_id=fresh, view=modal))["view"]["id"]

    for _ in range(2):  # one message went to this DM already: the burst allows two more
        await client.chat_postMessage(channel=amina.dm, text="burst")
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel=amina.dm, text="one too many")
    assert limited.value.response.status_code == 429 and int(limited.value.response.headers["Retry-After"]) >= 1

    with pytest.raises(SlackApiError, match="invalid_auth"):
        await AsyncWebClient(token="xoxb-wrong", base_url=api.base_url).auth_test()
    assert Counter(r.refused for r in api.refused) == {
        "invalid_blocks": 5, "no_text": 1, "channel_not_found": 1, "is_archived": 1, "expired_trigger_id": 1,
        "ratelimited": 1, "invalid_auth": 1}


# --- rendering -------------------------------------------------------------------------------------


def test_long_texts_are_split_into_sections_and_messages_within_slack_limits():
    paragraph = "Cash transfers & <care> reach children when agents are local. " * 40
    text = (paragraph + "\n\n") * 60
    parts = message_parts(Message(spans=(Span("Question from "), Span("Amina <admin>", bold=True), Span("\n\n"),
                                         Span(text)),
                                  buttons=((Button("Reply", "r.1", Style.PRIMARY), Button("Skip", "s.1")),)))
    assert len(parts) > 1
    assert all(len(part.blocks) <= MAX_BLOCKS and part.text.strip() for part in parts)
    sections = [b["text"]["text"] for part in parts for b in part.blocks if b["type"] == "section"]
    assert all(len(section) <= MAX_SECTION for section in sections)
    assert sections[0].startswith("Question from *Amina &lt;admin&gt;*")
    assert all(b["type"] != "actions" for part in parts[:-1] for b in part.blocks)
    assert parts[-1].blocks[-1]["elements"][0]["style"] == "primary"
    shown = "".join(s.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for s in sections)
    assert shown.replace(" ", "").replace("\n", "").count("Cashtransfers") == 40 * 60


async def test_member_text_is_escaped_and_long_messages_all_arrive(api, adapter):
    amina = api.user("UAMINA001", "Amina Yusuf")
    to = Address("slack", amina.id, amina.dm)
    hostile = "<!channel> look & click <https://evil.example|here> <@UBOT0001>"
    card = Card("Question #7 is waiting for approval", fields=(Field("From", "Amina <b>"),),
                body=(Span(hostile),), buttons=((Button("Approve", "ap.7", Style.PRIMARY),
                                                 Button("Reject", "rj.7", Style.DANGER)),))
    sent = await adapter.send(Envelope(to, card, Purpose.CARD))
    assert isinstance(sent, Sent)
    shown = amina.messages[-1]
    assert mentions(shown.mrkdwn) == [] and hostile in shown.visible
    assert shown.labels() == ["Approve", "Reject"]
    long = Message.plain("A sentence about cash transfers and children. " * 3500, [[Button("Reply", "rp.7")]])
    sent = await adapter.send(Envelope(to, long))
    assert isinstance(sent, Sent) and len(sent.other_ids) >= 1
    parts = amina.messages[-1 - len(sent.other_ids):]
    assert [p.ts for p in parts] == [*sent.other_ids, sent.message_id]
    assert "".join(p.visible for p in parts).count("cash transfers") == 3500
    assert api.refused == []


# --- the whole walk on Slack ------------------------------------------------------------------------


async def ask(asker: SlackUser, question: str) -> None:
    await asker.says(question)
    draft = await asker.receives("Here is your question")
    assert draft.labels() == ["Submit", "Submit without my name", "Cancel"]
    await asker.presses("Submit", on=draft)
    await asker.receives("is with the facilitators")


async def test_the_whole_walk_on_slack(api, tmp_path):
    settings = slack_settings(tmp_path, api)
    app = await start_app(settings, api)
    try:
        fatou = api.user(FACILITATOR, "Fatou Diop", tz="Africa/Dakar")
        amina, bola = api.user("UAMINA001", "Amina Yusuf", tz="Africa/Lagos"), api.user("UBOLA0001", "Bola Ade")
        # Amina's first message is her question: joining comes first, the question is kept.
        await asyncio.gather(join(fatou, "Fatou", "Network team", "Senegal", first_words="start"),
                             join(bola, "Bola", "Ministry"),
                             join(amina, "Amina", first_words="What works for <adolescents> & their families?"))
        assert rows(settings.storage_path, "SELECT name, timezone FROM member WHERE name = 'Amina'") == [
            ("Amina", "Africa/Lagos")]
        draft = await amina.receives("Here is your question")
        assert "What works for <adolescents> & their families?" in draft.visible
        await amina.presses("Submit", on=draft)
        card = await fatou.receives("waiting for approval")
        assert "&lt;adolescents&gt; &amp;" in card.mrkdwn and "Approve" in card.labels()

        await fatou.presses("Approve", on=card)
        await fatou.sees(lambda m: m is card and "approved by Fatou" in m.visible)
        assert card.edits >= 1
        question = await bola.receives("Question #1 from Amina")
        assert question.labels() == ["Reply", "Reply without my name"]

        # Reply by modal: the press's trigger opens a form within Slack's 3 seconds.
        await bola.presses("Reply", on=question)
        form = await bola.modal(titled="Your reply")  # not the last one of joining, still open
        assert form.opened_at < 3.0 and "question #1" in form.input()["label"]["text"]
        await bola.submits("Parenting sessions alongside the transfers.", view=form)
        forwarded = await amina.receives("Parenting sessions")
        assert "Bola (Ministry)" in forwarded.visible
        await bola.receives("Thank you! Your reply was sent")

        # Reply in the thread under the broadcast question (Fatou approved it: she has its card, not a copy).
        await bola.says("Cash plus home visits helped in Senegal.", thread=question)
        forwarded = await amina.receives("home visits")
        assert "Bola (Ministry)" in forwarded.visible

        await fatou.presses("Close now", on=await fatou.sees(lambda m: "Close now" in m.labels()))
        # Closing cannot be taken back: the card asks first, in its place.
        await fatou.presses("Yes, close it", on=await fatou.sees(lambda m: "Yes, close it" in m.labels()))
        draft = await fatou.receives("Draft consolidated reply")
        assert "Parenting sessions" in draft.visible and "home visits" in draft.visible
        await fatou.presses("Publish", on=draft)
        published = await bola.sees(lambda m: m.visible.startswith("Consolidated reply:"))
        assert "home visits" in published.visible
        await amina.receives("Consolidated reply:")
        assert rows(settings.storage_path, "SELECT state FROM discussion") == [("published",)]

        await bola.says("search parenting")
        results = await bola.receives("What the network has discussed")
        assert "#1 " in results.visible and results.labels() == ["Read #1"]
        assert api.refused == []
        assert max(d.seconds for d in api.deliveries) < 1.0  # every request acknowledged at once
    finally:
        await app.stop()


async def test_an_expired_trigger_asks_in_the_chat_and_the_next_message_answers(api, tmp_path):
    settings = slack_settings(tmp_path, api)
    app = await start_app(settings, api)
    try:
        fatou, amina = api.user(FACILITATOR, "Fatou Diop"), api.user("UAMINA001", "Amina Yusuf")
        await enrol(app, "slack", fatou.id, fatou.dm, "Fatou", "Network team")
        await enrol(app, "slack", amina.id, amina.dm, "Amina", "UNICEF", "Peru")
        await ask(amina, "How do we reach children without birth certificates?")
        card = await fatou.receives("waiting for approval")
        api.trigger_lifetime = 0.0  # Slack took too long: the trigger is gone by the time the form opens
        await fatou.presses("Ask to clarify", on=card)
        await fatou.receives("What would you like to ask")
        assert [r.refused for r in api.calls("views.open")] == ["expired_trigger_id"]
        await fatou.says("Which country?")
        await amina.receives("A facilitator has a question")
        assert not any(v.kind == "modal" for v in api.views.values())
    finally:
        await app.stop()


# --- one network, two platforms ---------------------------------------------------------------------


async def test_a_question_asked_on_slack_is_approved_and_answered_from_telegram(api, tmp_path):
    async with FakeTelegram() as telegram:
        settings = slack_settings(tmp_path, api, facilitators={"telegram": frozenset({str(FACILITATOR_ID)})},
                                  telegram=TelegramSettings(token=telegram.token, base_url=telegram.base_url))
        app = await start_app(settings, api)
        try:
            fatou, bola = telegram.user(FACILITATOR_ID, "Fatou"), telegram.user(502, "Bola")
            amina = api.user("UAMINA001", "Amina Yusuf")
            await enrol(app, "telegram", str(fatou.id), str(fatou.id), "Fatou", "Network team")
            await enrol(app, "telegram", str(bola.id), str(bola.id), "Bola", "Ministry of Social Development", "Ghana")
            await enrol(app, "slack", amina.id, amina.dm, "Amina", "Save the Children", "Nigeria")
            await ask(amina, "Which cash transfer designs keep adolescent girls in school?")
            card = await fatou.receives("waiting for approval")
            await fatou.press("Approve", on=card)
            await amina.receives("was approved and shared")
            question = await bola.receives("Question #1 from Amina")
            await bola.press("Reply", on=question)
            await bola.receives("Write your reply")
            await bola.send("Conditional transfers paid to mothers worked in Ghana.")
            forwarded = await amina.receives("paid to mothers")
            assert "Bola (Ministry of Social Development, Ghana)" in forwarded.visible
            assert api.refused == [] and telegram.refused == []
        finally:
            await app.stop()


# --- requests Slack did not sign --------------------------------------------------------------------


async def test_forged_signatures_and_stale_timestamps_are_refused_with_401_and_logged(api, adapter, inbox, caplog):
    caplog.set_level(logging.WARNING, logger="adapters.slack")
    amina = api.user("UAMINA001", "Amina Yusuf")
    body = '{"type":"event_callback","event_id":"Ev1","event":{"type":"message","channel_type":"im",' \
           f'"user":"{amina.id}","channel":"{amina.dm}","text":"hi","ts":"1.1"}}}}'
    forged = await api.post("events_api", body, "application/json", secret="not-the-signing-secret")
    stale = await api.post("events_api", body, "application/json", timestamp=int(time.time()) - 6 * 60)
    assert (forged.status, stale.status) == (401, 401)
    logged = [r.getMessage() for r in caplog.records if "refused a request" in r.getMessage()]
    assert len(logged) == 2
    assert "does not match" in logged[0] and "old" in logged[1]
    await amina.says("hi")  # the same, signed as Slack signs: taken
    [event] = await inbox.wait_for(1)
    assert isinstance(event, IncomingText) and event.text == "hi" and event.sender.name == "Amina Yusuf"


async def test_a_request_slack_sends_again_is_handled_once(api, tmp_path):
    settings = slack_settings(tmp_path, api)
    app = await start_app(settings, api)
    try:
        amina = api.user("UAMINA001", "Amina Yusuf")
        await amina.says("help", event_id="EvSAME0001")
        await amina.says("help", event_id="EvSAME0001", retry=1)
        await amina.receives("What I can do")
        await amina.command("whoami")
        await amina.receives("Your Slack id is UAMINA001")
        assert sum("What I can do" in m.visible for m in amina.messages) == 1
        assert rows(settings.storage_path, "SELECT count(*) FROM inbound WHERE user_id = 'UAMINA001'") == [(2,)]
    finally:
        await app.stop()


# --- events become the core's events ---------------------------------------------------------------


async def test_slack_events_become_the_cores_events(api, adapter, inbox):
    amina = api.user("UAMINA001", "Amina Yusuf", tz="Africa/Lagos")
    to = Address("slack", amina.id, amina.dm)
    sent = await adapter.send(Envelope(to, Message.plain("Question #3", [[Button("Reply", "rp.3")]])))
    message = amina.messages[-1]
    await amina.says("In a thread & <with> escapes", thread=message)
    await amina.presses("Reply", on=message)
    await amina.command("search child benefits")
    await amina.command("")
    await amina.opens_home()
    text, press, command, bare, home = await inbox.wait_for(5)
    assert isinstance(text, IncomingText) and text.reply_to == sent.message_id == message.ts
    assert text.text == "In a thread & <with> escapes" and text.event_id and text.sender.timezone == "Africa/Lagos"
    assert isinstance(press, ButtonPress) and (press.token, press.message_id) == ("rp.3", message.ts)
    assert press.interaction and press.sender.address == to and not press.sender.in_group
    assert isinstance(command, IncomingCommand) and (command.command, command.args) == ("search", "child benefits")
    assert isinstance(bare, IncomingCommand) and bare.command == "help"
    assert type(home).__name__ == "HomeOpened" and home.sender.address == to

    # A prompt answering the press opens a modal; submitting it is the typed answer.
    prompt = Prompt((Span("Write your reply"),), label="Your reply to question #3", token="fm.9.x",
                    prefill="draft", interaction=press.interaction)
    opened = await adapter.send(Envelope(to, prompt))
    form = await amina.modal()
    assert isinstance(opened, Sent) and opened.message_id == form.id and form.prefill == "draft"
    await amina.submits("My reply")
    [*_, submitted] = await inbox.wait_for(6)
    assert isinstance(submitted, FormSubmitted) and (submitted.token, submitted.text) == ("fm.9.x", "My reply")
    assert submitted.sender.address == to and submitted.interaction is None


# --- delivery at the edges ----------------------------------------------------------------------------


async def test_people_written_to_by_user_id_get_messages_and_edits_after_a_restart(api, adapter):
    amina = api.user("UAMINA001", "Amina Yusuf")
    imported = Address("slack", amina.id, "")  # from a CSV: no DM channel known yet
    sent = await adapter.send(Envelope(imported, Card("Question #2 is waiting for approval")))
    assert isinstance(sent, Sent) and amina.messages[-1].ts == sent.message_id
    fresh = SlackAdapter(replace(adapter.settings, port=0))  # a restart: nothing remembered
    await fresh.start(RecordingInbox())
    try:
        edited = await fresh.edit(Envelope(imported, Card("Question #2 was approved by Fatou")), sent.message_id)
    finally:
        await fresh.stop()
    assert edited == Sent(sent.message_id)
    assert "approved by Fatou" in amina.messages[-1].visible and amina.messages[-1].edits == 1
    assert [r.refused for r in api.calls("conversations.open")] == [None]
    gone = await adapter.send(Envelope(Address("slack", "UGONE0001", ""), Message.plain("hello")))
    assert isinstance(gone, Undeliverable) and "channel_not_found" in gone.reason
    api.storm = 1
    limited = await adapter.send(Envelope(Address("slack", amina.id, amina.dm), Message.plain("hello")))
    assert isinstance(limited, RetryLater) and limited.after_seconds == 1.0


async def test_a_429_storm_slows_the_sender_without_losing_a_message(api, tmp_path):
    people = [api.user(f"UMEMBER{n:02d}", f"Member {n}") for n in range(6)]
    path = tmp_path / "slack.db"
    database = await open_storage(path, storage_url(path))
    members = SqliteMemberStore(database)
    for person in people:
        await members.create(Identity("slack", person.id, person.dm if person is not people[0] else ""),
                             person.name, Role.MEMBER, 0.0)
    await SqliteOutbox(database).enqueue([
        Envelope(Address("slack", p.id, p.dm if p is not people[0] else ""),
                 Message.plain(f"Question #1 for {p.name}", [[Button("Reply", "rp.1")]]),
                 Purpose.BROADCAST, Priority.BROADCAST) for p in people for _ in range(2)])
    await database.close()
    api.storm, api.storm_retry_after = 8, 1
    app = await start_app(slack_settings(tmp_path, api), api)
    try:
        await eventually(lambda: all(len(p.messages) == 2 for p in people), timeout=30)
        await asyncio.sleep(0.3)  # nothing more lands
    finally:
        await app.stop()
    assert [len(p.messages) for p in people] == [2] * len(people)  # nobody missed one, nobody got one twice
    assert rows(path, "SELECT state, count(*) FROM outbox GROUP BY state") == [("sent", 12)]
    posts = api.calls("chat.postMessage")
    assert sum(r.refused == "ratelimited" for r in posts) == 8
    for index, refused in enumerate(posts):  # after a 429 a channel waits at least its Retry-After
        if refused.refused:
            later = [r for r in posts[index + 1:] if r.params["channel"] == refused.params["channel"]]
            assert later and later[0].at - refused.at >= 0.95 * refused.retry_after


# --- App Home -------------------------------------------------------------------------------------------


async def test_the_app_home_shows_open_questions_with_reply_and_what_waits_for_facilitators(api, tmp_path):
    settings = slack_settings(tmp_path, api)
    app = await start_app(settings, api)
    try:
        fatou, amina = api.user(FACILITATOR, "Fatou Diop"), api.user("UAMINA001", "Amina Yusuf")
        bola = api.user("UBOLA0001", "Bola Ade")
        for person, organization in ((fatou, "Network team"), (amina, "UNICEF"), (bola, "Ministry")):
            await enrol(app, "slack", person.id, person.dm, person.name.split()[0], organization)
        await ask(amina, "How are social protection floors financed?")
        await fatou.opens_home()
        await api.wait_until(lambda: fatou.home and "Waiting for the facilitators" in fatou.home.visible)
        assert "#1 How are social protection floors financed?" in fatou.home.visible
        await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
        await bola.receives("Question #1 from Amina")
        await bola.opens_home()
        await api.wait_until(lambda: bola.home and "Open for your replies" in bola.home.visible)
        assert "You are in the network as Bola" in bola.home.visible
        assert "Waiting for the facilitators" not in bola.home.visible
        await bola.presses_on_home("Reply to #1")
        await bola.submits("Earmarked payroll taxes, in Ghana.", titled="Your reply")
        await amina.receives("Earmarked payroll taxes")
        assert api.refused == []
    finally:
        await app.stop()


# --- the facilitators' channel -----------------------------------------------------------------------


async def test_cards_go_to_the_facilitators_channel_where_only_facilitators_presses_count(api, tmp_path):
    group = api.channel("C0FACILIT", "facilitators")
    settings = slack_settings(tmp_path, api, channel=group.id)
    app = await start_app(settings, api)
    try:
        fatou, amina = api.user(FACILITATOR, "Fatou Diop"), api.user("UAMINA001", "Amina Yusuf")
        await enrol(app, "slack", fatou.id, fatou.dm, "Fatou", "Network team")
        await enrol(app, "slack", amina.id, amina.dm, "Amina", "UNICEF", "Peru")
        await ask(amina, "Which indicators track child poverty best?")
        card = await group.receives("waiting for approval")
        await group.press_as(amina, "Approve", on=card)
        await api.wait_until(lambda: any("Only facilitators" in m.visible for m in group.shown_only_to(amina)))
        assert rows(settings.storage_path, "SELECT state FROM discussion") == [("submitted",)]
        await group.press_as(fatou, "Approve", on=card)
        await api.wait_until(lambda: "approved by" in card.visible)
        assert not any("waiting for approval" in m.visible for m in fatou.messages)
        assert len(group.messages) == 1  # the refusal was Amina's alone to see
    finally:
        await app.stop()


# --- settings and the online check -----------------------------------------------------------------------


async def test_check_online_tells_a_wrong_token_from_an_unreachable_api(api):
    assert await check_online(SlackSettings(bot_token=api.token, base_url=api.base_url)) is None
    wrong = await check_online(SlackSettings(bot_token="xoxb-wrong", base_url=api.base_url))
    assert wrong and "bot token was refused" in wrong and "invalid_auth" in wrong
    unreachable = await check_online(SlackSettings(bot_token=api.token, base_url="http://127.0.0.1:9/api/"))
    assert unreachable and "cannot reach the Slack API" in unreachable
    socket_mode = await check_online(SlackSettings(bot_token=api.token, base_url=api.base_url, app_token="xapp-no"))
    assert socket_mode and "app-level token was refused" in socket_mode


@pytest.mark.parametrize("change, key, problem", [
    ('bot_token = "env:MISSING"', "slack.bot_token", "MISSING is not set"),
    ('bot_token = "xoxp-user-token"', "slack.bot_token", "starts with xoxb-"),
    ('base_url = "https://slack.com/"', "slack.base_url", "must end with /api/"),
    ('facilitator_channel = "#facilitators"', "slack.facilitator_channel", "not a channel id"),
    ('port = 70000', "slack.port", "port number"),
    ('signing_secret = ""', "slack.signing_secret", "must not be empty"),
    ('app_token = "xoxb-not-an-app-token"', "slack.app_token", "starts with xapp-"),
])
def test_each_slack_setting_problem_is_one_line_naming_the_key(tmp_path, change, key, problem):
    lines = {"bot_token": 'bot_token = "env:SLACK_BOT_TOKEN"', "signing_secret": 'signing_secret = "s3cret"',
             "base_url": 'base_url = "http://127.0.0.1:9/api/"'}
    name = change.split(" =")[0]
    lines[name] = change
    path = tmp_path / "config.toml"
    path.write_text('[community]\nname = "Net"\n[storage]\npath = "x.db"\n[facilitators]\nslack = ["u123"]\n'
                    "[slack]\n" + "\n".join(lines.values()) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path, environ={"SLACK_BOT_TOKEN": "xoxb-1"})
    assert error.value.key == key and problem in error.value.problem
    path.write_text(path.read_text().replace(change, ""), encoding="utf-8")
    if name not in ("bot_token", "signing_secret"):
        settings = load_settings(path, environ={"SLACK_BOT_TOKEN": "xoxb-1"})
        assert settings.facilitators.lists("slack", "U123")


def test_check_config_online_runs_from_the_command_line(tmp_path):
    config = tmp_path / "config.toml"
    config.write_text('[community]\nname = "Net"\n[storage]\npath = "x.db"\n[slack]\nbot_token = "env:SLACK_BOT"\n'
                      'signing_secret = "s3cret"\nbase_url = "http://127.0.0.1:9/api/"\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "bot.cli", "check-config", "--config", str(config), "--online"],
                            capture_output=True, text=True, cwd=ROOT, env={**os.environ, "SLACK_BOT": "xoxb-1"},
                            timeout=60)
    assert result.returncode == 1
    assert "slack: cannot reach the Slack API" in result.stderr and "Traceback" not in result.stderr


def test_the_app_manifest_asks_for_exactly_what_the_bot_uses():
    lines = (ROOT / "docs" / "slack-app-manifest.yml").read_text(encoding="utf-8").splitlines()

    def listed_under(key: str) -> set[str]:
        start = next(i for i, line in enumerate(lines) if line.strip() == key)
        indent = len(lines[start + 1]) - len(lines[start + 1].lstrip())
        items = set()
        for line in lines[start + 1:]:
            if not line.startswith(" " * indent + "- "):
                break
            items.add(line.strip()[2:])
        return items

    assert listed_under("bot:") == {"chat:write", "commands", "im:history", "im:write", "users:read"}
    assert listed_under("bot_events:") == {"app_home_opened", "message.im"}
    assert "    - command: /facilitator" in lines
    assert sum("/slack/events" in line for line in lines if not line.startswith("#")) == 3


# --- Socket Mode -------------------------------------------------------------------------------------------


async def test_socket_mode_receives_events_over_the_socket_and_acks_them(api, tmp_path):
    settings = slack_settings(tmp_path, api, socket_mode=True)
    app = await start_app(settings, api)
    try:
        assert slack_adapter(app).events_url is None and api.socket_connected
        amina = api.user("UAMINA001", "Amina Yusuf")
        await amina.says("hello")
        await amina.presses("Skip", on=await amina.receives("What is your name"))
        await amina.submits("UNICEF", titled="Organization")  # the press opened the next question as a modal
        await amina.receives("Which country")
        assert [(d.kind, d.status) for d in api.deliveries] == [("events_api", 200), ("interactive", 200),
                                                                ("interactive", 200)]
    finally:
        await app.stop()


# --- the command line ----------------------------------------------------------------------------------------


async def test_facilitator_run_serves_slack_in_http_mode(api, tmp_path):
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f'[community]\nname = "Slack Network"\n{storage_toml(tmp_path / "run.db")}'
        f'[facilitators]\nslack = ["{FACILITATOR.lower()}"]\n'
        f'[slack]\nenabled = true\nbot_token = "env:SLACK_BOT_TOKEN"\nsigning_secret = "env:SLACK_SIGNING_SECRET"\n'
        f'base_url = "{api.base_url}"\nhost = "127.0.0.1"\nport = {port}\n', encoding="utf-8")
    log_path = tmp_path / "bot.log"
    log_file = log_path.open("wb")
    bot = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(config), cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL, stderr=log_file,
        env={**os.environ, "SLACK_BOT_TOKEN": api.token, "SLACK_SIGNING_SECRET": api.signing_secret})
    try:
        await eventually(lambda: _listening(port) or bot.returncode is not None, timeout=20)
        assert bot.returncode is None, log_path.read_text()[-2000:]
        api.events_url = f"http://127.0.0.1:{port}/slack/events"
        amina = api.user("UAMINA001", "Amina Yusuf")
        await amina.says("Hello, how do I ask something?")
        welcome = await amina.receives("What is your name")
        assert "Amina Yusuf" in welcome.visible
        await amina.command("help")
        await amina.receives("What I can do")
        forged = await api.post("events_api", "{}", "application/json", secret="wrong")
        assert forged.status == 401
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), timeout=15)
        log_file.close()
    errors = log_path.read_bytes()
    assert bot.returncode == 0, errors.decode()[-2000:]
    assert b"Traceback" not in errors and b"refused a request to /slack/events" in errors
    assert api.refused == []


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_a_document_is_shared_as_a_file_in_the_persons_dm_with_its_text(api, adapter):
    amina = api.user("UAMINA001", "Amina Yusuf")
    data = b'{"profile": {"name": "Amina Yusuf"}}'
    sent = await adapter.send(Envelope(Address("slack", amina.id, ""), Message(
        spans=(Span("Here is everything the network holds about you."),),
        document=Document("my-data.json", "application/json", data))))
    assert isinstance(sent, Sent) and sent.message_id.startswith("F")
    shared = amina.messages[-1]
    assert shared.file is not None and shared.file["data"] == data and shared.file["name"] == "my-data.json"
    assert "everything the network holds" in shared.text
    assert [r.refused for r in api.calls("files.completeUploadExternal")] == [None]
