"""Property-based: every adapter's inbound side fed random and malformed input, shaped like
what its platform sends and unlike it. Telegram updates, Slack events and interactivity
(signed, so they reach parsing), WhatsApp webhooks (signed with the app secret) and mails.

The properties, for every input: no exception escapes the adapter (its server answers 2xx
or 4xx, never 5xx, and nothing is logged with a traceback), and the database holds whole
inbound rows or none: every kept event can be read back, is handled, and its sender is a
member with an identity.

Most examples go straight to the adapter's own reading function (fast); a smaller number go
through the adapter's real server, with the fake platform posting or serving them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import itertools
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, AsyncIterator, Generic, TypeVar
from urllib.parse import urlencode

import aiosmtplib
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from adapters.email import EmailAdapter
from adapters.slack import SlackAdapter
from adapters.telegram import TelegramAdapter
from adapters.webchat import WebChatAdapter
from adapters.whatsapp import WhatsAppAdapter
from adapters.whatsapp.webhook import sign as sign_whatsapp
from bot.app import App
from bot.ports import Address, Sender
from bot.services.intake import decode_event, describe
from tests.email_network import NETWORK
from tests.email_network import network_settings as email_network_settings
from tests.email_network import start_app as start_email
from tests.fakes.mail import MailSink
from tests.fakes.slack_api import FakeSlack
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.whatsapp_api import FakeWhatsApp
from tests.slack_network import FACILITATOR, slack_settings
from tests.slack_network import start_app as start_slack
from tests.storage_backend import rows
from tests.telegram_network import start_app, telegram_settings
from tests.webchat_network import start_demo as start_webchat
from tests.whatsapp_network import network_settings as whatsapp_network_settings
from tests.whatsapp_network import start_app as start_whatsapp

Api = TypeVar("Api")
AdapterT = TypeVar("AdapterT")

# Huge texts make huge examples: hypothesis warns about their repr, which is no failure.
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

DIRECT = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
THROUGH_THE_SERVER = settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))

# --- what platforms send, well and badly -------------------------------------------------------

# Any text: control characters, right-to-left marks, emoji, lone surrogates (JSON's "\ud800"
# escapes), bytes read as Latin-1, and now and then a huge one.
ANY_TEXT = st.one_of(
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=60),
    st.binary(max_size=40).map(lambda raw: raw.decode("latin-1")),
    st.sampled_from(["", " ", "/", "/start", "/help@facilitator_bot", "/ask@other_bot x", "\u202e/help", "help",
                     "x" * 70_000, "\U0001F600" * 5000]),
)
JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | ANY_TEXT
ANY_JSON = st.recursive(
    JSON_LEAF, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=10)


def sometimes(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right kind of value, sometimes anything at all."""
    return st.one_of(value, value, value, ANY_JSON)


@dataclass(frozen=True)
class Shape:
    """A JSON object of a platform: `exact` as documented at every depth, `any` that or
    mangled (each field present or missing, right or wrong, its own objects mangled too)."""

    exact: st.SearchStrategy[dict[str, Any]]
    any: st.SearchStrategy[dict[str, Any]]


@dataclass(frozen=True)
class Many:
    """A list of objects of one shape: at least one as documented, any number otherwise."""

    of: Shape
    most: int = 3


Field = st.SearchStrategy[Any] | Shape | Many


def shape(required: dict[str, Field], optional: dict[str, Field] | None = None) -> Shape:
    optional = optional or {}

    def exact(value: Field) -> st.SearchStrategy[Any]:
        if isinstance(value, Many):
            return st.lists(value.of.exact, min_size=1, max_size=value.most)
        return value.exact if isinstance(value, Shape) else value

    def loose(value: Field) -> st.SearchStrategy[Any]:
        if isinstance(value, Many):
            return sometimes(st.lists(value.of.any, max_size=value.most))
        return sometimes(value.any if isinstance(value, Shape) else value)

    documented = st.fixed_dictionaries({name: exact(value) for name, value in required.items()},
                                       optional={name: exact(value) for name, value in optional.items()})
    mangled = st.fixed_dictionaries({}, optional={name: loose(value)
                                                  for name, value in {**required, **optional}.items()})
    return Shape(documented, st.one_of(documented, mangled))


# --- the database is whole -----------------------------------------------------------------------


def assert_whole(path: Path) -> None:
    """Every kept event reads back as what it was kept as, was handled without failing, and
    (unless it came from a group) its sender is a member with an identity; every member has
    an identity and every identity a member."""
    kept = rows(path, "SELECT id, kind, body, event, handled_at, outcome FROM inbound")
    identities = set(rows(path, "SELECT platform, user_id FROM identity"))
    [(orphans,)] = rows(path, "SELECT count(*) FROM identity WHERE member_id NOT IN (SELECT id FROM member)")
    [(unnamed,)] = rows(path, "SELECT count(*) FROM member WHERE id NOT IN (SELECT member_id FROM identity)")
    assert orphans == 0 and unnamed == 0, "a member without an identity, or an identity without a member"
    for row, kind, body, text, handled_at, outcome in kept:
        assert text is not None, f"inbound row {row} has no event"
        event = decode_event(text)
        assert describe(event) == (kind, body), f"inbound row {row} is not what it says it is"
        assert handled_at is not None, f"inbound row {row} was never handled"
        assert outcome != "failed", f"handling inbound row {row} failed"
        address = event.sender.address
        if not event.sender.in_group:
            assert (address.platform, address.user_id) in identities, f"inbound row {row}: its sender is no member"


def tracebacks(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()[:200]}" for r in records
            if r.exc_info or r.levelno >= logging.CRITICAL]


class Watch:
    """The log records since the last look."""

    def __init__(self, caplog: pytest.LogCaptureFixture) -> None:
        self.caplog = caplog
        self.seen = 0

    def new(self) -> list[logging.LogRecord]:
        records = self.caplog.records[self.seen:]
        self.seen = len(self.caplog.records)
        return records


async def settled(app: App, watch: Watch) -> None:
    """The core has handled everything kept so far; nothing was logged with a traceback."""
    await asyncio.wait_for(app.intake.idle(), timeout=10)
    assert tracebacks(watch.new()) == []


# --- Telegram ------------------------------------------------------------------------------------

TELEGRAM_USER = shape({"id": st.integers(1, 10**12), "is_bot": st.booleans(), "first_name": ANY_TEXT},
                      {"last_name": ANY_TEXT, "username": ANY_TEXT, "language_code": ANY_TEXT})
TELEGRAM_CHAT = shape({"id": st.integers(-10**13, 10**12),
                       "type": st.sampled_from(["private", "group", "supergroup", "channel", "secret"])},
                      {"title": ANY_TEXT})
TELEGRAM_ENTITY = shape({"type": st.sampled_from(["bot_command", "bold", "url", "mention"]),
                         "offset": st.integers(-3, 50), "length": st.integers(-3, 50)})
TELEGRAM_REPLIED = shape({"message_id": st.integers(-5, 10**9), "date": st.integers(0, 2**33), "chat": TELEGRAM_CHAT},
                         {"from": TELEGRAM_USER, "text": ANY_TEXT})
TELEGRAM_MESSAGE = shape({"message_id": st.integers(-5, 10**9), "date": st.integers(0, 2**33), "chat": TELEGRAM_CHAT,
                          "from": TELEGRAM_USER, "text": ANY_TEXT},
                         {"entities": st.lists(TELEGRAM_ENTITY.any, max_size=3), "caption": ANY_TEXT,
                          "reply_to_message": TELEGRAM_REPLIED})
TELEGRAM_CALLBACK = shape({"id": ANY_TEXT, "from": TELEGRAM_USER, "chat_instance": ANY_TEXT, "data": ANY_TEXT},
                          {"message": TELEGRAM_MESSAGE, "game_short_name": ANY_TEXT})
TELEGRAM_UPDATE = st.one_of(
    shape({"message": TELEGRAM_MESSAGE}, {"edited_message": TELEGRAM_MESSAGE}).any,
    shape({"callback_query": TELEGRAM_CALLBACK}).any,
    shape({"channel_post": TELEGRAM_MESSAGE}).any,
    st.dictionaries(ANY_TEXT, ANY_JSON, max_size=4),
)
SENTINELS = itertools.count(10**13)  # people who write after each example: the bot still answers
A_VALID_MESSAGE = {"message_id": 7, "date": 1700000000, "chat": {"id": 77, "type": "private"},
                   "from": {"id": 77, "is_bot": False, "first_name": "Kofi"}}
A_LIST_FOR_AN_ID = {"message": {**A_VALID_MESSAGE, "from": {"id": [77], "is_bot": False, "first_name": "Kofi"},
                                "text": "hello"}}


class Running(Generic[Api, AdapterT]):
    """The app on one platform, its adapter and the platform's fake (short in hypothesis's reports)."""

    def __init__(self, api: Api, app: App, adapter: AdapterT) -> None:
        self.api, self.app, self.adapter = api, app, adapter

    def __repr__(self) -> str:
        return f"<the app on {self.adapter.platform}>"


def adapter_of(app: App, kind: type[AdapterT]) -> AdapterT:
    return next(adapter for adapter in app.adapters if isinstance(adapter, kind))


@pytest.fixture
async def telegram(tmp_path: Path) -> AsyncIterator[Running[FakeTelegram, TelegramAdapter]]:
    async with FakeTelegram(per_second=10_000, chat_burst=10_000) as api:
        app = await start_app(telegram_settings(tmp_path, api))
        try:
            yield Running(api, app, adapter_of(app, TelegramAdapter))
        finally:
            await app.stop()


@DIRECT
@given(body=TELEGRAM_UPDATE, update_id=st.one_of(st.integers(1, 2**31), ANY_JSON))
@example(body={"message": {}}, update_id=1)  # python-telegram-bot cannot read it: it raised
@example(body={"message": {**A_VALID_MESSAGE, "text": "a lone \ud800 surrogate"}}, update_id=2)  # SQLite refused it
@example(body={"message": {**A_VALID_MESSAGE, "text": 12}}, update_id=3)  # a number for a text: the core failed on it
@example(body={"message": {**A_VALID_MESSAGE, "text": ["/help"], "entities": [
    {"type": "bot_command", "offset": 0, "length": 5}]}}, update_id=4)  # a list for a command's text
@example(body={"callback_query": {"id": "1", "from": A_VALID_MESSAGE["from"], "chat_instance": "1",
                                  "data": {"not": "text"}}}, update_id=5)
@example(body=A_LIST_FOR_AN_ID, update_id=6)  # python-telegram-bot failed to keep the id in a set after handling
async def test_any_telegram_update_is_read_or_ignored_without_a_traceback(telegram, caplog, body, update_id):
    app, adapter = telegram.app, telegram.adapter
    watch = Watch(caplog)
    await adapter.take({**body, "update_id": update_id})
    await settled(app, watch)
    assert_whole(app.settings.storage_path)


@THROUGH_THE_SERVER
@given(body=TELEGRAM_UPDATE)
@example(body={"channel_post": {}})  # unreadable: polling fetched it and everything after it again for ever
@example(body=A_LIST_FOR_AN_ID)  # it stopped python-telegram-bot's fetching of updates for good
async def test_any_telegram_update_fetched_by_polling_leaves_the_bot_serving(telegram, caplog, body):
    api, app = telegram.api, telegram.app
    watch = Watch(caplog)
    await api.feed(body)
    sentinel = next(SENTINELS)
    await api.user(sentinel, "Sentinel").send("/whoami")
    await api.wait_until(lambda: any(f"Your Telegram id is {sentinel}" in m.text for m in api.chats.get(sentinel, [])),
                         timeout=5)
    await settled(app, watch)
    assert_whole(app.settings.storage_path)


# --- Slack ---------------------------------------------------------------------------------------

SLACK_USER_ID = st.one_of(st.sampled_from(["UAMINA001", "UBOLA0002", FACILITATOR]),
                          st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True))
SLACK_MESSAGE_EVENT = shape(
    {"type": st.just("message"), "channel_type": st.sampled_from(["im", "channel", "group", "mpim"]),
     "user": SLACK_USER_ID, "text": ANY_TEXT, "ts": st.from_regex(r"1[0-9]{9}\.[0-9]{6}", fullmatch=True),
     "channel": st.from_regex(r"D[A-Z0-9]{8}", fullmatch=True)},
    {"thread_ts": ANY_TEXT, "subtype": st.sampled_from(["file_share", "message_changed", "bot_message"]),
     "bot_id": ANY_TEXT, "event_ts": ANY_TEXT},
)
SLACK_HOME_EVENT = shape({"type": st.just("app_home_opened"), "user": SLACK_USER_ID,
                          "tab": st.sampled_from(["home", "messages"])}, {"channel": ANY_TEXT})
SLACK_EVENT_CALLBACK = shape(
    {"type": st.just("event_callback"), "token": st.just("verification-token"), "team_id": st.just("T0TEST"),
     "api_app_id": st.just("A0TEST"), "event": st.one_of(SLACK_MESSAGE_EVENT.exact, SLACK_HOME_EVENT.exact),
     "event_id": st.from_regex(r"Ev[A-Z0-9]{10}", fullmatch=True)},
    {"authorizations": st.lists(shape({"team_id": st.just("T0TEST"), "user_id": st.just("UBOT0001"),
                                       "is_bot": st.booleans()}).any, max_size=2), "event_time": st.integers()},
)
SLACK_ACTION = shape({"action_id": st.one_of(st.just("press:0:0"), ANY_TEXT), "value": ANY_TEXT,
                      "type": st.just("button")}, {"block_id": ANY_TEXT, "action_ts": ANY_TEXT})
SLACK_WHO = shape({"id": SLACK_USER_ID}, {"username": ANY_TEXT, "team_id": ANY_TEXT})
SLACK_BLOCK_ACTIONS = shape(
    {"type": st.just("block_actions"), "user": SLACK_WHO, "actions": st.lists(SLACK_ACTION.any, min_size=1, max_size=2),
     "trigger_id": ANY_TEXT, "api_app_id": st.just("A0TEST"), "team": st.just({"id": "T0TEST"})},
    {"container": shape({"type": st.sampled_from(["message", "view"])},
                        {"message_ts": ANY_TEXT, "channel_id": ANY_TEXT, "view_id": ANY_TEXT}),
     "channel": shape({"id": ANY_TEXT}), "message": shape({"ts": ANY_TEXT}),
     "view": shape({"id": ANY_TEXT, "type": st.sampled_from(["modal", "home"])}, {"hash": ANY_TEXT})},
)
SLACK_VIEW = shape(
    {"id": ANY_TEXT, "type": st.just("modal"), "callback_id": st.just("facilitator-prompt"),
     "private_metadata": st.one_of(ANY_TEXT, st.builds(lambda token, chat: json.dumps({"token": token, "chat": chat}),
                                                      ANY_TEXT, ANY_JSON)),
     "state": shape({"values": shape({"answer": shape({"text": shape({"value": ANY_TEXT})})})})},
    {"hash": ANY_TEXT},
)
SLACK_VIEW_SUBMISSION = shape({"type": st.just("view_submission"), "user": SLACK_WHO, "view": SLACK_VIEW,
                               "api_app_id": st.just("A0TEST"), "team": st.just({"id": "T0TEST"})})
SLACK_COMMAND = shape({"command": st.just("/facilitator"), "text": ANY_TEXT, "user_id": SLACK_USER_ID,
                       "trigger_id": ANY_TEXT},
                      {"team_id": st.just("T0TEST"), "channel_id": ANY_TEXT, "api_app_id": st.just("A0TEST")})


def form(fields: dict[str, Any]) -> str:
    return urlencode({name: value if isinstance(value, str) else json.dumps(value) for name, value in fields.items()})


def json_text(value: Any) -> str:
    return json.dumps(value)  # a lone surrogate as an escape, "\ud800", as JSON allows


# A request body and its content type, as Slack would send it or not.
SLACK_EVENTS = SLACK_EVENT_CALLBACK.any.map(lambda body: (json_text(body), "application/json"))
SLACK_INTERACTIONS = st.one_of(SLACK_BLOCK_ACTIONS.any, SLACK_VIEW_SUBMISSION.any).map(
    lambda payload: (urlencode({"payload": json_text(payload)}), "application/x-www-form-urlencoded"))
SLACK_COMMANDS = SLACK_COMMAND.any.map(lambda fields: (form(fields), "application/x-www-form-urlencoded"))
SLACK_BROKEN = st.one_of(
    # not UTF-8: a lone surrogate's own bytes in the body
    SLACK_EVENT_CALLBACK.exact.map(lambda body: (json.dumps(body, ensure_ascii=False) + "\udcff", "application/json")),
    # JSON that does not parse, in the body or in the form's payload; JSON of another kind
    # (a form is percent-encoded UTF-8: a lone surrogate has no bytes there, so none is put in)
    ANY_TEXT.map(lambda text: (urlencode({"payload": "{" + text.encode("utf-8", "replace").decode()}),
                               "application/x-www-form-urlencoded")),
    ANY_TEXT.map(lambda text: ("{" + text, "application/json")),
    ANY_JSON.map(lambda value: (json_text(value), "application/json")),
    ANY_JSON.map(lambda value: (urlencode({"payload": json_text(value)}), "application/x-www-form-urlencoded")),
    st.builds(lambda event: (json_text({"type": "event_callback", "event": event}), "application/json"), ANY_JSON),
)
SLACK_REQUEST = st.one_of(SLACK_EVENTS, SLACK_EVENTS, SLACK_INTERACTIONS, SLACK_INTERACTIONS, SLACK_COMMANDS,
                          SLACK_BROKEN)


def signed_headers(api: FakeSlack, raw: bytes, content_type: str) -> dict[str, str]:
    stamp = int(time.time())
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": str(stamp),
            "X-Slack-Signature": api.sign(raw, stamp)}


async def slack_listeners_done() -> None:
    """bolt runs a listener after its ack, in a task of its own: wait for those."""
    def running() -> bool:
        return any(getattr(task.get_coro(), "__name__", "") == "run_ack_function_asynchronously"
                   for task in asyncio.all_tasks() if not task.done())

    async with asyncio.timeout(10):
        while running():
            await asyncio.sleep(0.005)


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Running[FakeSlack, SlackAdapter]]:
    async with FakeSlack(channel_burst=10_000) as api:
        for user_id, name in (("UAMINA001", "Amina Bello"), ("UBOLA0002", "Bola Ade"), (FACILITATOR, "Fatou Diallo")):
            api.user(user_id, name)
        app = await start_slack(slack_settings(tmp_path, api), api)
        try:
            yield Running(api, app, adapter_of(app, SlackAdapter))
        finally:
            await app.stop()


A_PRESS = {"type": "block_actions", "user": {"id": "UAMINA001"}, "trigger_id": "1.2.3", "team": {"id": "T0TEST"},
           "api_app_id": "A0TEST", "actions": [{"action_id": "press:0:0", "value": "tok", "type": "button"}]}
AN_EVENT = {"type": "event_callback", "team_id": "T0TEST", "api_app_id": "A0TEST", "event_id": "Ev0000000001",
            "event": {"type": "message", "channel_type": "im", "user": "UAMINA001", "text": "hello",
                      "ts": "1700000000.000001", "channel": "DAMINA001"}}


@DIRECT
@given(request=SLACK_REQUEST)
# Each of these was answered 500 with a traceback in the log, or failed in a listener:
@example(request=(urlencode({"payload": "{"}), "application/x-www-form-urlencoded"))  # broken JSON in the form
@example(request=("[]", "application/json"))  # JSON, but no object
@example(request=(json.dumps({"type": "event_callback", "event": None}), "application/json"))
@example(request=(json.dumps({**A_PRESS, "actions": [{"value": "tok"}]}), "application/json"))  # no action_id
@example(request=(json.dumps(AN_EVENT, ensure_ascii=False) + "\udcff", "application/json"))  # not UTF-8
@example(request=(urlencode({"payload": json.dumps({**A_PRESS, "user": "UAMINA001"})}),
                  "application/x-www-form-urlencoded"))  # the person as a string, not an object
@example(request=(json.dumps({**AN_EVENT, "event": {**AN_EVENT["event"], "text": "\ud800"}}),
                  "application/json"))  # a lone surrogate: SQLite refused the text
@example(request=(json.dumps({"type": "view_submission", "user": {"id": "UAMINA001"},
                              "view": {"id": "V1", "callback_id": "facilitator-prompt"}}), "application/json"))
async def test_any_slack_request_signed_with_the_secret_is_read_or_refused_without_a_traceback(slack, caplog, request):
    body, content_type = request
    raw = body.encode("utf-8", "surrogatepass")
    watch = Watch(caplog)
    response = await slack.adapter.dispatch(raw, signed_headers(slack.api, raw, content_type))
    assert response.status < 500, response.body
    await slack_listeners_done()
    await settled(slack.app, watch)
    assert_whole(slack.app.settings.storage_path)


@DIRECT
@given(request=SLACK_REQUEST, timestamp=st.one_of(st.integers().map(str), ANY_TEXT), signature=ANY_TEXT)
@example(request=(json.dumps(AN_EVENT), "application/json"), timestamp="soon", signature="v0=0")  # bolt: 500
async def test_a_slack_request_not_signed_with_the_secret_is_refused_with_401(slack, caplog, request, timestamp,
                                                                               signature):
    body, content_type = request
    watch = Watch(caplog)
    headers = {"Content-Type": content_type, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    response = await slack.adapter.dispatch(body.encode("utf-8", "surrogatepass"), headers)
    assert response.status == 401
    await settled(slack.app, watch)
    assert_whole(slack.app.settings.storage_path)


@THROUGH_THE_SERVER
@given(request=SLACK_REQUEST)
async def test_any_signed_slack_request_posted_to_the_server_is_answered_below_500(slack, caplog, request):
    body, content_type = request
    watch = Watch(caplog)
    delivery = await slack.api.post("property", body.encode("utf-8", "surrogatepass"), content_type)
    assert delivery.status < 500, delivery.body
    await slack_listeners_done()
    await settled(slack.app, watch)
    assert_whole(slack.app.settings.storage_path)


# --- WhatsApp ------------------------------------------------------------------------------------

WHATSAPP_PHONE = st.one_of(st.sampled_from(["2348000000001", "233200000002", "+254 700 000 004"]),
                           st.from_regex(r"[1-9][0-9]{6,14}", fullmatch=True), ANY_TEXT)
WHATSAPP_ERROR = shape({"code": st.sampled_from([131047, 131026, 131051, 130429, 1, 0]), "title": ANY_TEXT},
                       {"message": ANY_TEXT, "error_data": shape({"details": ANY_TEXT})})
WHATSAPP_STATUS = shape(
    {"id": st.one_of(st.from_regex(r"wamid\.[A-Za-z0-9]{4,20}", fullmatch=True), ANY_TEXT),
     "status": st.sampled_from(["sent", "delivered", "read", "failed", "deleted"]), "recipient_id": WHATSAPP_PHONE,
     "timestamp": st.integers(0, 2**34).map(str)},
    {"errors": Many(WHATSAPP_ERROR, 2)},
)
WHATSAPP_CONTEXT = shape({"from": WHATSAPP_PHONE, "id": ANY_TEXT})
WHATSAPP_MESSAGE = shape(
    {"from": WHATSAPP_PHONE, "id": st.one_of(st.from_regex(r"wamid\.IN[0-9]{4,12}", fullmatch=True), ANY_TEXT),
     "timestamp": st.one_of(st.integers(0, 2**34).map(str), st.sampled_from(["nan", "inf", "-inf", "1e400"])),
     "type": st.sampled_from(["text", "image", "document", "interactive", "button", "reaction", "sticker"])},
    {"text": shape({"body": ANY_TEXT}), "image": shape({"caption": ANY_TEXT}, {"id": ANY_TEXT}),
     "interactive": shape({"type": st.sampled_from(["button_reply", "list_reply"])},
                          {"button_reply": shape({"id": ANY_TEXT, "title": ANY_TEXT}),
                           "list_reply": shape({"id": ANY_TEXT, "title": ANY_TEXT})}),
     "button": shape({"payload": ANY_TEXT, "text": ANY_TEXT}), "context": WHATSAPP_CONTEXT},
)
WHATSAPP_VALUE = shape(
    {"messaging_product": st.just("whatsapp"), "messages": Many(WHATSAPP_MESSAGE),
     "metadata": shape({"display_phone_number": st.just("15550001234"),
                        "phone_number_id": st.sampled_from(["109876543210", "109876543210", "999"])})},
    {"contacts": Many(shape({"wa_id": WHATSAPP_PHONE}, {"profile": shape({"name": ANY_TEXT})}), 2),
     "statuses": Many(WHATSAPP_STATUS)},
)
WHATSAPP_CHANGE = shape({"field": st.sampled_from(["messages", "messages", "account_update"]), "value": WHATSAPP_VALUE})
WHATSAPP_ENTRY = shape({"id": st.just("102290129340398"), "changes": Many(WHATSAPP_CHANGE, 2)})
WHATSAPP_WEBHOOK = shape({"object": st.just("whatsapp_business_account"), "entry": Many(WHATSAPP_ENTRY, 2)})
WHATSAPP_BODY = st.one_of(
    WHATSAPP_WEBHOOK.any.map(lambda body: json.dumps(body).encode()),
    WHATSAPP_WEBHOOK.any.map(lambda body: json.dumps(body).encode()),
    WHATSAPP_WEBHOOK.exact.map(lambda body: json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    ANY_JSON.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=200),
)
A_WHATSAPP_TEXT = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
    {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "109876543210"},
                                    "messages": [{"from": "2348000000001", "id": "wamid.IN1", "timestamp": "1",
                                                  "type": "text", "text": {"body": "hello \ud800"}}]}}]}]}
A_WHATSAPP_STATUS = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [
    {"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "109876543210"},
                                    "statuses": [{"id": "wamid.\udc80", "status": "delivered",
                                                  "recipient_id": "2348000000001", "timestamp": "1"}]}}]}]}


@pytest.fixture
async def whatsapp(tmp_path: Path) -> AsyncIterator[Running[FakeWhatsApp, WhatsAppAdapter]]:
    async with FakeWhatsApp(per_second=10_000, pair_burst=10_000) as api:
        app = await start_whatsapp(whatsapp_network_settings(tmp_path, api))
        try:
            yield Running(api, app, adapter_of(app, WhatsAppAdapter))
        finally:
            await app.stop()


@DIRECT
@given(raw=WHATSAPP_BODY)
@example(raw=b"[" * 100_000 + b"]" * 100_000)  # nested beyond json's reach: RecursionError, answered 500
@example(raw=json.dumps(A_WHATSAPP_TEXT).encode())  # a lone surrogate in a text: SQLite refused it, 500
@example(raw=json.dumps(A_WHATSAPP_STATUS).encode())  # and in a status's message id
async def test_any_signed_whatsapp_webhook_is_read_or_refused_without_a_traceback(whatsapp, caplog, raw):
    watch = Watch(caplog)
    status, _ = await whatsapp.adapter.take(raw, sign_whatsapp(raw, whatsapp.api.app_secret))
    assert status in (200, 400)
    await settled(whatsapp.app, watch)
    assert_whole(whatsapp.app.settings.storage_path)


@THROUGH_THE_SERVER
@given(raw=WHATSAPP_BODY)
async def test_any_signed_whatsapp_webhook_posted_to_the_server_is_answered_below_500(whatsapp, caplog, raw):
    watch = Watch(caplog)
    assert await whatsapp.api.post(raw) in (200, 400)
    await settled(whatsapp.app, watch)
    assert_whole(whatsapp.app.settings.storage_path)


# --- email ---------------------------------------------------------------------------------------

BYTES_OF_TEXT = ANY_TEXT.map(lambda text: text.encode("utf-8", "surrogatepass"))  # not always UTF-8
HEADER_BYTES = st.one_of(BYTES_OF_TEXT, st.binary(max_size=60)).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b""))  # one header line, whatever its bytes
CHARSET = st.sampled_from(["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "utf-7", "utf-16", "koi8-r", "gb2312",
                           "x-unknown", "", '"utf-8', "utf-8; format=flowed; delsp=yes"])
A_PERSON = st.sampled_from([b"Pat Doe <pat@ngo.test>", b"amina@example.org", b'"Doe, Pat" <pat@ngo.test>',
                            b"=?utf-8?q?Fran=C3=A7oise?= <fr@ngo.test>"])
MAIL_FROM = st.one_of(
    A_PERSON, A_PERSON, A_PERSON,
    st.sampled_from([b"<>", b"network@cpn.test", b"=?x-unknown?q?Pat?= <pat@ngo.test>",
                     b"=?utf-8?b?!!!?= <pat@ngo.test>", b"pat@", b"@", b"Pat <pat@ngo.test>, Bola <bola@ngo.test>",
                     b'"unterminated <pat@ngo.test>', b"undisclosed-recipients:;"]),
    HEADER_BYTES,
)
MESSAGE_IDS = st.one_of(st.sampled_from([b"<m1@ngo.test>", b"<d12.r5.abc@cpn.test>", b"<>", b"<<<", b""]), HEADER_BYTES)
CONTENT_TYPE = st.one_of(
    CHARSET.map(lambda charset: f"text/plain; charset={charset}".encode()),
    CHARSET.map(lambda charset: f"text/html; charset={charset}".encode()),
    st.sampled_from([b"multipart/mixed", b'multipart/alternative; boundary="b1"', b'multipart/mixed; boundary="b1"',
                     b'multipart/report; report-type=delivery-status; boundary="b1"', b"message/rfc822",
                     b"application/octet-stream", b"text/plain; charset*=utf-8''%FF", b"/", b""]),
    HEADER_BYTES,
)
TRANSFER_ENCODING = st.sampled_from([b"7bit", b"8bit", b"base64", b"quoted-printable", b"binary", b"x-uuencode",
                                     b"???"])
MAIL_BODY = st.one_of(
    BYTES_OF_TEXT, st.binary(max_size=300), st.sampled_from([b"=\r\n=ZZ=", b"!!!not base64!!!", b"x" * 300_000]),
    BYTES_OF_TEXT.map(lambda text: b"APPROVE " + text + b"\r\n\r\nOn Mon, 3 Jun 2024, Network wrote:\r\n> quoted"),
)
MAIL_PART = st.builds(
    lambda content_type, encoding, disposition, body: (
        b"Content-Type: " + content_type + b"\r\nContent-Transfer-Encoding: " + encoding + disposition
        + b"\r\n\r\n" + body),
    CONTENT_TYPE, TRANSFER_ENCODING,
    st.one_of(st.just(b""),
              HEADER_BYTES.map(lambda name: b'\r\nContent-Disposition: attachment; filename="' + name + b'"')),
    MAIL_BODY,
)
DELIVERY_STATUS = st.builds(
    lambda action, status, recipient, message_id: (
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; relay.test\r\n\r\nFinal-Recipient: rfc822; "
        + recipient + b"\r\nAction: " + action + b"\r\nStatus: " + status + b"\r\n\r\n--b1\r\n"
        b"Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: " + message_id + b"\r\n"),
    st.sampled_from([b"failed", b"delayed", b"delivered", b""]), st.sampled_from([b"5.1.1", b"4.2.2", b"9.9.9", b""]),
    st.one_of(st.just(b"pat@ngo.test"), HEADER_BYTES), MESSAGE_IDS,
)
MULTIPART_BODY = st.lists(st.one_of(MAIL_PART, DELIVERY_STATUS), max_size=3).map(
    lambda parts: b"".join(b"--b1\r\n" + part + b"\r\n" for part in parts) + b"--b1--\r\n")
MAIL_HEADERS = st.fixed_dictionaries(
    {"From": MAIL_FROM},
    optional={"To": st.just(b"network@cpn.test"), "Subject": HEADER_BYTES, "Message-ID": MESSAGE_IDS,
              "In-Reply-To": MESSAGE_IDS, "References": MESSAGE_IDS, "MIME-Version": st.just(b"1.0"),
              "Content-Type": CONTENT_TYPE, "Content-Transfer-Encoding": TRANSFER_ENCODING,
              "Auto-Submitted": st.sampled_from([b"no", b"auto-replied", b""]), "Return-Path": MAIL_FROM,
              "Date": st.one_of(st.just(b"Mon, 3 Jun 2024 10:00:00 +0000"), HEADER_BYTES)},
)


def raw_mail(headers: dict[str, bytes], body: bytes) -> bytes:
    return b"".join(name.encode() + b": " + value + b"\r\n" for name, value in headers.items()) + b"\r\n" + body


MAIL = st.one_of(
    st.builds(raw_mail, MAIL_HEADERS, MAIL_BODY),
    st.builds(raw_mail, MAIL_HEADERS.map(
        lambda headers: {**headers, "Content-Type": b'multipart/mixed; boundary="b1"'}), MULTIPART_BODY),
    st.builds(raw_mail, MAIL_HEADERS.map(lambda headers: {
        **headers, "Content-Type": b'multipart/report; report-type=delivery-status; boundary="b1"'}), MULTIPART_BODY),
    st.binary(max_size=300),
)


def short_lines(mail: bytes) -> bytes:
    """The mail with its lines cut under SMTP's 1,000 bytes, as a sender's server must send it."""
    lines: list[bytes] = []
    for line in mail.split(b"\r\n"):
        lines += [line[start:start + 900] for start in range(0, len(line), 900)] or [b""]
    return b"\r\n".join(lines)


@pytest.fixture
async def email(tmp_path: Path) -> AsyncIterator[Running[MailSink, EmailAdapter]]:
    async with MailSink() as sink:
        app = await start_email(email_network_settings(tmp_path, sink))
        try:
            yield Running(sink, app, adapter_of(app, EmailAdapter))
        finally:
            await app.stop()


EMPTY_MESSAGE_ID = raw_mail({"From": b"Pat Doe <pat@ngo.test>", "Message-ID": b"<>"}, b"hello")


@DIRECT
@given(raw=MAIL, envelope_sender=st.one_of(st.none(), st.just(""), st.just("pat@ngo.test"), ANY_TEXT))
# Python's header parser raised IndexError on it: the listener answered 451, so the sender's
# server would have offered it again and again.
@example(raw=EMPTY_MESSAGE_ID, envelope_sender=None)
# Read as the address 'unterminated <pat@ngo.test>': enrolled, then every answer to it failed
# in aiosmtplib with a traceback, eight times.
@example(raw=raw_mail({"From": b'"unterminated <pat@ngo.test>'}, b"hello"), envelope_sender=None)
# A name in broken UTF-8 is read with a lone surrogate: SQLite refused it, the listener answered 451.
@example(raw=raw_mail({"From": b"=?utf-8?q?P=E9?= <pat@ngo.test>"}, b"hello"), envelope_sender=None)
async def test_any_mail_is_read_kept_out_or_reported_without_a_traceback(email, caplog, raw, envelope_sender):
    watch = Watch(caplog)
    await email.adapter.receive(raw, envelope_sender)
    await settled(email.app, watch)
    assert_whole(email.app.settings.storage_path)


@settings(THROUGH_THE_SERVER, max_examples=30)
@given(raw=MAIL)
@example(raw=EMPTY_MESSAGE_ID)
async def test_any_mail_handed_to_the_smtp_listener_is_accepted_without_a_traceback(email, caplog, raw):
    watch = Watch(caplog)
    port = email.adapter.smtp_port
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False, timeout=10) as client:
        errors, reply = await client.sendmail("pat@ngo.test", [NETWORK], short_lines(raw))
    assert errors == {} and reply.startswith("OK"), reply
    await settled(email.app, watch)
    assert_whole(email.app.settings.storage_path)


# --- the web chat --------------------------------------------------------------------------------
# tests/test_security.py sends frames through the real socket; here the frames have lone
# surrogates (as JSON escapes) and nesting too deep for json, and go straight to the reader.

WEBCHAT_FRAME = st.one_of(
    shape({"type": st.sampled_from(["text", "press", "typing"]), "text": ANY_TEXT},
          {"token": ANY_TEXT, "message_id": ANY_TEXT, "reply_to": ANY_TEXT}).any.map(json.dumps),
    ANY_JSON.map(json.dumps),
    ANY_TEXT,
    st.integers(1, 50_000).map(lambda depth: "[" * depth + "]" * depth),
)


class PageSocket:
    """What the adapter writes back on a page's socket."""

    def __init__(self) -> None:
        self.sent: list[Any] = []

    async def send_json(self, data: Any) -> None:
        self.sent.append(data)


@pytest.fixture
async def webchat(tmp_path: Path) -> AsyncIterator[Running[None, WebChatAdapter]]:
    app = await start_webchat(tmp_path)
    try:
        yield Running(None, app, adapter_of(app, WebChatAdapter))
    finally:
        await app.stop()


@DIRECT
@given(frame=WEBCHAT_FRAME)
@example(frame="[" * 5000 + "]" * 5000)  # RecursionError out of json: the socket's handler failed
@example(frame=json.dumps({"type": "text", "text": "hello \ud800"}))  # SQLite refused the lone surrogate
async def test_any_frame_from_a_page_is_read_or_answered_with_an_error_without_a_traceback(webchat, caplog, frame):
    watch = Watch(caplog)
    sender = Sender(Address("webchat", f"visitor-{next(SENTINELS)}", ""), locale="en")
    await webchat.adapter._receive(PageSocket(), sender, frame)  # type: ignore[arg-type]
    await settled(webchat.app, watch)
    assert_whole(webchat.app.settings.storage_path)
