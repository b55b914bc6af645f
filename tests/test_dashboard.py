"""The facilitators' dashboard over real HTTP: a one-time sign-in link, nothing shown without a
session, other sites refused, every action the core's own (audited, from the dashboard), and
the pages following changes live."""

import asyncio
import re
import time

import aiohttp
import pytest

from tests.webchat_network import Visitor, start_demo
from tests.storage_backend import rows as backend_rows


def rows(app, sql):
    return backend_rows(app.settings.storage_path, sql)


@pytest.fixture
async def demo(tmp_path):
    app = await start_demo(tmp_path, dashboard=True)
    yield app
    await app.stop()


class Desk:
    """A facilitator's browser on the dashboard, without a browser."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def pick(self, name: str) -> None:
        page = await self.get("/admin")
        [member_id] = re.findall(rf'data-pick="(\d+)">{re.escape(name)}<', page)
        async with self.session.post(f"{self.base}/admin/api/pick", json={"member_id": int(member_id)}) as response:
            assert response.status == 200

    async def get(self, path: str) -> str:
        async with self.session.get(self.base + path) as response:
            assert response.status == 200, await response.text()
            return await response.text()

    async def post(self, path: str, body: dict) -> tuple[int, dict]:
        async with self.session.post(self.base + path, json=body) as response:
            return response.status, await response.json()

    async def press(self, token: str, text: str | None = None) -> None:
        status, answer = await self.post("/admin/api/press", {"token": token, **({"text": text} if text else {})})
        assert status == 200 and answer["ok"], answer

    async def listen(self) -> None:
        self.socket = await self.session.ws_connect(f"{self.base}/admin/ws")

    async def hears(self, kind: str, containing: str = "", timeout: float = 10.0) -> dict:
        """The next frame of this kind whose text or one of whose buttons has `containing`."""
        assert self.socket is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = await self.socket.receive_json(timeout=deadline - time.monotonic())
            labels = " ".join(b["label"] for row in frame.get("buttons", []) for b in row)
            if frame["type"] == kind and containing in frame.get("html", frame.get("text", "")) + labels:
                return frame
        raise AssertionError(f"never heard a {kind} with {containing!r}")

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        await self.session.close()


def tokens(page: str, label: str) -> list[str]:
    return re.findall(rf'data-token="([^"]+)"[^>]*>{re.escape(label)}</button>', page)


async def wait_for(predicate, timeout: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("never happened")


async def test_a_one_time_link_signs_a_facilitator_in_once_and_a_member_gets_none(demo):
    fatou, amina = Visitor(demo.web_address), Visitor(demo.web_address)
    desk, late = Desk(demo.dashboard_address), Desk(demo.dashboard_address)
    try:
        await fatou.pick("demo-fatou")
        await fatou.connect()
        await fatou.send({"type": "text", "text": "/dashboard"})
        frame = await fatou.receive("one use")
        [link] = [span["link"] for span in frame["spans"] if span.get("link")]
        path = link.split("127.0.0.1", 1)[1].split("/", 1)[1]
        token = link.split("token=")[1]
        sign_in = await desk.get("/" + path)
        assert f'data-token="{token}"' in sign_in and "Question #" not in sign_in  # a GET signs nobody in
        status, _ = await desk.post("/admin/api/sign-in", {"token": token})
        assert status == 200
        assert "Signed in as Fatou Diop" in await desk.get("/admin/queue")
        status, answer = await late.post("/admin/api/sign-in", {"token": token})
        assert status == 403 and "already used" in answer["error"]

        await amina.pick("demo-amina")
        await amina.connect()
        await amina.send({"type": "text", "text": "/dashboard"})
        await amina.receive("Only facilitators")
    finally:
        for each in (fatou, amina, desk, late):
            await each.close()


async def test_without_a_session_nothing_is_shown_and_other_sites_are_refused(demo):
    base = demo.dashboard_address.rstrip("/")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/admin/queue", allow_redirects=False) as response:
            assert response.status == 302 and response.headers["Location"] == "/admin"
        async with session.get(f"{base}/admin") as response:
            page = await response.text()
            assert "Question #" not in page and "Amina" not in page
        async with session.get(f"{base}/admin/members.csv") as response:
            assert response.status == 401
        async with session.post(f"{base}/admin/api/press", json={"token": "x"}) as response:
            assert response.status == 401
        async with session.post(f"{base}/admin/api/press", json={"token": "x"},
                                headers={"Origin": "http://evil.example"}) as response:
            assert response.status == 403
        async with session.post(f"{base}/admin/api/pick", data='{"member_id": 1}',
                                headers={"Content-Type": "text/plain"}) as response:
            assert response.status == 415
    desk = Desk(demo.dashboard_address)
    try:
        await desk.pick("Fatou Diop")
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await desk.session.ws_connect(f"{desk.base}/admin/ws", headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403
    finally:
        await desk.close()


async def test_approving_takes_one_tap_goes_through_the_core_and_lands_in_the_audit_log(demo):
    desk, other = Desk(demo.dashboard_address), Desk(demo.dashboard_address)
    try:
        await desk.pick("Fatou Diop")
        await other.pick("Rahul Mehta")
        await other.listen()
        queue = await desk.get("/admin/queue")
        [number] = re.findall(r'data-number="(\d+)"', queue)
        [approve] = tokens(queue, "Approve")
        await desk.press(approve)  # the one tap
        await other.hears("changed")
        await wait_for(lambda: rows(demo, f"SELECT state FROM discussion WHERE id = {number}") == [("approved",)])
        assert f'data-number="{number}"' not in await other.get("/admin/queue")
        assert f"Question #{number} was approved by Fatou Diop" in await other.get("/admin/discussions")
        assert rows(demo, f"SELECT action, platform, actor_name FROM audit WHERE discussion_id = {number}") == [
            ("approve", "dashboard", "Fatou Diop")]
        # A second press (a stale page) changes nothing more.
        await desk.press(approve)
        await asyncio.sleep(0.3)
        assert rows(demo, f"SELECT count(*) FROM audit WHERE discussion_id = {number}") == [(1,)]
    finally:
        await desk.close()
        await other.close()


async def test_rejecting_with_a_reason_from_the_list_tells_the_asker_that_reason(demo):
    amina, desk = Visitor(demo.web_address), Desk(demo.dashboard_address)
    try:
        await amina.pick("demo-amina")
        await amina.connect()
        await desk.pick("Fatou Diop")
        queue = await desk.get("/admin/queue")
        [number] = re.findall(r'data-number="(\d+)"', queue)
        reasons = re.findall(r"<option>([^<]+)</option>", queue)
        assert len(reasons) >= 4
        [reject] = tokens(queue, "Reject")
        assert 'data-asks="reason"' in queue
        await desk.press(reject, text=reasons[0])
        told = await amina.receive(f"#{number}")
        assert "not about the network" in told["text"]
        await wait_for(lambda: rows(demo, f"SELECT state, reason FROM discussion WHERE id = {number}") == [
            ("rejected", reasons[0])])
    finally:
        await amina.close()
        await desk.close()


async def test_a_draft_is_edited_in_the_editor_and_published_in_two_taps(demo):
    desk = Desk(demo.dashboard_address)
    try:
        await desk.pick("Fatou Diop")
        await desk.listen()
        discussions = await desk.get("/admin/discussions")
        [number] = re.findall(r'data-number="(\d+)"', discussions)[:1]
        [close] = tokens(discussions, "Close now")[:1]
        await desk.press(close)
        confirm = await desk.hears("message", "Yes, close it")
        [yes] = [b["token"] for row in confirm["buttons"] for b in row if b["label"] == "Yes, close it"]
        await desk.press(yes)
        await wait_for(lambda: rows(demo, f"SELECT state FROM discussion WHERE id = {number}") == [("closed",)])
        drafts = await desk.get("/admin/drafts")
        [key_points] = re.findall(r'<form class="editor" data-token="([^"]+)"><label>Key points', drafts)
        assert "France indexes family benefits" in drafts  # prefilled with the draft
        await desk.press(key_points, text="Community committees find the children.\nMobile assessment teams help.")
        await wait_for(lambda: "Mobile assessment teams help." in (rows(
            demo, f"SELECT summary FROM consolidated_draft WHERE discussion_id = {number}") or [("",)])[0][0])
        drafts = await desk.get("/admin/drafts")
        assert "• Mobile assessment teams help." in drafts  # the preview, as members will see it
        [publish] = tokens(drafts, "Publish")
        await desk.press(publish)
        await wait_for(lambda: rows(demo, f"SELECT state FROM discussion WHERE id = {number}") == [("published",)])
        assert "Mobile assessment teams help." in rows(
            demo, f"SELECT summary FROM consolidated_reply WHERE discussion_id = {number}")[0][0]
        assert [a for (a,) in rows(demo, f"SELECT action FROM audit WHERE discussion_id = {number} ORDER BY id")] \
            == ["close", "edit", "publish"]
    finally:
        await desk.close()


async def test_a_new_question_reaches_open_dashboards_live(demo):
    desk, kwame = Desk(demo.dashboard_address), Visitor(demo.web_address)
    try:
        await desk.pick("Rahul Mehta")
        await desk.listen()
        await kwame.pick("demo-kwame")
        await kwame.connect()
        await kwame.send({"type": "text", "text": "How do we reach street children with birth registration?"})
        draft = await kwame.receive("Here is your question")
        [submit] = [b["token"] for row in draft["buttons"] for b in row if b["label"] == "Submit"]
        await kwame.send({"type": "press", "token": submit, "message_id": draft["id"]})
        await desk.hears("changed")
        await wait_for(lambda: rows(demo, "SELECT count(*) FROM discussion WHERE text LIKE '%street children%'")
                       == [(1,)])
        assert "street children with birth registration" in await desk.get("/admin/queue")
    finally:
        await desk.close()
        await kwame.close()


async def test_a_facilitator_taken_off_sees_nothing_more_and_csv_cells_cannot_be_formulas(demo):
    desk = Desk(demo.dashboard_address)
    try:
        await desk.pick("Lucía Fernández")
        # Written through the bot's own connection: another writer could find the file busy.
        async with demo.database.transaction() as connection:
            await connection.execute(
                "UPDATE member SET organization = '=HYPERLINK(\"http://x\")' WHERE name = 'Amina Yusuf'")
        csv = await desk.get("/admin/members.csv")
        assert "'=HYPERLINK" in csv and "Amina Yusuf" in csv
        async with demo.database.transaction() as connection:
            await connection.execute("UPDATE member SET role = 'member' WHERE name = 'Lucía Fernández'")
        async with desk.session.get(f"{desk.base}/admin/queue", allow_redirects=False) as response:
            assert response.status == 302
        status, _ = await desk.post("/admin/api/press", {"token": "anything"})
        assert status == 401
    finally:
        await desk.close()


async def test_a_published_reply_is_shared_again_from_the_archive(demo):
    desk = Desk(demo.dashboard_address)
    try:
        await desk.pick("Fatou Diop")
        archive = await desk.get("/admin/archive")
        [number] = re.findall(r'<li class="found"><h3>#(\d+) ', archive)[:1]
        [share] = tokens(archive, "Share it again")[:1]
        before = rows(demo, "SELECT count(*) FROM outbox WHERE purpose = 'consolidated'")[0][0]
        await desk.press(share)
        await wait_for(lambda: rows(demo, f"SELECT action FROM audit WHERE discussion_id = {number}")[-1:]
                       == [("reshare",)])
        # The plan is kept with the audit row; its rows are written once the waker has been
        # woken, a moment later (on PostgreSQL a reader does not wait for that).
        await wait_for(lambda: rows(demo, "SELECT count(*) FROM outbox WHERE purpose = 'consolidated'")[0][0] > before)
        await demo.waker.idle()
        members = rows(demo, "SELECT count(*) FROM member WHERE status = 'active' AND delivery = 'instant'")[0][0]
        shared = rows(demo, "SELECT count(*) FROM outbox WHERE purpose = 'consolidated'")[0][0] - before
        assert 0 < shared <= members
        # One message for the whole network, stored once.
        [(body, copies)] = rows(demo, "SELECT b.body, count(*) FROM outbox o JOIN outbox_body b ON b.id = o.body_id"
                                      " WHERE o.purpose = 'consolidated' GROUP BY b.id ORDER BY b.id DESC LIMIT 1")
        assert "From the archive:" in body and copies == shared
    finally:
        await desk.close()
