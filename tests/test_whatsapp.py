"""WhatsApp end to end: the adapter over real HTTP against the fake Graph API, people's
messages posted to its webhook signed as Meta signs them, a real SQLite file."""

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from adapters.whatsapp import PLUGIN, WhatsAppAdapter, check_online, render
from adapters.whatsapp.settings import normalise_phone
from bot.ports import (
    Address, Button, ButtonPress, Card, Document, Envelope, Field, IncomingCommand, IncomingText,
    Message, Notice, OutsideWindow, Prompt, RetryLater, Sent, Span, TemplateHint, Undeliverable,
)
from bot.settings_reader import ConfigError
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.whatsapp_api import (
    ACCESS_TOKEN, API_VERSION, PHONE_NUMBER_ID, VERIFY_TOKEN, FakeWhatsApp, GraphError,
)
from tests.inbox_recorder import RecordingInbox
from tests.storage_backend import rows as backend_rows, storage_toml
from tests.telegram_network import join as join_telegram
from tests.whatsapp_network import (
    FATOU, enrol_without_writing, free_port, join, network_settings, start_app, whatsapp_settings,
)

ROOT = Path(__file__).resolve().parent.parent
AMINA, BOLA, CARLA, DAN = "2348000000001", "233200000002", "51900000003", "254700000004"


@pytest.fixture
async def api():
    async with FakeWhatsApp() as fake:
        yield fake


def rows(path: Path, sql: str, *args: object) -> list[tuple]:
    return backend_rows(path, sql, args)


async def eventually(condition, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.05)


class ManualTime:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def ask(person, text: str) -> None:  # type: ignore[no-untyped-def]
    await person.says(text)
    draft = await person.receives("Here is your question")
    await person.taps("Submit", on=draft)
    await person.receives("is with the facilitators")


# --- the fake refuses what the Cloud API refuses -------------------------------------------


async def test_the_fake_refuses_what_the_cloud_api_refuses(api):
    url = f"{api.base_url}/{API_VERSION}/{PHONE_NUMBER_ID}/messages"
    to = "221770000009"
    api.last_inbound[to] = time.time()

    def interactive(kind: str, action: dict, body: str = "Choose") -> dict:
        return {"messaging_product": "whatsapp", "to": to, "type": "interactive",
                "interactive": {"type": kind, "body": {"text": body}, "action": action}}

    def buttons(*titles: str) -> dict:
        return {"buttons": [{"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)]}

    def rows_of(count: int, title: str = "Row") -> dict:
        return {"button": "Choose", "sections": [{"rows": [{"id": f"r{i}", "title": f"{title}{i}"} for i in range(count)]}]}

    def template(name: str, *values: str) -> dict:
        return {"messaging_product": "whatsapp", "to": to, "type": "template", "template": {
            "name": name, "language": {"code": "en"}, "components": [
                {"type": "body", "parameters": [{"type": "text", "text": v} for v in values]},
                {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "p"}]}]}}

    refused = {
        "text over 4,096": ({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "x" * 4097}}, 131009),
        "4 reply buttons": (interactive("button", buttons("A", "B", "C", "D")), 131009),
        "a title of 21": (interactive("button", buttons("x" * 21)), 131009),
        "two same titles": (interactive("button", buttons("Same", "Same")), 131009),
        "11 list rows": (interactive("list", rows_of(11)), 131009),
        "a row title of 25": (interactive("list", rows_of(4, "y" * 24)), 131009),
        "an interactive body of 1,025": (interactive("button", buttons("A"), body="z" * 1025), 131009),
        "an unknown template": (template("no_such_template", "x"), 132001),
        "a parameter too few": (template("network_update"), 132000),
        "a new line in a parameter": (template("network_update", "two\nlines"), 132018),
        "outside the window": ({"messaging_product": "whatsapp", "to": "221770000010", "type": "text",
                                "text": {"body": "hi"}}, 131047),
    }
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}) as session:
        for what, (payload, code) in refused.items():
            async with session.post(url, json=payload) as response:
                body = await response.json()
                assert response.status == 400 and body["error"]["code"] == code, what
        async with session.post(url, json=template("network_update", "A question")) as response:
            assert response.status == 200, "a template goes outside the window"
        async with session.post(url, json=interactive("list", rows_of(10))) as response:
            assert response.status == 200
        async with session.post(url, json=interactive("button", buttons("A", "B", "C"))) as response:
            assert response.status == 200
        api.pair_burst = 1
        api.last_inbound["221770000011"] = time.time()
        burst = {"messaging_product": "whatsapp", "to": "221770000011", "type": "text", "text": {"body": "hi"}}
        codes = []
        for _ in range(2):
            async with session.post(url, json=burst) as response:
                codes.append((await response.json()).get("error", {}).get("code"))
        assert codes == [None, 131056]
    async with aiohttp.ClientSession(headers={"Authorization": "Bearer wrong"}) as session:
        async with session.post(url, json=burst) as response:
            assert response.status == 401 and (await response.json())["error"]["code"] == 190


async def test_the_fake_refuses_more_than_its_throughput_in_a_second():
    async with FakeWhatsApp(per_second=5) as api:
        url = f"{api.base_url}/{API_VERSION}/{PHONE_NUMBER_ID}/messages"
        async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {ACCESS_TOKEN}"}) as session:
            codes = []
            for number in range(7):
                to = f"22177000{number:04d}"
                api.last_inbound[to] = time.time()
                async with session.post(url, json={"messaging_product": "whatsapp", "to": to, "type": "text",
                                                   "text": {"body": "hi"}}) as response:
                    codes.append((await response.json()).get("error", {}).get("code"))
        assert codes == [None] * 5 + [130429] * 2


# --- drawing messages ----------------------------------------------------------------------


def test_long_texts_are_split_at_boundaries_without_losing_a_word():
    paragraph = "Cash transfers reach children when agents are local and trusted. " * 30
    spans = (Span("Question from ", bold=False), Span("Amina", bold=True), Span("\n\n"),
             Span((paragraph + "\n\n") * 4 + "مرحبا بالجميع 🙂 " * 400))
    parts = render.split(spans)
    assert len(parts) > 2 and all(len(part) <= 4096 for part in parts)
    assert parts[0].startswith("Question from *Amina*")
    whole = "".join(span.text for span in spans).split()
    assert " ".join(" ".join(parts).replace("*", "").split()) == " ".join(whole)  # every word, in order
    for part in parts[:-1]:
        assert part.rstrip()[-1] in ".🙂" or part.endswith("بالجميع"), "a part ended inside a sentence"


def test_buttons_become_reply_buttons_up_to_three_and_a_list_up_to_ten():
    three = Message.plain("Your question", [[Button("Submit", "t1"), Button("Submit without my name", "t2"),
                                              Button("Cancel", "t3")]])
    [request] = render.draw(three, "221770000001")
    titles = [b["reply"]["title"] for b in request["interactive"]["action"]["buttons"]]
    assert request["interactive"]["type"] == "button" and titles == ["Submit", "Submit without my…", "Cancel"]
    card = Card("Question #1", fields=(Field("From", "Amina"),), body=(Span("What works?", italic=True),),
                buttons=((Button("Approve", "a"), Button("Ask to clarify", "c")), (Button("Edit", "e"), Button("Reject", "r"))))
    [request] = render.draw(card, "221770000001")
    rows_sent = request["interactive"]["action"]["sections"][0]["rows"]
    assert request["interactive"]["type"] == "list" and [r["id"] for r in rows_sent] == ["a", "c", "e", "r"]
    assert request["interactive"]["body"]["text"] == "*Question #1*\nFrom: Amina\n\n_What works?_"


def test_a_text_too_long_for_an_interactive_body_goes_first_and_the_buttons_follow():
    prefill = "A long question about cash transfers and children. " * 40
    prompt = Prompt(question=(Span("Send the new text"),), label="Text", token="tk", prefill=prefill,
                    buttons=((Button("Keep as it is", "k"),),))
    requests = render.draw(prompt, "221770000001")
    assert [r["type"] for r in requests] == ["text", "interactive"]
    assert prefill.strip() in requests[0]["text"]["body"].replace("```", "")
    assert len(requests[1]["interactive"]["body"]["text"]) <= 1024
    assert requests[1]["interactive"]["body"]["text"] == "Send the new text"


def test_a_card_the_core_fitted_stays_one_interactive_message_with_its_marks_dropped_if_needed():
    from adapters.whatsapp import CAPABILITIES
    from bot.services.fitting import fit

    lines = tuple(Span("A line of the question that a member wrote with care.\n", italic=True) for _ in range(40))
    card = fit(Card("Question #7 is waiting for approval", body=lines, more="Open the full text below.",
                    buttons=((Button("Approve", "a"), Button("Reject", "r")),)), CAPABILITIES)
    [request] = render.draw(card, "221770000001")
    body = request["interactive"]["body"]["text"]
    assert len(body) <= 1024 and body.startswith("Question #7 is waiting for approval")
    short = Card("Question #8", body=(Span("Short text", italic=True),), buttons=((Button("Approve", "a"),),))
    [request] = render.draw(fit(short, CAPABILITIES), "221770000001")
    assert request["interactive"]["body"]["text"] == "*Question #8*\n\n_Short text_"


def test_phone_numbers_are_normalised_to_e164_digits():
    for written in ("+221 77 000 00 01", "00221-77-000-00-01", "221770000001", " +221 (77) 000.00.01 "):
        assert PLUGIN.normalise_user_id(written) == FATOU
    with pytest.raises(ConfigError, match="facilitators.whatsapp"):
        normalise_phone("077 000")


# --- sending, on the adapter alone -----------------------------------------------------------


@pytest.fixture
async def adapter(api):
    clock = ManualTime()
    api.clock = clock
    api.statuses = set()  # the recording inbox only records events
    adapter = WhatsAppAdapter(whatsapp_settings(api), clock=clock)
    inbox = RecordingInbox()
    await adapter.start(inbox)
    api.webhook_url = adapter.webhook_url
    yield adapter, inbox, clock
    await adapter.stop()


async def test_the_24_hour_window_decides_between_free_form_a_template_and_waiting(api, adapter):
    adapter, inbox, clock = adapter
    person = api.person(AMINA, "Amina")
    to = Address("whatsapp", AMINA, AMINA)
    hint = TemplateHint("How do cash transfers reach remote areas?", Button("Read it", "sq.1.sig"))
    assert isinstance(await adapter.send(Envelope(to, Message.plain("before writing"))), OutsideWindow)
    await person.says("Hello")
    await inbox.wait_for(1)
    sent = await adapter.send(Envelope(to, Message.plain("Question #1"), template=hint))
    assert isinstance(sent, Sent) and api.chats[AMINA][-1].kind == "text"
    clock.now += 25 * 3600
    assert isinstance(await adapter.send(Envelope(to, Message.plain("no template"))), OutsideWindow)
    sent = await adapter.send(Envelope(to, Message.plain("Question #2"), template=hint))
    template = api.chats[AMINA][-1]
    assert isinstance(sent, Sent) and sent.message_id == template.id and template.kind == "template"
    assert "How do cash transfers reach remote areas?" in template.text and template.buttons == [("Read it", "sq.1.sig")]
    await person.taps("Read it", on=template)
    [_, press] = await inbox.wait_for(2)
    assert isinstance(press, ButtonPress) and press.token == "sq.1.sig" and press.message_id == template.id
    assert isinstance(await adapter.send(Envelope(to, Message.plain("now it goes"))), Sent)
    assert api.refused == []


async def test_api_errors_become_delivery_results_never_exceptions(api, adapter):
    adapter, inbox, clock = adapter
    to = Address("whatsapp", BOLA, BOLA)
    api.last_inbound[BOLA] = clock.now
    adapter.windows.wrote(BOLA, clock.now)
    hint = TemplateHint("A question", Button("Read it", "sq.1.sig"))
    cases = [
        (GraphError(130429, "Rate limit hit"), RetryLater),
        (GraphError(131056, "pair rate limit hit"), RetryLater),
        (GraphError(131026, "Message undeliverable"), Undeliverable),
        (GraphError(131051, "Unsupported message type"), Undeliverable),
        (GraphError(131000, "Something went wrong", http_status=500), RetryLater),
        (GraphError(190, "Invalid OAuth access token", http_status=401), RetryLater),
    ]
    for error, expected in cases:
        api.refuse_next.append(error)
        result = await adapter.send(Envelope(to, Message.plain("hello")))
        assert isinstance(result, expected), (error.code, result)
    assert (await adapter.send(Envelope(to, Message.plain("x")))).__class__ is Sent
    # 131047 at once: the window was closed after all, so the template goes instead.
    api.refuse_next.append(GraphError(131047, "Re-engagement message"))
    result = await adapter.send(Envelope(to, Message.plain("the question"), template=hint))
    assert isinstance(result, Sent) and api.chats[BOLA][-1].kind == "template"
    assert not adapter.windows.is_open(BOLA)
    # A template Meta does not know: the message waits rather than being lost.
    api.templates.clear()
    assert isinstance(await adapter.send(Envelope(to, Message.plain("q"), template=hint)), OutsideWindow)
    # Nobody answering at the API's address.
    down = WhatsAppAdapter(whatsapp_settings(api), clock=clock)
    object.__setattr__(down.settings, "api_base_url", f"http://127.0.0.1:{free_port()}")
    down.windows.wrote(BOLA, clock.now)
    assert isinstance(await down.send(Envelope(to, Message.plain("x"))), RetryLater)
    await down.stop()
    # Stopped: a send the engine still makes waits for the next start without using an attempt.
    stopped = await down.send(Envelope(to, Message.plain("x")))
    assert isinstance(stopped, RetryLater) and not stopped.attempt_counts
    # A notice is a toast elsewhere: nothing is sent on WhatsApp.
    count = len(api.requests)
    assert await adapter.send(Envelope(to, Notice("Approved", "i1"))) == Sent("")
    assert len(api.requests) == count


async def test_a_long_message_goes_in_parts_and_an_edit_goes_as_a_new_message(api, adapter):
    adapter, inbox, clock = adapter
    to = Address("whatsapp", CARLA, CARLA)
    api.last_inbound[CARLA] = clock.now
    adapter.windows.wrote(CARLA, clock.now)
    text = "Every district trained its own agents, and the agents knew each family. " * 150
    sent = await adapter.send(Envelope(to, Message.plain(text, [[Button("Reply", "rp")]])))
    shown = api.chats[CARLA]
    assert isinstance(sent, Sent) and len(shown) == 4 and [m.kind for m in shown] == ["text"] * 3 + ["button"]
    assert sent.message_id == shown[-1].id and sent.other_ids == tuple(m.id for m in shown[:3])
    assert " ".join(" ".join(m.text for m in shown[:3]).split()) == " ".join(text.split())
    edited = await adapter.edit(Envelope(to, Message.plain("Changed")), sent.message_id)
    assert isinstance(edited, Sent) and api.chats[CARLA][-1].text == "Changed" and edited.message_id != sent.message_id


# --- the webhook --------------------------------------------------------------------------


async def test_webhook_verification_answers_the_challenge_only_to_the_right_token(api, adapter):
    adapter, inbox, clock = adapter
    async with aiohttp.ClientSession() as session:
        query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        async with session.get(adapter.webhook_url, params=query) as response:
            assert response.status == 200 and await response.text() == "1158201444"
        async with session.get(adapter.webhook_url, params={**query, "hub.verify_token": "guess"}) as response:
            assert response.status == 403 and "1158201444" not in await response.text()


async def test_a_forged_signature_is_refused_before_the_body_is_read(api, adapter, caplog):
    adapter, inbox, clock = adapter
    person = api.person(AMINA, "Amina")
    body = person._message("text", {"text": {"body": "/help"}}, None, None)
    assert await api.post(body, secret="not-the-app-secret") == 401
    assert await api.post(body, signature="") == 401
    # Not even JSON: the signature is checked first, so it is 401 and not 400.
    assert await api.post(b"{not json", secret="not-the-app-secret") == 401
    assert await api.post(b"{not json") == 400
    assert inbox.events == []
    assert len([r for r in caplog.records if "X-Hub-Signature-256" in r.getMessage()]) == 3
    assert await api.post(body) == 200
    [event] = await inbox.wait_for(1)
    assert isinstance(event, IncomingCommand) and event.command == "help" and event.event_id.startswith("wamid.IN")
    assert event.sender.name == "Amina" and event.sender.address == Address("whatsapp", AMINA, AMINA)


async def test_webhook_messages_become_the_cores_events(api, adapter):
    adapter, inbox, clock = adapter
    person = api.person(AMINA, "Amina")
    api.last_inbound[AMINA] = clock.now
    adapter.windows.wrote(AMINA, clock.now)
    sent = await adapter.send(Envelope(Address("whatsapp", AMINA, AMINA), Message.plain(
        "Question #1", [[Button("Reply", "rp.1"), Button("Reply without my name", "ra.1")]])))
    question = api.chats[AMINA][-1]
    await person.says("search child benefits")
    await person.says("Agents in every district.", reply_to=question)
    await person.taps("Reply", on=question)
    events = await inbox.wait_for(3)
    assert isinstance(events[0], IncomingText) and events[0].text == "search child benefits" and events[0].reply_to is None
    assert isinstance(events[1], IncomingText) and events[1].reply_to == sent.message_id
    assert isinstance(events[2], ButtonPress) and events[2].token == "rp.1" and events[2].message_id == sent.message_id
    assert events[2].interaction is None


# --- the whole walk on WhatsApp ----------------------------------------------------------------


async def test_join_ask_approve_from_the_card_broadcast_reply_close_publish_and_search(api, tmp_path):
    settings = network_settings(tmp_path, api)
    api.statuses.add("read")
    app = await start_app(settings)
    try:
        fatou, amina = api.person(FATOU, "Fatou Diop"), api.person(AMINA, "Amina Yusuf")
        bola, carla = api.person(BOLA, "Bola"), api.person(CARLA, "Carla")
        await asyncio.gather(join(fatou, "/start", name="Fatou Diop"), join(amina), join(bola), join(carla))
        assert rows(settings.storage_path, "SELECT name, role FROM member ORDER BY id") == [
            ("Fatou Diop", "facilitator"), ("Amina Yusuf", "member"), ("Bola", "member"), ("Carla", "member")]

        await ask(amina, "How do cash transfers reach children in remote areas?")
        card = await fatou.receives("waiting for approval")
        assert card.kind == "list" and card.labels()[:4] == ["Approve", "Ask to clarify", "Edit", "Reject"]
        assert "Amina Yusuf" in card.text
        await fatou.taps("Approve", on=card)
        await amina.receives("was approved and shared")
        question = await bola.receives("Question #1 from Amina Yusuf")
        assert question.kind == "button" and question.labels()[0] == "Reply"
        await carla.receives("Question #1 from Amina Yusuf")

        await bola.taps("Reply", on=question)
        await bola.receives("Write your reply")
        await bola.says("Mobile money agents in each district worked for us.")
        await bola.receives("Your reply was sent")
        await amina.receives("Mobile money agents")
        carla_question = next(m for m in carla.messages if "Question #1" in m.text)
        await carla.says("Community health workers carried the enrolment forms.", reply_to=carla_question)
        await amina.receives("Community health workers")
        assert rows(settings.storage_path, "SELECT count(*) FROM reply") == [(2,)]

        close = await fatou.sees(lambda m: "Close now" in m.labels())
        await fatou.taps("Close now", on=close)
        # WhatsApp cannot change the card: the confirmation comes as a new one.
        await fatou.taps("Yes, close it", on=await fatou.sees(lambda m: "Yes, close it" in m.labels()))
        draft = await fatou.receives("Draft consolidated reply")
        assert "Mobile money agents" in draft.text and "Publish" in draft.labels()
        await fatou.taps("Publish", on=draft)
        await bola.receives("Consolidated reply")
        await carla.receives("Consolidated reply")
        assert rows(settings.storage_path, "SELECT state FROM discussion") == [("published",)]

        await carla.says("/search mobile money")
        results = await carla.receives("What the network has discussed")
        assert "#1 " in results.text and results.labels() == ["Read #1"]
        await bola.says("search mobile money")
        await bola.receives("What the network has discussed")
        assert api.refused == []
        await api.callbacks_done()
        delivered, read = rows(settings.storage_path, "SELECT count(delivered_at), count(read_at) FROM outbox"
                                                      " WHERE purpose = 'broadcast'")[0]
        assert delivered == read == 2  # Bola and Carla (Fatou approved it: she has its card)
    finally:
        await app.stop()


async def test_a_member_outside_the_window_gets_the_template_taps_it_and_reads_the_question(api, tmp_path):
    settings = network_settings(tmp_path, api)
    app = await start_app(settings)
    try:
        await enrol_without_writing(app, DAN, "Dan")
        fatou, amina, dan = api.person(FATOU, "Fatou"), api.person(AMINA, "Amina"), api.person(DAN, "Dan")
        await asyncio.gather(join(fatou, "/start", name="Fatou Diop"), join(amina))
        await ask(amina, "Which indicators track child poverty best?")
        await fatou.taps("Approve", on=await fatou.receives("waiting for approval"))
        template = await dan.receives("New in the network")
        assert template.kind == "template" and "Which indicators track child poverty best?" in template.text
        assert len(dan.messages) == 1
        await dan.taps("Read it", on=template)
        question = await dan.receives("Question #1 from Amina")
        assert "Which indicators track child poverty best?" in question.text and "Reply" in question.labels()
        await dan.taps("Reply", on=question)
        await dan.receives("Write your reply")
        await dan.says("The multidimensional index, with the household survey.")
        await amina.receives("multidimensional index")
        assert api.refused == []
    finally:
        await app.stop()


async def test_without_a_template_a_member_outside_the_window_gets_everything_once_they_write(api, tmp_path):
    settings = network_settings(tmp_path, api, template=False)
    app = await start_app(settings)
    try:
        await enrol_without_writing(app, DAN, "Dan")
        fatou, amina, dan = api.person(FATOU, "Fatou"), api.person(AMINA, "Amina"), api.person(DAN, "Dan")
        await asyncio.gather(join(fatou, "/start", name="Fatou Diop"), join(amina))
        for number, text in ((1, "First: how are social protection floors financed?"),
                             (2, "Second: who pays for school meals?")):
            await ask(amina, text)
            await fatou.taps("Approve", on=await fatou.receives("waiting for approval"))
            await fatou.receives(f"Question #{number} was approved by Fatou")
        await eventually(lambda: rows(settings.storage_path, "SELECT count(*) FROM outbox WHERE user_id = ?"
                                      " AND purpose = 'broadcast' AND not_before > 1e17", DAN) == [(2,)])
        assert dan.messages == [] and api.refused == []
        await dan.says("/help")
        await dan.receives("What I can do")
        first = await dan.receives("First: how are social protection floors financed?")
        second = await dan.receives("Second: who pays for school meals?")
        assert dan.messages.index(first) < dan.messages.index(second)
        assert api.refused == []
    finally:
        await app.stop()


async def test_a_number_not_on_whatsapp_marks_the_member_unreachable(api, tmp_path):
    settings = network_settings(tmp_path, api)
    app = await start_app(settings)
    try:
        await enrol_without_writing(app, DAN, "Dan")
        api.not_on_whatsapp.add(DAN)
        fatou, amina = api.person(FATOU, "Fatou"), api.person(AMINA, "Amina")
        await asyncio.gather(join(fatou, "/start", name="Fatou Diop"), join(amina))
        await ask(amina, "How do we measure multidimensional child poverty?")
        await fatou.taps("Approve", on=await fatou.receives("waiting for approval"))
        await eventually(lambda: rows(settings.storage_path, "SELECT reachable FROM identity WHERE user_id = ?", DAN)
                         == [(0,)])
        assert rows(settings.storage_path, "SELECT state FROM outbox WHERE user_id = ? AND purpose = 'broadcast'",
                    DAN) == [("failed",)]
    finally:
        await app.stop()


async def test_delivered_and_read_callbacks_are_recorded_on_the_outbox(api, tmp_path):
    settings = network_settings(tmp_path, api)
    api.statuses = {"sent", "delivered"}
    app = await start_app(settings)
    try:
        amina = api.person(AMINA, "Amina")
        await amina.says("/whoami")
        answer = await amina.receives(f"id is {AMINA}")
        await api.callbacks_done()
        await eventually(lambda: rows(settings.storage_path, "SELECT delivered_at IS NOT NULL, read_at IS NOT NULL"
                                      " FROM outbox WHERE message_id = ?", answer.id) == [(1, 0)])
        api.callback(answer.id, AMINA, "read")
        await api.callbacks_done()
        await eventually(lambda: rows(settings.storage_path, "SELECT read_at IS NOT NULL FROM outbox"
                                      " WHERE message_id = ?", answer.id) == [(1,)])
        assert set(api.webhook_answers) == {200}
    finally:
        await app.stop()


async def test_a_redelivered_message_is_handled_once(api, tmp_path):
    settings = network_settings(tmp_path, api)
    app = await start_app(settings)
    try:
        amina = api.person(AMINA, "Amina")
        await amina.says("/whoami")
        await amina.receives(f"id is {AMINA}")
        assert await api.redeliver() == 200  # Meta missed our answer and posts it again
        await amina.says("/help")
        await amina.receives("What I can do")
        assert sum(f"id is {AMINA}" in text for text in amina.texts()) == 1
        assert rows(settings.storage_path, "SELECT count(*) FROM inbound WHERE user_id = ?", AMINA) == [(2,)]
    finally:
        await app.stop()


async def test_a_window_found_closed_by_a_failed_status_holds_the_message_until_the_person_writes(tmp_path):
    async with FakeWhatsApp(window_errors="status") as api:
        settings = network_settings(tmp_path, api)
        app = await start_app(settings)
        try:
            fatou, amina, bola = api.person(FATOU, "Fatou"), api.person(AMINA, "Amina"), api.person(BOLA, "Bola")
            await asyncio.gather(join(fatou, "/start", name="Fatou"), join(amina), join(bola))
            api.last_inbound[BOLA] -= 25 * 3600  # Meta counts Bola's last message as older than the bot does
            await ask(amina, "Who pays for school meals in your country?")
            await fatou.taps("Approve", on=await fatou.receives("waiting for approval"))
            await eventually(lambda: rows(settings.storage_path, "SELECT state, not_before > 1e17 FROM outbox"
                                          " WHERE user_id = ? AND purpose = 'broadcast'", BOLA) == [("queued", 1)])
            refused_once = [m for m in bola.messages if "school meals" in m.text]
            assert len(refused_once) == 1  # accepted, then reported failed with 131047
            await bola.says("/help")
            await bola.receives("What I can do")
            await bola.receives("Who pays for school meals")
            await eventually(lambda: rows(settings.storage_path, "SELECT state FROM outbox WHERE user_id = ?"
                                          " AND purpose = 'broadcast'", BOLA) == [("sent",)])
        finally:
            await app.stop()


async def test_many_messages_from_one_person_are_answered_paced_not_dropped(tmp_path):
    async with FakeWhatsApp(pair_burst=2, pair_interval=0.25) as api:
        settings = network_settings(tmp_path, api, per_chat_interval=0.3)
        app = await start_app(settings)
        try:
            amina = api.person(AMINA, "Amina")
            for _ in range(10):
                await amina.says("/whoami")
            await eventually(lambda: sum(f"id is {AMINA}" in text for text in amina.texts()) == 10, timeout=15)
            assert [r.refused for r in api.refused] == []  # no 131056: the bot kept Meta's pace
            times = [m.at for m in amina.messages]
            assert times[-1] - times[0] >= 0.3 * (10 - 2) * 0.9
        finally:
            await app.stop()


async def test_one_network_with_a_whatsapp_member_and_a_telegram_member(api, tmp_path):
    from adapters.telegram import TelegramSettings

    async with FakeTelegram() as telegram:
        settings = network_settings(
            tmp_path, api, others={"telegram": TelegramSettings(token=telegram.token, base_url=telegram.base_url)},
            facilitators={"whatsapp": frozenset({FATOU})})
        app = await start_app(settings)
        try:
            fatou, amina = api.person(FATOU, "Fatou"), api.person(AMINA, "Amina")
            tom = telegram.user(501, "Tom")
            await asyncio.gather(join(fatou, "/start", name="Fatou"), join(amina), join_telegram(tom, "Tom"))
            await ask(amina, "How do we keep girls in secondary school?")
            await fatou.taps("Approve", on=await fatou.receives("waiting for approval"))
            question = await tom.receives("Question #1 from Amina")
            await tom.press("Reply", on=question)
            await tom.receives("Write your reply")
            await tom.send("Cash conditional on attendance, with mentoring.")
            forwarded = await amina.receives("mentoring")
            assert "Tom" in forwarded.text
            assert api.refused == [] and telegram.refused == []
        finally:
            await app.stop()


# --- configuration and the command line ------------------------------------------------------


async def test_check_online_tells_a_wrong_token_a_wrong_number_id_and_an_unreachable_api(api):
    from dataclasses import replace

    settings = whatsapp_settings(api)
    assert await check_online(settings) is None
    wrong_token = await check_online(replace(settings, access_token="EAA-wrong"))
    assert wrong_token and "access token was refused" in wrong_token
    wrong_id = await check_online(replace(settings, phone_number_id="123"))
    assert wrong_id and "phone number id 123 is not known" in wrong_id
    unreachable = await check_online(replace(settings, api_base_url=f"http://127.0.0.1:{free_port()}"))
    assert unreachable and "cannot reach the Graph API" in unreachable


def whatsapp_config(tmp_path: Path, api_url: str, port: int, extra: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[community]\nname = "Subprocess Network"\n{storage_toml(tmp_path / "run.db")}'
        f'[facilitators]\nwhatsapp = ["+221 77 000 00 01"]\n'
        f'[delivery]\nper_chat_interval = {{ whatsapp = 0 }}\n'
        f'[whatsapp]\nphone_number_id = "{PHONE_NUMBER_ID}"\naccess_token = "env:WA_TOKEN"\n'
        f'app_secret = "env:WA_APP_SECRET"\nverify_token = "env:WA_VERIFY_TOKEN"\napi_base_url = "{api_url}"\n'
        f'host = "127.0.0.1"\nport = {port}\nbroadcast_template = "network_update"\n{extra}', encoding="utf-8")
    return path


def environment(api: FakeWhatsApp) -> dict[str, str]:
    return {**os.environ, "WA_TOKEN": api.access_token, "WA_APP_SECRET": api.app_secret,
            "WA_VERIFY_TOKEN": VERIFY_TOKEN}


async def test_check_config_reads_the_section_and_reaches_the_api_from_the_command_line(api, tmp_path):
    async def check(config: Path, *flags: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "check-config", "--config", str(config), *flags, cwd=ROOT,
            env=env or environment(api), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=60)
        return process.returncode or 0, out.decode(), err.decode()

    code, out, err = await check(whatsapp_config(tmp_path, api.base_url, free_port()), "--online")
    assert code == 0 and "platforms: whatsapp" in out and "every enabled platform answered" in out, err
    code, out, err = await check(whatsapp_config(tmp_path, f"http://127.0.0.1:{free_port()}", free_port()), "--online")
    assert code == 1 and "whatsapp: cannot reach the Graph API" in err and "Traceback" not in err
    env = {key: value for key, value in environment(api).items() if key != "WA_APP_SECRET"}
    code, out, err = await check(whatsapp_config(tmp_path, api.base_url, free_port()), env=env)
    assert code == 2 and "whatsapp.app_secret: environment variable WA_APP_SECRET is not set" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    code, out, err = await check(whatsapp_config(tmp_path, api.base_url, free_port(), 'api_version = "21"\n'))
    assert code == 2 and "whatsapp.api_version" in err


async def test_facilitator_run_serves_whatsapp_end_to_end_in_its_own_process(api, tmp_path):
    port = free_port()
    api.webhook_url = f"http://127.0.0.1:{port}/whatsapp/webhook"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "run", "--config", str(whatsapp_config(tmp_path, api.base_url, port)),
        cwd=ROOT, env=environment(api), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    try:
        challenge = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "42"}
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 30
            while True:
                try:
                    async with session.get(api.webhook_url, params=challenge) as response:
                        assert response.status == 200 and await response.text() == "42"
                        break
                except aiohttp.ClientConnectionError:
                    assert time.monotonic() < deadline and process.returncode is None, "the bot did not start"
                    await asyncio.sleep(0.1)
        fatou, amina = api.person(FATOU, "Fatou"), api.person(AMINA, "Amina Yusuf")
        forged = amina._message("text", {"text": {"body": "/help"}}, None, None)
        assert await api.post(forged, secret="forged") == 401
        await asyncio.gather(join(fatou, "/start", name="Fatou"), join(amina))
        await ask(amina, "Where are the best evaluations of school feeding?")
        card = await fatou.receives("waiting for approval")
        assert card.kind == "list" and "Amina Yusuf" in card.text
        await fatou.taps("Approve", on=card)
        await amina.receives("was approved and shared")
        await fatou.receives("Question #1 was approved by Fatou")  # her card: she gets no copy of what she approved
        assert api.refused == []
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=15)
    stderr = (await process.stderr.read()).decode()
    assert process.returncode == 0 and "Traceback" not in stderr, stderr[-2000:]
    assert "refused a webhook POST" in stderr
    assert rows(tmp_path / "run.db", "SELECT state FROM discussion") == [("approved",)]


async def test_a_document_is_uploaded_then_sent_with_its_text_as_caption_or_after_a_long_text(api, adapter):
    adapter, inbox, clock = adapter
    to = Address("whatsapp", CARLA, CARLA)
    api.last_inbound[CARLA] = clock.now
    adapter.windows.wrote(CARLA, clock.now)
    data = b'{"profile": {"name": "Carla"}}'
    document = Document("my-data.json", "application/json", data)
    sent = await adapter.send(Envelope(to, Message(spans=(Span("Everything held about you."),), document=document)))
    shown = api.chats[CARLA][-1]
    assert isinstance(sent, Sent) and sent.message_id == shown.id and shown.kind == "document"
    assert shown.text == "Everything held about you." and shown.document["data"] == data
    assert shown.document["filename"] == "my-data.json" and shown.document["mime_type"] == "application/json"
    long_text = "Every district trained its own agents. " * 40
    sent = await adapter.send(Envelope(to, Message(spans=(Span(long_text),), document=document)))
    assert [m.kind for m in api.chats[CARLA][-2:]] == ["text", "document"] and api.chats[CARLA][-1].text == ""
    assert api.refused == []
