"""Events are kept first and handled after: an adapter is answered at once, a person's events
are handled in order, what a crash interrupted is handled once at the next start, an event a
platform delivers twice is handled once, a flood is refused at the door, and a bug in a use
case is apologised for without a retry loop."""

import asyncio

import pytest

from bot.ports import IncomingText, Sender
from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows


def rows(network: Network, sql: str) -> list[tuple]:
    return backend_rows(network.settings.storage_path, sql)


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


def hold_use_cases(network: Network) -> asyncio.Event:
    """Make every use case wait until the returned event is set."""
    gate = asyncio.Event()
    dispatcher = network.app.intake.dispatcher
    original = dispatcher.dispatch

    async def held(event):  # type: ignore[no-untyped-def]
        await gate.wait()
        await original(event)

    dispatcher.dispatch = held  # type: ignore[method-assign]
    return gate


async def test_an_event_is_kept_and_acknowledged_before_its_use_case_runs(network):
    amina = await network.member("a1", "Amina")
    gate = hold_use_cases(network)
    acknowledgement = await asyncio.wait_for(amina.says("/whoami"), timeout=1.0)
    assert acknowledgement.accepted
    assert rows(network, "SELECT body, handled_at FROM inbound ORDER BY id DESC LIMIT 1") == [("/whoami", None)]
    await asyncio.sleep(0.2)
    assert not any("Your Memory id" in text for text in amina.texts())
    gate.set()
    await amina.receives("Your Memory id is a1")
    [(handled_at,)] = rows(network, "SELECT handled_at FROM inbound ORDER BY id DESC LIMIT 1")
    assert handled_at is not None


async def test_a_persons_messages_are_handled_in_the_order_they_came(network):
    amina = await network.member("a1", "Amina")
    for command in ("/whoami", "/profile", "/digest", "/timezone", "/help"):
        await amina.says(command)  # without waiting for any answer
    await amina.receives("What I can do")
    texts = amina.texts()
    order = [next(i for i, text in enumerate(texts) if marker in text)
             for marker in ("Your Memory id", "Your profile", "How would you like", "Your time zone", "What I can do")]
    assert order == sorted(order)


async def test_what_a_crash_interrupted_is_handled_once_at_the_next_start(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    try:
        amina = await network.member("a1", "Amina")
        hold_use_cases(network)  # the use case never finishes: the stop interrupts it
        await amina.says("/whoami")
        await network.stop()
        assert rows(network, "SELECT count(*) FROM inbound WHERE body = '/whoami' AND handled_at IS NULL") == [(1,)]
        assert rows(network, "SELECT count(*) FROM outbox WHERE body LIKE '%Your Memory id%'") == [(0,)]
        await network.start()
        await amina.receives("Your Memory id is a1")
        await network.restart()
        await asyncio.sleep(0.3)
        assert rows(network, "SELECT count(*) FROM outbox WHERE body LIKE '%Your Memory id%'") == [(1,)]
        assert rows(network, "SELECT count(*) FROM inbound WHERE handled_at IS NULL") == [(0,)]
    finally:
        await network.stop()


async def test_an_event_a_platform_delivers_twice_is_handled_once(network):
    amina = await network.member("a1", "Amina")
    inbox = network.platform.inbox
    assert inbox is not None
    event = IncomingText(Sender(amina.address, "Amina"), "How do cash transfers reach remote areas?",
                         event_id="wamid.ABC123")
    await inbox.handle(event)
    await inbox.handle(event)
    await amina.receives("Here is your question")
    await network.app.intake.idle()
    await asyncio.sleep(0.2)
    assert sum("Here is your question" in text for text in amina.texts()) == 1
    assert rows(network, "SELECT count(*) FROM inbound WHERE event_id = 'wamid.ABC123'") == [(1,)]


async def test_a_flood_is_refused_at_the_door_and_told_once(network):
    amina = await network.member("a1", "Amina")
    before = rows(network, "SELECT count(*) FROM inbound")[0][0]
    answers = [await amina.says(f"/whoami {number}") for number in range(60)]
    refused = [answer for answer in answers if not answer.accepted]
    assert refused and "Slow down" in (refused[0].refusal or "")
    kept = rows(network, "SELECT count(*) FROM inbound")[0][0] - before
    assert kept == len(answers) - len(refused) and kept <= 25
    await amina.receives("Slow down")
    await asyncio.sleep(0.3)
    assert sum("Slow down" in text for text in amina.texts()) == 1


async def test_a_bug_in_a_use_case_is_apologised_for_and_not_retried(network):
    amina = await network.member("a1", "Amina")
    membership = network.app.routes.commands["whoami"]
    original = membership.handler

    async def broken(turn, args):  # type: ignore[no-untyped-def]
        raise RuntimeError("a bug")

    object.__setattr__(membership, "handler", broken)
    try:
        await amina.says("/whoami")
        await amina.receives("Sorry, something went wrong on our side")
    finally:
        object.__setattr__(membership, "handler", original)
    assert rows(network, "SELECT outcome FROM inbound WHERE body = '/whoami'") == [("failed",)]
    await network.restart()
    await asyncio.sleep(0.3)
    assert sum("Sorry, something went wrong" in text for text in amina.texts()) == 1


async def test_what_a_platform_reports_later_is_recorded_on_the_message(tmp_path):
    from tests.memory_platform import CAPABILITIES, MemoryPlatform, without

    platform = MemoryPlatform(capabilities=without(CAPABILITIES, service_window=86400.0))
    network = await Network(settings_for(tmp_path), platform=platform).start()
    try:
        await reports_are_recorded(network)
    finally:
        await network.stop()


async def reports_are_recorded(network: Network) -> None:
    from bot.ports import DeliveryReport, DeliveryStatus

    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await amina.says("/whoami")
    whoami = await amina.receives("Your Memory id")
    await bola.says("/whoami")
    bola_whoami = await bola.receives("Your Memory id")
    inbox = network.platform.inbox
    await inbox.report(DeliveryReport("memory", whoami.message_id, DeliveryStatus.READ))
    assert rows(network, f"SELECT delivered_at IS NOT NULL, read_at IS NOT NULL FROM outbox"
                         f" WHERE message_id = '{whoami.message_id}'") == [(1, 1)]

    await inbox.report(DeliveryReport("memory", bola_whoami.message_id, DeliveryStatus.OUTSIDE_WINDOW, "131047"))
    assert rows(network, "SELECT state, message_id FROM outbox WHERE body LIKE '%Your Memory id is b1%'") == [
        ("queued", None)]
    await bola.says("/help")  # writing opens the window: what waited goes now
    await bola.receives("Your Memory id is b1")

    await inbox.report(DeliveryReport("memory", whoami.message_id, DeliveryStatus.UNDELIVERABLE, "131026"))
    assert rows(network, "SELECT reachable, unreachable_why FROM identity WHERE user_id = 'a1'") == [(0, "131026")]
    await inbox.report(DeliveryReport("memory", "no-such-message", DeliveryStatus.DELIVERED))
