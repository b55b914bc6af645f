"""The web chat adapter with the real core: identity, live messages, and bad input."""

import asyncio
import time

import aiohttp
import pytest

from tests.storage_backend import rows as backend_rows
from tests.webchat_network import Visitor, start_demo


@pytest.fixture
async def demo(tmp_path):
    app = await start_demo(tmp_path)
    yield app
    await app.stop()


@pytest.fixture
async def visitors(demo):
    made = []

    def visitor() -> Visitor:
        made.append(Visitor(demo.web_address))
        return made[-1]

    yield visitor
    for each in made:
        await each.close()


def rows(app, sql):
    return backend_rows(app.settings.storage_path, sql)


async def test_the_page_is_served_by_the_bot_with_nothing_from_elsewhere(demo, visitors):
    visitor = visitors()
    async with visitor.session.get(demo.web_address) as response:
        page = await response.text()
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert '<label for="message"' in page and ">Message<" in page and ">Send<" in page
    assert "http://" not in page and "https://" not in page
    for asset in ("chat.js", "chat.css"):
        async with visitor.session.get(f"{demo.web_address}static/{asset}") as response:
            assert response.status == 200
            assert "https://" not in await response.text()


async def test_a_demo_identity_is_a_signed_cookie_and_a_forged_one_is_refused(demo, visitors):
    amina = visitors()
    session = await (await amina.session.get(f"{demo.web_address}api/session")).json()
    assert {p["user_id"] for p in session["people"] if not p["facilitator"]} >= {"demo-amina", "demo-kwame"}
    assert sum(p["facilitator"] for p in session["people"]) == 3
    response = await amina.pick("demo-amina")
    assert response.status == 200
    await amina.connect()
    await amina.send({"type": "text", "text": "/whoami"})
    await amina.receive("Your Web chat id is demo-amina")

    forger = visitors()
    forger.session.cookie_jar.update_cookies({"facilitator_webchat": "eyJ1IjoiZGVtby1mYXRvdSJ9.forged.sig"})
    async with forger.session.get(f"{demo.web_address}api/transcript") as response:
        assert response.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await forger.connect()
    unknown = await visitors().pick("demo-nobody")
    assert unknown.status == 403


async def test_without_demo_a_visitor_can_only_join_as_a_new_member(tmp_path):
    app = await start_demo(tmp_path, demo=False)
    visitor = Visitor(app.web_address)
    try:
        assert (await visitor.pick("demo-fatou")).status == 403
        chosen = await (await visitor.pick("new")).json()
        assert chosen["new"] and chosen["user_id"].startswith("web-")
        await visitor.connect()
        await visitor.send({"type": "text", "text": "/start"})
        await visitor.receive("What is your name")
    finally:
        await visitor.close()
        await app.stop()


async def test_bad_frames_get_a_clear_refusal_and_the_server_keeps_serving(demo, visitors):
    amina = visitors()
    await amina.pick("demo-amina")
    await amina.connect()
    await amina.socket.send_str("this is not json")
    await amina.receive("did not understand", kind="error")
    await amina.send({"type": "launch", "what": "rockets"})
    await amina.receive("did not understand", kind="error")
    await amina.send({"type": "text", "text": "x" * 20001})
    await amina.receive("too long", kind="error")

    huge = visitors()
    await huge.pick("demo-kwame")
    await huge.connect()
    await huge.socket.send_str("x" * 1_000_000)
    closing = await huge.socket.receive(timeout=10)
    while closing.type == aiohttp.WSMsgType.TEXT:  # a message to Kwame sent just before (the demo's)
        closing = await huge.socket.receive(timeout=10)
    assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
    assert huge.socket.close_code == 1009

    await amina.send({"type": "text", "text": "/help"})
    await amina.receive("What I can do")


async def test_a_page_sending_too_fast_is_slowed_down(demo, visitors):
    amina = visitors()
    await amina.pick("demo-amina")
    await amina.connect()
    before = rows(demo, "SELECT count(*) FROM inbound")[0][0]
    started = time.monotonic()
    for number in range(100):
        await amina.send({"type": "text", "text": f"/whoami {number}"})
    await amina.receive("Slow down", kind="error")
    sending = time.monotonic() - started
    await asyncio.sleep(0.5)
    forwarded = rows(demo, "SELECT count(*) FROM inbound")[0][0] - before
    # The burst, and what the steady rate lets through while the page sends (longer on a busy machine).
    limits = demo.settings.limits
    assert 1 <= forwarded <= limits.burst + limits.messages_per_second * (sending + 0.5) < 100


async def test_messages_for_a_closed_page_wait_and_arrive_when_it_comes_back(demo, visitors):
    fatou = visitors()
    await fatou.pick("demo-fatou")
    await fatou.connect()
    card = await fatou.receive("waiting for approval")
    approve = next(b["token"] for row in card["buttons"] for b in row if b["label"] == "Approve")
    assert rows(demo, "SELECT count(*) FROM outbox WHERE user_id = 'demo-nadia' AND state = 'queued'")[0][0] >= 1
    await fatou.send({"type": "press", "token": approve, "message_id": card["id"]})
    await fatou.receive("approved by Fatou", kind="edit")

    nadia = visitors()
    await nadia.pick("demo-nadia")
    async with nadia.session.get(f"{demo.web_address}api/transcript") as response:
        before = await response.json()
    await nadia.connect()
    arrived = await nadia.receive("child benefits paid to mothers")
    assert arrived["buttons"][0][0]["label"] == "Reply"
    await nadia.socket.close()
    await asyncio.sleep(0.3)
    async with nadia.session.get(f"{demo.web_address}api/transcript") as response:
        after = await response.json()
    assert len(after) > len(before)
    assert any("child benefits paid to mothers" in "".join(s["text"] for s in e["spans"]) for e in after)


async def test_mydata_is_a_download_that_only_that_member_can_fetch(demo, visitors):
    amina, kwame, stranger = visitors(), visitors(), visitors()
    await amina.pick("demo-amina")
    await amina.connect()
    await amina.send({"type": "text", "text": "/mydata"})
    frame = await amina.receive("everything the network holds about you")
    url = demo.web_address.rstrip("/") + frame["document"]["url"]
    assert frame["document"]["name"].endswith(".json")
    async with amina.session.get(url) as response:
        assert response.status == 200 and response.content_type == "application/json"
        assert "attachment" in response.headers["Content-Disposition"]
        assert response.headers["Cache-Control"] == "no-store"
        data = await response.json()
    assert [account["user_id"] for account in data["accounts"]] == ["demo-amina"]
    await kwame.pick("demo-kwame")
    async with kwame.session.get(url) as response:
        assert response.status == 404
    async with stranger.session.get(url) as response:
        assert response.status == 401
    async with amina.session.get(demo.web_address + "api/download/not-a-token") as response:
        assert response.status == 404
