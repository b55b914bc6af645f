"""One contract, every adapter: what a person does reaches the core as the same events, and
what the core sends (a message, a card, a prompt, a notice, an edit) is shown with its words
and buttons intact. Each adapter runs for real: the memory platform, python-telegram-bot
against the fake Bot API, and the web chat's server with a real WebSocket client."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import pytest

from adapters.telegram import TelegramAdapter, TelegramSettings
from adapters.webchat import WebChatAdapter, WebChatSettings
from bot.ports import (
    Address, Adapter, Button, ButtonPress, Card, Envelope, Field, IncomingText, Message, Notice, Prompt, Sent, Span,
    Style,
)
from tests.fakes.telegram_api import FakeTelegram
from tests.inbox_recorder import RecordingInbox
from tests.memory_platform import MemoryPlatform
from tests.webchat_network import SECRET, Visitor


@dataclass
class Shown:
    text: str
    labels: list[str]


class Harness:
    """An adapter started against a recording inbox, and one person using it."""

    adapter: Adapter
    inbox: RecordingInbox
    person: Address

    async def writes(self, text: str, reply_to: str | None = None) -> None: ...

    async def presses(self, message_id: str, label: str) -> None: ...

    def shown(self, message_id: str) -> Shown | None: ...

    def everything_shown(self) -> list[Shown]: ...

    def toasts(self) -> list[str]: ...

    async def send(self, message: Any) -> Sent:
        result = await self.adapter.send(Envelope(self.person, message))
        assert isinstance(result, Sent), result
        return result


class MemoryHarness(Harness):
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Harness]:
        self.adapter = self.platform = MemoryPlatform()
        self.inbox = RecordingInbox()
        await self.platform.start(self.inbox)
        self.person = Address("memory", "p1", "p1")
        yield self

    async def writes(self, text: str, reply_to: str | None = None) -> None:
        received = next((m for m in self.platform.chats.get("p1", []) if m.message_id == reply_to), None)
        await self.platform.person("p1").says(text, reply_to=received)

    async def presses(self, message_id: str, label: str) -> None:
        received = next(m for m in self.platform.chats["p1"] if m.message_id == message_id)
        token = next(b.token for row in received.message.buttons for b in row if b.label == label)
        await self.inbox.handle(ButtonPress(self.platform.person("p1")._sender(), token, message_id, "press-1"))

    def shown(self, message_id: str) -> Shown | None:
        received = next((m for m in self.platform.chats.get("p1", []) if m.message_id == message_id), None)
        return Shown(received.text, received.labels()) if received else None

    def everything_shown(self) -> list[Shown]:
        return [Shown(m.text, m.labels()) for m in self.platform.chats.get("p1", [])]

    def toasts(self) -> list[str]:
        return [notice.text for notice in self.platform.notices.values()]


class TelegramHarness(Harness):
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Harness]:
        async with FakeTelegram() as api:
            self.api = api
            self.inbox = RecordingInbox()
            self.adapter = TelegramAdapter(TelegramSettings(token=api.token, base_url=api.base_url))
            await self.adapter.start(self.inbox)
            self.user = api.user(7001, "Pat")
            self.person = Address("telegram", "7001", "7001")
            try:
                yield self
            finally:
                await self.adapter.stop()

    def _message(self, message_id: str):  # type: ignore[no-untyped-def]
        return next((m for m in self.api.chats.get(7001, []) if str(m.message_id) == message_id), None)

    async def writes(self, text: str, reply_to: str | None = None) -> None:
        await self.user.send(text, reply_to=self._message(reply_to) if reply_to else None)

    async def presses(self, message_id: str, label: str) -> None:
        await self.user.press(label, on=self._message(message_id))

    def shown(self, message_id: str) -> Shown | None:
        message = self._message(message_id)
        return Shown(message.text, message.labels()) if message else None

    def everything_shown(self) -> list[Shown]:
        return [Shown(m.text, m.labels()) for m in self.api.chats.get(7001, [])]

    def toasts(self) -> list[str]:
        return [answer.get("text", "") for answer in self.api.answers]


class WebChatHarness(Harness):
    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Harness]:
        self.inbox = RecordingInbox()
        self.adapter = WebChatAdapter(WebChatSettings(host="127.0.0.1", port=0, secret=SECRET))
        await self.adapter.start(self.inbox)
        self.visitor = Visitor(self.adapter.url)
        chosen = await (await self.visitor.pick("new")).json()
        self.person = Address("webchat", chosen["user_id"], chosen["user_id"])
        socket = await self.visitor.connect()
        self.frames: dict[str, dict] = {}
        self.order: list[str] = []
        self.notices: list[str] = []
        reader = asyncio.create_task(self._read(socket))
        try:
            yield self
        finally:
            reader.cancel()
            await self.visitor.close()
            await self.adapter.stop()

    async def _read(self, socket: Any) -> None:
        async for frame in socket:
            data = frame.json()
            if data["type"] == "message":
                self.frames[data["id"]] = data
                self.order.append(data["id"])
            elif data["type"] == "edit":
                self.frames[data["id"]] = {**self.frames.get(data["id"], {}), **data}
            elif data["type"] == "notice":
                self.notices.append(data["text"])

    async def writes(self, text: str, reply_to: str | None = None) -> None:
        await self.visitor.send({"type": "text", "text": text, "reply_to": reply_to})

    async def presses(self, message_id: str, label: str) -> None:
        frame = self.frames[message_id]
        token = next(b["token"] for row in frame["buttons"] for b in row if b["label"] == label)
        await self.visitor.send({"type": "press", "token": token, "message_id": message_id})

    def shown(self, message_id: str) -> Shown | None:
        frame = self.frames.get(message_id)
        if frame is None:
            return None
        return Shown("".join(span["text"] for span in frame["spans"]),
                     [b["label"] for row in frame["buttons"] for b in row])

    def everything_shown(self) -> list[Shown]:
        return [shown for message_id in self.order if (shown := self.shown(message_id))]

    def toasts(self) -> list[str]:
        return list(self.notices)


@pytest.fixture(params=[MemoryHarness, TelegramHarness, WebChatHarness], ids=["memory", "telegram", "webchat"])
async def harness(request) -> AsyncIterator[Harness]:  # type: ignore[no-untyped-def]
    async with request.param().running() as running:
        yield running


async def eventually(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    async with asyncio.timeout(timeout):
        while not (result := check()):
            await asyncio.sleep(0.02)
    return result


MEMBER_TEXT = "Is <b>5 < 6</b> & \"safe\"? <!channel> *bold* _it_"


async def test_a_person_writing_reaches_the_core_as_text_from_them(harness):
    await harness.writes("How do cash transfers reach remote areas?")
    [event] = await harness.inbox.wait_for(1)
    assert isinstance(event, IncomingText) and event.text == "How do cash transfers reach remote areas?"
    assert event.sender.address.platform == harness.adapter.platform
    assert event.sender.address.user_id == harness.person.user_id and not event.sender.in_group


async def test_a_message_shows_member_written_text_exactly_and_its_buttons_in_order(harness):
    sent = await harness.send(Message((Span("Question from "), Span("Amina", bold=True), Span("\n\n"),
                                       Span(MEMBER_TEXT)),
                                      ((Button("Reply", "rp.1..x"), Button("Reply without my name", "rp.1.a.x")),)))
    shown = await eventually(lambda: harness.shown(sent.message_id))
    assert shown.text == f"Question from Amina\n\n{MEMBER_TEXT}"
    assert shown.labels == ["Reply", "Reply without my name"]


async def test_a_card_shows_its_title_fields_and_body_and_its_actions(harness):
    card = Card("Question #3 is waiting for approval", fields=(Field("From", "Amina (UNICEF)"), Field("Language", "French")),
                body=(Span(MEMBER_TEXT, italic=True),), status="Delivered 12 / 40",
                buttons=((Button("Approve", "ap.3..x", Style.PRIMARY), Button("Reject", "rj.3..x", Style.DANGER)),))
    sent = await harness.send(card)
    shown = await eventually(lambda: harness.shown(sent.message_id))
    for part in ("Question #3 is waiting for approval", "Delivered 12 / 40", "From: Amina (UNICEF)", "Language: French",
                 MEMBER_TEXT):
        assert part in shown.text
    assert shown.labels == ["Approve", "Reject"]


async def test_a_prompt_asks_its_question_and_shows_the_text_to_change(harness):
    prompt = Prompt((Span("Send the new text of question #3. Its text now:"),), label="The text", token="fm.1.x.y",
                    prefill="cash transfer kids remote how??",
                    buttons=((Button("Reject without a reason", "rn.3..x", Style.DANGER),),))
    sent = await harness.send(prompt)
    shown = await eventually(lambda: harness.shown(sent.message_id))
    # The text to change may come as a message of its own, so that it can be copied alone.
    everything = "\n".join(each.text for each in harness.everything_shown())
    assert "Send the new text of question #3" in everything and "cash transfer kids remote how??" in everything
    assert shown.labels == ["Reject without a reason"]


async def test_a_press_reaches_the_core_with_its_token_and_its_notice_shows_as_a_toast(harness):
    sent = await harness.send(Message.plain("Shall I send it?", [[Button("Submit", "sb.1.n.signature")]]))
    await eventually(lambda: harness.shown(sent.message_id))
    await harness.presses(sent.message_id, "Submit")
    [event] = await harness.inbox.wait_for(1)
    assert isinstance(event, ButtonPress) and event.token == "sb.1.n.signature"
    assert event.sender.address.user_id == harness.person.user_id and event.interaction
    assert harness.adapter.capabilities.can_toast
    result = await harness.adapter.send(Envelope(harness.person, Notice("Sent to the facilitators", event.interaction)))
    assert isinstance(result, Sent)
    await eventually(lambda: "Sent to the facilitators" in harness.toasts())


async def test_an_edit_changes_the_card_in_place(harness):
    assert harness.adapter.capabilities.can_edit
    sent = await harness.send(Card("Question #3 is waiting for approval",
                                   buttons=((Button("Approve", "ap.3..x"),),)))
    await eventually(lambda: harness.shown(sent.message_id))
    edited = await harness.adapter.edit(Envelope(harness.person, Card("Question #3 was approved by Fatou")),
                                        sent.message_id)
    assert isinstance(edited, Sent)
    shown = await eventually(lambda: (s := harness.shown(sent.message_id)) and "approved" in s.text and s)
    assert shown.labels == [] and len(harness.everything_shown()) == 1


async def test_a_message_longer_than_the_platform_takes_arrives_whole_with_its_buttons_last(harness):
    sentence = "Cash transfers reached children through mobile agents in every district. "
    text = sentence * (harness.adapter.capabilities.max_text // len(sentence) + 20)
    sent = await harness.send(Message.plain(text, [[Button("Reply", "rp.1..x")]]))
    await eventually(lambda: harness.shown(sent.message_id))
    shown = harness.everything_shown()
    assert "".join(s.text for s in shown).replace(" ", "") == text.replace(" ", "")
    assert shown[-1].labels == ["Reply"] and all(not s.labels for s in shown[:-1])


async def test_the_platforms_reply_to_names_the_message_replied_to(harness):
    assert harness.adapter.capabilities.can_reply_to
    sent = await harness.send(Message.plain("Question #1 from Amina", [[Button("Reply", "rp.1..x")]]))
    await eventually(lambda: harness.shown(sent.message_id))
    await harness.writes("Mobile money agents worked for us.", reply_to=sent.message_id)
    [event] = await harness.inbox.wait_for(1)
    assert isinstance(event, IncomingText) and event.reply_to == sent.message_id
