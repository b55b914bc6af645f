"""Platform faults: the fake platforms fail and recover (Telegram answering 500 and then 429
in the middle of a broadcast, refusing connections for the whole of a question's life, the
WhatsApp Cloud API answering 503) and every message still arrives exactly once, or twice at
most for a message in flight at the fault that the platform took but answered with an error.

The delivery engine's backoff (1, 2, 4... seconds) is scaled down here (see `quick_retries`),
so that a fault of a few seconds spans as many attempts as a real outage twenty times longer.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Callable

import pytest

from adapters.telegram import TelegramSettings
from bot.app import App
from bot.config import DeliveryConfig
from bot.ports import DeliveryResult, Envelope, RetryLater
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.memory_platform import MemoryPlatform
from tests.network import Network, settings_for
from tests.slack_network import enrol
from tests.storage_backend import rows as backend_rows
from tests.telegram_network import FACILITATOR_ID, telegram_settings
from tests.test_flow import ask
from tests.whatsapp_network import FATOU
from tests.whatsapp_network import network_settings as whatsapp_and_others

QUESTION = "Question #1 from"
BACKOFF_SCALE = 0.05  # 1 s of the engine's backoff is 50 ms here


def quick_retries(app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    """The engine's exponential backoff, with its jitter and ceiling, scaled down."""
    real = app.delivery.backoff
    monkeypatch.setattr(app.delivery, "backoff", lambda attempts: real(attempts) * BACKOFF_SCALE)


def rows(path: Path, sql: str, *args: object) -> list[tuple]:
    return backend_rows(path, sql, args)


def undelivered(path: Path) -> list[tuple]:
    return rows(path, "SELECT id, user_id, purpose, state, attempts, reason FROM outbox WHERE state != 'sent'")


async def eventually(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        await asyncio.sleep(0.02)


async def drained(path: Path, timeout: float = 15) -> None:
    """The outbox after the fault: every row sent in the end, none given up; a row still
    waiting for its next try (up to 64 x 50 ms after seven attempts) is waited for."""
    await eventually(lambda: not any(state == "queued" for _, _, _, state, _, _ in undelivered(path)), timeout,
                     "no row waits in the outbox")
    assert undelivered(path) == [], "rows the engine gave up"


# --- (a) Telegram fails in the middle of a broadcast -------------------------------------------


async def test_a_broadcast_through_500s_and_a_flood_wait_reaches_every_member_once(tmp_path, monkeypatch):
    members = [701 + number for number in range(30)]
    async with FakeTelegram(per_second=1000) as api:
        # 10 a second: the broadcast lasts 3 seconds, long enough to fail in its middle.
        settings = replace(telegram_settings(tmp_path, api),
                           delivery=DeliveryConfig(messages_per_second={"telegram": 10}))
        app = await App.build(settings)
        for user in (FACILITATOR_ID, 600, *members):
            await enrol(app, "telegram", str(user), str(user), f"Member {user}")
        await app.start()
        quick_retries(app, monkeypatch)
        try:
            fatou, amina = api.user(FACILITATOR_ID, "Fatou"), api.user(600, "Amina")
            await amina.send("How do cash transfers reach children in remote areas?")
            await amina.press("Submit", on=await amina.receives("Here is your question"))
            await fatou.press("Approve", on=await fatou.receives("waiting for approval"))

            def having_it() -> int:
                return sum(any(m.text.startswith(QUESTION) for m in api.chats.get(user, [])) for user in members)

            await eventually(lambda: having_it() >= 8, 10, "the broadcast is under way")
            # Two messages in flight reach their chats, but the bot is told 500: it must send them again.
            api.fail_with(500, for_seconds=1.5, carried_out=2)
            await asyncio.sleep(1.5)
            assert having_it() < len(members), "the broadcast ended before the fault: nothing was tested"
            # A flood wait, until it has met a send (the rows that failed may all be waiting for
            # their next try just then: a fixed second could fall between two tries).
            api.fail_with(429, for_seconds=10.0, retry_after=1)
            await eventually(lambda: any((request.refused or "").startswith("Too Many Requests")
                                         for request in api.requests if request.method == "sendMessage"), 10,
                             "a send meets the flood wait")
            api.recover()
            await eventually(lambda: having_it() == len(members), 20, "every member has the question")
            await drained(settings.storage_path)
            await asyncio.sleep(0.5)  # a late duplicate would land now
        finally:
            await app.stop()

    received = Counter(chat for chat in members for m in api.chats.get(chat, []) if m.text.startswith(QUESTION))
    lost = [user for user in members if received[user] == 0]
    duplicated = {user: count for user, count in received.items() if count > 1}
    print(f"broadcast to {len(members)} through the fault: lost {len(lost)}, duplicated {duplicated} "
          f"(carried out despite the error: {api.carried_out})")
    assert lost == []
    assert all(count == 2 for count in duplicated.values()), duplicated
    assert set(duplicated) <= set(api.carried_out), "a message the platform never took went twice"
    sends = [request for request in api.requests if request.method == "sendMessage"]
    assert any(r.refused == "Internal Server Error" for r in sends) and any(
        (r.refused or "").startswith("Too Many Requests") for r in sends), "the fault never hit a send"
    # (c) the retries: rows went again after the fault (and `drained`: none was left or given up).
    tried_again = "SELECT count(*) FROM outbox WHERE purpose = 'broadcast' AND attempts > 0"
    assert rows(settings.storage_path, tried_again)[0][0] > 0
    assert undelivered(settings.storage_path) == []


# --- (b) one platform down while another works ---------------------------------------------------

WHATSAPP_MEMBERS = ["2348000000011", "2348000000012", "2348000000013", "2348000000014", "2348000000015"]
TELEGRAM_MEMBERS = [711, 712, 713, 714, 715]
AMINA_ON_WHATSAPP, AMINA_ON_TELEGRAM = "2348000000001", 600


async def two_platforms(tmp_path: Path, whatsapp: FakeWhatsApp, telegram: FakeTelegram, on_whatsapp: bool,
                        max_attempts: int = 8) -> App:
    """A network on WhatsApp and Telegram, five members on each; the asker and the facilitator
    on the platform that keeps working (`on_whatsapp`), the asker's own question not counted."""
    facilitators = ({"whatsapp": frozenset({FATOU})} if on_whatsapp
                    else {"telegram": frozenset({str(FACILITATOR_ID)}), "whatsapp": frozenset()})
    settings = whatsapp_and_others(
        tmp_path, whatsapp, others={"telegram": TelegramSettings(token=telegram.token, base_url=telegram.base_url)},
        facilitators=facilitators)
    settings = replace(settings, delivery=replace(settings.delivery, max_attempts=max_attempts))
    app = await App.build(settings)
    for phone in [*WHATSAPP_MEMBERS, FATOU, AMINA_ON_WHATSAPP]:
        await enrol(app, "whatsapp", phone, phone, f"Member {phone[-2:]}")
        whatsapp.last_inbound[phone] = time.time()  # each wrote lately: free-form messages may go
    for user in [*TELEGRAM_MEMBERS, FACILITATOR_ID, AMINA_ON_TELEGRAM]:
        await enrol(app, "telegram", str(user), str(user), f"Member {user}")
    await app.start()
    return app


def questions_on_telegram(telegram: FakeTelegram) -> Counter[int]:
    return Counter(user for user in TELEGRAM_MEMBERS for m in telegram.chats.get(user, [])
                   if m.text.startswith(QUESTION))


def questions_on_whatsapp(whatsapp: FakeWhatsApp) -> Counter[str]:
    return Counter(phone for phone in WHATSAPP_MEMBERS for m in whatsapp.chats.get(phone, [])
                   if QUESTION in m.plain)


def waiting_rows(path: Path, platform: str) -> list[tuple]:
    return rows(path, "SELECT state, attempts FROM outbox WHERE platform = ? AND purpose = 'broadcast'", platform)


def tried(broadcast_rows: list[tuple], times: int) -> bool:
    """The broadcast's rows are there, and each was tried this many times or given up."""
    return bool(broadcast_rows) and all(state != "queued" or attempts >= times for state, attempts in broadcast_rows)


async def test_whatsapp_members_are_answered_while_telegram_refuses_connections_then_telegram_catches_up(
        tmp_path, monkeypatch):
    async with FakeWhatsApp(pair_burst=10_000) as whatsapp, FakeTelegram() as telegram:
        app = await two_platforms(tmp_path, whatsapp, telegram, on_whatsapp=True)
        quick_retries(app, monkeypatch)
        path = app.settings.storage_path
        try:
            await telegram.go_down()
            fatou, amina = whatsapp.person(FATOU, "Fatou"), whatsapp.person(AMINA_ON_WHATSAPP, "Amina")
            bola = whatsapp.person(WHATSAPP_MEMBERS[0], "Bola")
            await amina.says("How do cash transfers reach children in remote areas?")
            await amina.taps("Submit", on=await amina.receives("Here is your question"))
            await fatou.taps("Approve", on=await fatou.receives("waiting for approval"))
            # Promptly on WhatsApp, Telegram's retries in the background notwithstanding.
            question = await bola.receives(QUESTION, timeout=3)
            await eventually(lambda: len(questions_on_whatsapp(whatsapp)) == len(WHATSAPP_MEMBERS), 3,
                             "every WhatsApp member has the question")
            await bola.says("Mobile money agents in each district.", reply_to=question)
            await amina.receives("Mobile money agents", timeout=3)
            # Telegram's rows wait, retried and not given up.
            await eventually(lambda: tried(waiting_rows(path, "telegram"), 2), 5,
                             "the Telegram rows have been tried again")
            assert {state for state, _ in waiting_rows(path, "telegram")} == {"queued"}
            assert questions_on_telegram(telegram) == Counter()

            await telegram.come_back()
            await eventually(lambda: len(questions_on_telegram(telegram)) == len(TELEGRAM_MEMBERS), 15,
                             "every Telegram member has the question after Telegram came back")
            await drained(path)
            await asyncio.sleep(0.5)
        finally:
            await app.stop()
    assert questions_on_telegram(telegram) == Counter({user: 1 for user in TELEGRAM_MEMBERS})
    assert questions_on_whatsapp(whatsapp) == Counter({phone: 1 for phone in WHATSAPP_MEMBERS})
    assert undelivered(path) == []


async def test_telegram_members_are_answered_while_whatsapp_answers_503_then_whatsapp_catches_up(
        tmp_path, monkeypatch):
    async with FakeWhatsApp(pair_burst=10_000) as whatsapp, FakeTelegram() as telegram:
        app = await two_platforms(tmp_path, whatsapp, telegram, on_whatsapp=False)
        quick_retries(app, monkeypatch)
        path = app.settings.storage_path
        try:
            whatsapp.fail_with(503)
            fatou, amina = telegram.user(FACILITATOR_ID, "Fatou"), telegram.user(AMINA_ON_TELEGRAM, "Amina")
            bola = telegram.user(TELEGRAM_MEMBERS[0], "Bola")
            await amina.send("How do cash transfers reach children in remote areas?")
            await amina.press("Submit", on=await amina.receives("Here is your question"))
            await fatou.press("Approve", on=await fatou.receives("waiting for approval"))
            question = await bola.receives(QUESTION, timeout=3)
            await eventually(lambda: len(questions_on_telegram(telegram)) == len(TELEGRAM_MEMBERS), 3,
                             "every Telegram member has the question")
            await bola.reply_to(question, "Mobile money agents in each district.")
            await amina.receives("Mobile money agents", timeout=3)
            await eventually(lambda: tried(waiting_rows(path, "whatsapp"), 2), 5,
                             "the WhatsApp rows have been tried again")
            assert {state for state, _ in waiting_rows(path, "whatsapp")} == {"queued"}
            assert questions_on_whatsapp(whatsapp) == Counter()

            whatsapp.recover()
            await eventually(lambda: len(questions_on_whatsapp(whatsapp)) == len(WHATSAPP_MEMBERS), 15,
                             "every WhatsApp member has the question after the Cloud API recovered")
            await drained(path)
            await asyncio.sleep(0.5)
        finally:
            await app.stop()
    assert questions_on_whatsapp(whatsapp) == Counter({phone: 1 for phone in WHATSAPP_MEMBERS})
    assert questions_on_telegram(telegram) == Counter({user: 1 for user in TELEGRAM_MEMBERS})
    assert any(request.code == 2 for request in whatsapp.requests), "the Cloud API never answered 503"
    assert undelivered(path) == []


# --- (c) an outage longer than the attempts a message is given ---------------------------------


async def test_an_outage_longer_than_the_retry_budget_gives_up_no_message(tmp_path, monkeypatch):
    """Three attempts (50 ms and 100 ms apart here) are spent well inside a 2-second outage of
    the Cloud API: the platform is down, not the messages, so they wait for it rather than
    being given up, and go once it is back."""
    async with FakeWhatsApp(pair_burst=10_000) as whatsapp, FakeTelegram() as telegram:
        app = await two_platforms(tmp_path, whatsapp, telegram, on_whatsapp=False, max_attempts=3)
        quick_retries(app, monkeypatch)
        path = app.settings.storage_path
        try:
            whatsapp.fail_with(500, for_seconds=2.0)
            fatou, amina = telegram.user(FACILITATOR_ID, "Fatou"), telegram.user(AMINA_ON_TELEGRAM, "Amina")
            await amina.send("How do cash transfers reach children in remote areas?")
            await amina.press("Submit", on=await amina.receives("Here is your question"))
            await fatou.press("Approve", on=await fatou.receives("waiting for approval"))
            await eventually(lambda: tried(waiting_rows(path, "whatsapp"), 3), 5,
                             "every WhatsApp row has used its three attempts")
            assert {state for state, _ in waiting_rows(path, "whatsapp")} == {"queued"}
            await eventually(lambda: len(questions_on_whatsapp(whatsapp)) == len(WHATSAPP_MEMBERS), 15,
                             "every WhatsApp member has the question after the outage")
            await drained(path)
            await asyncio.sleep(0.3)
        finally:
            await app.stop()
    assert questions_on_whatsapp(whatsapp) == Counter({phone: 1 for phone in WHATSAPP_MEMBERS})
    assert undelivered(path) == []


class RefusingSome(MemoryPlatform):
    """The in-memory platform, refusing every message to some people as a retryable failure."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused
        self.refusals = 0

    async def send(self, envelope: Envelope) -> DeliveryResult:
        if envelope.to.user_id in self.refused:
            self.refusals += 1
            return RetryLater("the platform refused this message")
        return await super().send(envelope)


async def test_a_message_the_platform_refuses_while_it_takes_the_others_is_still_given_up(tmp_path, monkeypatch):
    """The other side of waiting out an outage: one person's message that keeps failing while
    everyone else's goes is given up after `max_attempts`, not retried for ever."""
    platform = RefusingSome({"stuck"})
    settings = replace(settings_for(tmp_path), delivery=DeliveryConfig(max_attempts=3))
    network = await Network(settings, platform=platform).start()
    quick_retries(network.app, monkeypatch)
    try:
        fatou, amina = await network.member("f1", "Fatou"), await network.member("a1", "Amina")
        bola = await network.member("b1", "Bola")
        await enrol(network.app, "memory", "stuck", "stuck", "Stuck")
        await ask(network, amina, "How do cash transfers reach children in remote areas?")
        await fatou.presses("Approve", on=await fatou.receives("waiting for approval"))
        await bola.receives(QUESTION)
        path = settings.storage_path
        await eventually(lambda: rows(path, "SELECT state FROM outbox WHERE user_id = 'stuck'") == [("failed",)], 5,
                         "the stuck member's message is given up")
    finally:
        await network.stop()
    assert platform.refusals == 3
    assert rows(path, "SELECT count(*) FROM outbox WHERE state != 'sent' AND user_id != 'stuck'") == [(0,)]
