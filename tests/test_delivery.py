"""The delivery engine on a real SQLite outbox: order, retries, permanent failures, pacing,
edits and stopping, with a scriptable in-memory platform."""

import asyncio
import time

import pytest

from bot.clock import SystemClock
from bot.ports import (
    Address, Capabilities, Envelope, Message, Notice, OutsideWindow, Priority, Purpose, RetryLater, Sent, Undeliverable,
)
from bot.services.delivery import Delivery
from bot.services.pacing import Pacer
from storage.members import SqliteMemberStore
from storage.opening import open_storage
from storage.outbox import CLAIM_FOR, SqliteOutbox
from tests.clock import ManualClock
from tests.storage_backend import rows, storage_url


class ScriptedPlatform:
    """Records what it is asked to send; answers as scripted per recipient."""

    platform = "memory"

    def __init__(self, rate: float = 1000.0, per_chat: float = 0.0) -> None:
        self.capabilities = Capabilities(4096, 10, 64, True, True, messages_per_second=rate, per_chat_interval=per_chat)
        self.sent: list[tuple[str, str, float]] = []  # (user, text, when)
        self.edited: list[tuple[str, str, str]] = []
        self.script: dict[str, list] = {}
        self._ids = 0

    async def start(self, inbox) -> None: ...

    async def stop(self) -> None: ...

    async def send(self, envelope: Envelope):
        to, message = envelope.to, envelope.message
        answers = self.script.get(to.user_id)
        if answers:
            answer = answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            if answer is not None:
                return answer
        self._ids += 1
        self.sent.append((to.user_id, message.text, time.monotonic()))
        return Sent(str(self._ids))

    async def edit(self, envelope: Envelope, message_id: str):
        self.edited.append((envelope.to.user_id, message_id, envelope.message.text))
        return Sent(message_id)


@pytest.fixture
async def database(tmp_path):
    database = await open_storage(tmp_path / "outbox.db", storage_url(tmp_path / "outbox.db"))
    yield database
    await database.close()


def envelope(user: str, text: str, priority=Priority.ANSWER, purpose=Purpose.ANSWER) -> Envelope:
    return Envelope(Address("memory", user, user), Message.plain(text), purpose, priority)


async def run(database, platform, **options) -> Delivery:
    delivery = Delivery(SqliteOutbox(database), SystemClock(), SqliteMemberStore(database), **options)
    delivery.add(platform)
    await delivery.start()
    return delivery


async def until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def test_answers_go_before_cards_before_broadcasts(database):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform()
    await outbox.enqueue([envelope(f"b{n}", "broadcast", Priority.BROADCAST, Purpose.BROADCAST) for n in range(3)])
    await outbox.enqueue([envelope("f", "card", Priority.CARD, Purpose.CARD), envelope("a", "answer")])
    delivery = await run(database, platform)
    await until(lambda: len(platform.sent) == 5)
    await delivery.stop()
    assert [text for _, text, _ in platform.sent] == ["answer", "card", "broadcast", "broadcast", "broadcast"]


async def test_an_answer_overtakes_a_long_broadcast(database):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform(rate=200)
    await outbox.enqueue([envelope(f"m{n}", "broadcast", Priority.BROADCAST, Purpose.BROADCAST) for n in range(2000)])
    delivery = await run(database, platform)
    await until(lambda: len(platform.sent) >= 50)
    await outbox.enqueue([envelope("asker", "your search results")])
    delivery.wake("memory")
    await until(lambda: any(user == "asker" for user, _, _ in platform.sent))
    position = next(i for i, (user, _, _) in enumerate(platform.sent) if user == "asker")
    await delivery.stop()
    assert position < 50 + 2 * 8 + 8  # within a couple of claims, not after 2,000 broadcasts


async def test_a_timeout_is_retried_with_backoff_until_it_goes(database, tmp_path):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform()
    platform.script["a"] = [RetryLater("timeout"), RetryLater("server error 502")]
    delivery = await run(database, platform)
    delivery.backoff = lambda attempts: 0.05  # type: ignore[method-assign]
    await outbox.enqueue([envelope("a", "hello")])
    delivery.wake()
    await until(lambda: platform.sent)
    await delivery.stop()
    assert rows(tmp_path / "outbox.db", "SELECT state, attempts FROM outbox") == [("sent", 3)]


async def test_a_blocked_member_is_marked_unreachable_and_not_retried(database, tmp_path):
    members, outbox, platform = SqliteMemberStore(database), SqliteOutbox(database), ScriptedPlatform()
    from bot.domain.members import Identity, Role
    await members.create(Identity("memory", "blocked", "blocked"), "Bola", Role.MEMBER, 0.0)
    platform.script["blocked"] = [Undeliverable("Forbidden: bot was blocked by the user")]
    await outbox.enqueue([envelope("blocked", "one"), envelope("blocked", "two"), envelope("ok", "three")])
    delivery = await run(database, platform)
    await until(lambda: len(platform.sent) == 1)
    await asyncio.sleep(0.2)
    await delivery.stop()
    states = rows(tmp_path / "outbox.db", "SELECT user_id, state FROM outbox ORDER BY id")
    reachable = rows(tmp_path / "outbox.db", "SELECT reachable, unreachable_why FROM identity")
    assert states == [("blocked", "failed"), ("blocked", "skipped"), ("ok", "sent")]
    assert reachable == [(0, "Forbidden: bot was blocked by the user")]


async def test_a_429_is_honoured_before_the_next_try(database):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform()
    platform.script["a"] = [RetryLater("429", after_seconds=1.0)]
    await outbox.enqueue([envelope("a", "hello")])
    started = time.monotonic()
    delivery = await run(database, platform)
    await until(lambda: platform.sent)
    await delivery.stop()
    assert platform.sent[0][2] - started >= 0.95


async def test_an_edit_waits_for_its_original_and_uses_its_id(database):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform()
    [card] = await outbox.enqueue([envelope("f", "card v1", Priority.CARD, Purpose.CARD)])
    assert await outbox.enqueue_edit(card, Message.plain("card v2")) == card  # still queued: replaced in place
    delivery = await run(database, platform)
    await until(lambda: platform.sent)
    await outbox.enqueue_edit(card, Message.plain("card v3"))
    delivery.wake()
    await until(lambda: platform.edited)
    await delivery.stop()
    assert platform.sent[0][1] == "card v2"
    assert platform.edited == [("f", platform.sent and "1", "card v3")]


async def test_an_edit_replaced_while_it_is_sent_follows_as_a_new_edit(database):
    outbox = SqliteOutbox(database)
    [card] = await outbox.enqueue([envelope("f", "card v1", Priority.CARD, Purpose.CARD)])
    [sending] = await outbox.claim("memory", time.time(), 10)
    await outbox.mark_sent(sending.id, "1", [], time.time())
    first_edit = await outbox.enqueue_edit(card, Message.plain("card v2"))
    [taken] = await outbox.claim("memory", time.time(), 10)
    assert taken.id == first_edit and taken.envelope.message.spans[0].text == "card v2"
    # While v2 is on its way, the card changes again: the queued edit is replaced in place.
    assert await outbox.enqueue_edit(card, Message.plain("card v3")) == first_edit
    await outbox.mark_sent(first_edit, "1", [], time.time())
    [follow] = await outbox.claim("memory", time.time(), 10)
    assert follow.id != first_edit and follow.edit_of_message_id == "1"
    assert follow.envelope.message.spans[0].text == "card v3"


async def test_a_bug_in_an_adapter_is_retried_not_fatal(database, tmp_path):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform()
    platform.script["a"] = [RuntimeError("adapter bug")]
    delivery = await run(database, platform)
    delivery.backoff = lambda attempts: 0.05  # type: ignore[method-assign]
    await outbox.enqueue([envelope("a", "hello"), envelope("b", "world")])
    delivery.wake()
    await until(lambda: len(platform.sent) == 2)
    await delivery.stop()
    assert sorted(user for user, _, _ in platform.sent) == ["a", "b"]
    assert rows(tmp_path / "outbox.db", "SELECT user_id, state, attempts FROM outbox ORDER BY user_id") == [
        ("a", "sent", 2), ("b", "sent", 1)]


async def test_outside_the_service_window_a_message_waits_until_the_person_writes(database, tmp_path):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform()
    platform.script["a"] = [OutsideWindow("131047: more than 24 hours since the last message")]
    await outbox.enqueue([envelope("a", "your answer"), envelope("b", "hello")])
    delivery = await run(database, platform)
    await until(lambda: len(platform.sent) == 1)
    await asyncio.sleep(0.3)
    assert [user for user, _, _ in platform.sent] == ["b"]
    assert rows(tmp_path / "outbox.db", "SELECT state, attempts FROM outbox WHERE user_id = 'a'") == [("queued", 0)]
    await delivery.wake_person(Address("memory", "a", "a"))
    await until(lambda: len(platform.sent) == 2)
    await delivery.stop()
    assert platform.sent[1][:2] == ("a", "your answer")


async def test_a_toast_is_not_held_behind_the_chats_pace(database):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform(per_chat=5.0)
    toasts = []

    async def send(envelope: Envelope):
        if isinstance(envelope.message, Notice):
            toasts.append(time.monotonic())
            return Sent("")
        return await ScriptedPlatform.send(platform, envelope)

    platform.send = send  # type: ignore[method-assign]
    await outbox.enqueue([envelope("a", "one"), envelope("a", "two"), envelope("a", "three")])
    await outbox.enqueue([Envelope(Address("memory", "a", "a"), Notice("Saved", "query-1"), Purpose.NOTICE)])
    started = time.monotonic()
    delivery = await run(database, platform)
    await until(lambda: toasts)
    await delivery.stop()
    assert toasts[0] - started < 1.0 and len(platform.sent) <= 2


async def test_stop_leaves_unsent_rows_queued_and_the_next_start_sends_them_once(database):
    outbox, platform = SqliteOutbox(database), ScriptedPlatform(rate=100)
    await outbox.enqueue([envelope(f"m{n}", f"broadcast {n}", Priority.BROADCAST, Purpose.BROADCAST) for n in range(200)])
    delivery = await run(database, platform)
    await until(lambda: len(platform.sent) >= 30)
    await delivery.stop()
    await delivery.give_up_claims()  # as the app does once it has stopped
    first = len(platform.sent)
    assert first < 200
    delivery = await run(database, platform)
    await until(lambda: len(platform.sent) >= 200)
    await delivery.stop()
    users = [user for user, _, _ in platform.sent]
    assert sorted(set(users)) == sorted(f"m{n}" for n in range(200)) and len(users) == 200


def test_the_pacer_spaces_sends_evenly_instead_of_bursting():
    pacer = Pacer(messages_per_second=30, per_chat_interval=1.0, safety=1.0)
    slots = [pacer.next_slot(100.0) for _ in range(60)]
    gaps = {round(b - a, 6) for a, b in zip(slots, slots[1:])}
    assert gaps == {round(1 / 30, 6)}
    assert slots[-1] - slots[0] == pytest.approx(59 / 30)


def test_a_group_is_paced_more_slowly_than_a_private_chat():
    pacer = Pacer(messages_per_second=30, per_chat_interval=1.0, per_chat_burst=1, group_interval=3.0)
    pacer.mark_group("-100")
    for chat in ("-100", "amina"):
        pacer.take(chat, 0.0)
    assert pacer.chat_ready_at("-100", 0.0) == pytest.approx(3.0)
    assert pacer.chat_ready_at("amina", 0.0) == pytest.approx(1.0)


def test_the_pacer_lets_a_chat_have_a_small_burst_then_one_a_second():
    pacer = Pacer(messages_per_second=30, per_chat_interval=1.0, per_chat_burst=2)
    for _ in range(2):
        assert pacer.chat_ready_at("amina", 0.0) == 0.0
        pacer.take("amina", 0.0)
    assert pacer.chat_ready_at("amina", 0.0) == pytest.approx(1.0)
    assert pacer.chat_ready_at("bola", 0.0) == 0.0
    pacer.penalise("bola", 0.0, 5.0)
    assert pacer.chat_ready_at("bola", 1.0) == pytest.approx(5.0)


async def test_a_broadcast_shows_its_progress_then_the_final_count_on_the_card(tmp_path):
    from tests.network import Network, settings_for
    from tests.test_flow import ask

    network = await Network(settings_for(tmp_path)).start()
    try:
        fatou = await network.member("f1", "Fatou")
        amina = await network.member("a1", "Amina")
        bola = await network.member("b1", "Bola")
        network.platform.script_undeliverable = {"b1"}
        await ask(network, amina, "Which payment methods reach the most remote families?")
        card = await fatou.receives("waiting for approval")
        await fatou.presses("Approve", on=card)
        final = await fatou.sees(lambda m: m is card and "Delivered to" in m.text, timeout=15)
        assert "Delivered to 1 of 2 members." in final.text  # Guy and Bola: not Fatou, who approved it
        assert "Not delivered: 1 (blocked: 1)" in final.text
    finally:
        await network.stop()


async def test_a_message_sent_for_longer_than_a_claim_stays_this_workers(database, tmp_path):
    """A send that outlasts a claim (a slow platform) keeps its row: the worker renews its
    claims while it is alive, so no other worker sends that message too. Rows of a worker
    that stopped renewing (it died) go to another once their claim runs out."""

    class SlowPlatform(ScriptedPlatform):
        def __init__(self) -> None:
            super().__init__()
            self.sending, self.go_on = asyncio.Event(), asyncio.Event()

        async def send(self, envelope: Envelope):
            self.sending.set()
            await self.go_on.wait()
            return await super().send(envelope)

    clock, platform = ManualClock(), SlowPlatform()
    await SqliteOutbox(database).enqueue([envelope("m1", "a long answer")])
    delivery = Delivery(SqliteOutbox(database), clock, SqliteMemberStore(database), keep_claims_every=0.02)
    delivery.add(platform)
    await delivery.start()
    try:
        await asyncio.wait_for(platform.sending.wait(), 10)
        other_worker = SqliteOutbox(database, worker="other")
        for _ in range(6):  # three claims' lengths, in steps each renewal keeps up with
            clock.advance(CLAIM_FOR / 2)
            await asyncio.sleep(0.2)
            assert await other_worker.claim("memory", clock.now(), 8) == []
        platform.go_on.set()
        await until(lambda: rows(tmp_path / "outbox.db", "SELECT state FROM outbox") == [("sent",)])
    finally:
        await delivery.stop()
    assert [user for user, _, _ in platform.sent] == ["m1"]


async def test_the_rows_of_a_worker_that_stopped_renewing_go_to_another(database):
    outbox = SqliteOutbox(database, worker="died")
    await outbox.enqueue([envelope("m1", "an answer")])
    now = time.time()
    [held] = await outbox.claim("memory", now, 8)
    other_worker = SqliteOutbox(database, worker="alive")
    assert await other_worker.claim("memory", now + CLAIM_FOR - 1, 8) == []
    [taken] = await other_worker.claim("memory", now + CLAIM_FOR + 1, 8)
    assert taken.id == held.id
    await outbox.keep_claims(now + CLAIM_FOR + 2)  # too late: the row is another's now
    assert await outbox.claim("memory", now + CLAIM_FOR + 3, 8) == []
