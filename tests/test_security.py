"""Tried as an attacker would, through the real servers: other sites' sockets and forms, a
member pressing every facilitator button, forged tokens of any bytes, oversized bodies, search
syntax, floods across sockets and identities, and questions piling up; and, property-based,
any frame a page can send."""

import asyncio

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.services.buttons import ButtonCodec
from bot.services.rules import IS_FACILITATOR
from tests.network import Network, settings_for
from tests.storage_backend import rows as backend_rows
from tests.test_flow import ask
from tests.webchat_network import Visitor, start_demo


def rows(path, sql):  # type: ignore[no-untyped-def]
    return backend_rows(path, sql)


@pytest.fixture
async def demo(tmp_path):
    app = await start_demo(tmp_path)
    yield app
    await app.stop()


async def test_another_sites_page_gets_no_socket_and_cannot_replace_the_cookie(demo, caplog):
    base = demo.web_address.rstrip("/")
    fatou = Visitor(base)
    try:
        assert (await fatou.pick("demo-fatou")).status == 200
        cookie = next(c for c in fatou.session.cookie_jar if c.key == "facilitator_webchat")
        assert cookie["httponly"] and cookie["samesite"] == "Strict"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await fatou.session.ws_connect(f"{base}/ws", origin="http://127.0.0.1:9999")
        assert refused.value.status == 403
        socket = await fatou.session.ws_connect(f"{base}/ws", origin=base)  # its own page: fine
        await socket.close()
        for headers, body in (({"Origin": "http://evil.example"}, '{"user_id": "new"}'),
                              ({"Content-Type": "text/plain"}, '{"user_id": "new"}')):
            async with fatou.session.post(f"{base}/api/identity", data=body, headers=headers) as response:
                assert response.status in (403, 415)
        async with fatou.session.post(f"{base}/api/forget", data="{}",
                                      headers={"Origin": "http://evil.example", "Content-Type": "application/json"}) as r:
            assert r.status == 403
        assert any(c.key == "facilitator_webchat" and c.value == cookie.value for c in fatou.session.cookie_jar)
        assert sum("from another site" in r.getMessage() for r in caplog.records) >= 2
    finally:
        await fatou.close()


async def test_an_origin_listed_in_allowed_origins_is_welcome(tmp_path):
    from dataclasses import replace

    from bot.app import App
    from tests.webchat_network import webchat_settings

    settings = webchat_settings(tmp_path)
    web = replace(settings.platforms["webchat"], allowed_origins=("https://chat.example.org",))
    app = await App.build(replace(settings, platforms={"webchat": web}))
    await app.seed_demo()
    await app.start()
    visitor = Visitor(app.web_address)
    try:
        await visitor.pick("demo-amina")
        socket = await visitor.session.ws_connect(f"{app.web_address}ws", origin="https://chat.example.org")
        await socket.close()
    finally:
        await visitor.close()
        await app.stop()


async def test_an_identity_has_a_few_pages_and_an_address_a_few_newcomers_a_minute(demo):
    base = demo.web_address.rstrip("/")
    amina = Visitor(base)
    try:
        await amina.pick("demo-amina")
        sockets = [await amina.session.ws_connect(f"{base}/ws") for _ in range(5)]
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await amina.session.ws_connect(f"{base}/ws")
        assert refused.value.status == 429
        for socket in sockets:
            await socket.close()
        statuses = [(await Visitor(base).pick("new")).status for _ in range(12)]
        assert statuses.count(200) == 10 and statuses[-1] == 429
    finally:
        await amina.close()


async def test_a_flood_across_many_pages_of_one_identity_is_bounded(demo):
    base = demo.web_address.rstrip("/")
    amina = Visitor(base)
    try:
        await amina.pick("demo-amina")
        sockets = [await amina.session.ws_connect(f"{base}/ws") for _ in range(4)]
        before = rows(demo.settings.storage_path, "SELECT count(*) FROM inbound")[0][0]
        for number in range(30):
            for socket in sockets:
                await socket.send_json({"type": "text", "text": f"/whoami {number}"})
        await asyncio.sleep(0.5)
        kept = rows(demo.settings.storage_path, "SELECT count(*) FROM inbound")[0][0] - before
        assert 1 <= kept <= 30  # 120 sent over four pages: one allowance for the person
        for socket in sockets:
            await socket.close()
    finally:
        await amina.close()


async def test_oversized_bodies_are_refused(demo):
    base = demo.web_address.rstrip("/")
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/api/identity", data="x" * 2_000_000,
                                headers={"Content-Type": "application/json"}) as response:
            assert response.status == 413


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


async def test_a_member_pressing_any_facilitator_button_changes_nothing(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    bola = await network.member("b1", "Bola")
    await ask(network, amina, "Is universal child benefit affordable?")
    await fatou.receives("waiting for approval")
    codec: ButtonCodec = network.app.codec
    facilitator_codes = [code for code, route in network.app.routes.buttons.items() if IS_FACILITATOR in route.rules]
    assert len(facilitator_codes) >= 10
    for code in facilitator_codes:
        await asyncio.sleep(0.25)  # at a person's pace: this is no flood
        answer = await bola.press_token(codec.encode(code, 1, "q-fr" if code == "tl" else ""))
        assert answer.refused and "Only facilitators" in (answer.notice or ""), code
    assert rows(network.settings.storage_path, "SELECT state, version FROM discussion") == [("submitted", 1)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=st.one_of(st.text(max_size=300), st.binary(max_size=100).map(lambda b: b.decode("latin-1"))))
def test_a_button_token_of_any_characters_is_an_invalid_button(token):
    decoded = ButtonCodec(b"s" * 32).decode(token)
    assert not hasattr(decoded, "action") or decoded.action.isalnum()


async def test_arbitrary_tokens_and_search_syntax_are_answered_without_a_traceback(network, caplog):
    amina = await network.member("a1", "Amina")
    for token in ("ap.1..\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9\u00e9", "x" * 5000, "\x00\x01.\x02.\x03.",
                  "rp.1..NOTASIGNATUR\u0301"):
        answer = await amina.press_token(token)
        assert answer.refused and "not valid" in (answer.notice or "")
    for words, answer in (('"NEAR(cash transfer)" OR *', "archive"), ("title:cash AND {question}", "archive"),
                          ('^^^ "', "Send /search followed"), ("-", "Send /search followed")):
        await amina.says(f"/search {words}")
        await amina.receives(answer)
    assert not [r for r in caplog.records if r.exc_info]


async def test_a_member_cannot_pile_questions_up_for_the_facilitators(network):
    fatou = await network.member("f1", "Fatou")
    amina = await network.member("a1", "Amina")
    for number in range(3):
        await ask(network, amina, f"Question number {number} about social protection floors?")
    await amina.says("A fourth question about social protection floors?")
    await amina.presses("Submit", on=await amina.receives("Here is your question"))
    await amina.receives("3 of your questions are waiting for the facilitators already")
    assert rows(network.settings.storage_path, "SELECT count(*) FROM discussion") == [(3,)]
    for number in (1, 2, 3):
        await fatou.sees(lambda m, number=number: f"Question #{number} is waiting" in m.text)
    await asyncio.sleep(0.2)
    assert sum("waiting for approval" in text for text in fatou.texts()) == 3
    await fatou.presses("Approve", on=await fatou.sees(lambda m: "Question #1 is waiting" in m.text))
    await amina.presses("Submit", on=await amina.sees(lambda m: "A fourth question" in m.text and m.labels()))
    await amina.receives("Your question #4 is with the facilitators")


FRAMES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["type", "text", "token", "message_id", "reply_to", "x"]), children, max_size=5),
    max_leaves=12,
)


async def test_any_frame_a_page_sends_is_answered_or_refused_and_the_server_keeps_serving(demo, caplog):
    import json

    from hypothesis import HealthCheck, Phase
    from hypothesis import settings as hypothesis_settings

    base = demo.web_address.rstrip("/")
    visitor = Visitor(base)
    await visitor.pick("demo-kwame")
    socket = await visitor.connect()
    sent: list[str] = []

    @hypothesis_settings(max_examples=80, deadline=None, phases=[Phase.generate],
                         suppress_health_check=list(HealthCheck))
    @given(frame=st.one_of(FRAMES.map(json.dumps), st.text(max_size=200)))
    def frames(frame: str) -> None:
        sent.append(frame)

    frames()
    for frame in sent:
        await socket.send_str(frame)
        await asyncio.sleep(0.02)  # under the flood limit: every frame is looked at
    await socket.send_json({"type": "text", "text": "/help"})
    await visitor.receive("What I can do", timeout=15)
    assert not [r for r in caplog.records if r.exc_info and "webchat" in r.name]
    assert rows(demo.settings.storage_path, "SELECT count(*) FROM inbound WHERE handled_at IS NULL") == [(0,)]
    await visitor.close()
