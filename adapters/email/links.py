"""The links in the bot's mails, and the small web server that answers them.

Each button of a mail becomes a signed (itsdangerous), expiring, single-use link. Opening it
(GET) only shows a confirmation page with a form: mail scanners that fetch every link of a
message therefore press nothing. Sending the form (POST) is the press. The List-Unsubscribe
link works the same way, and also takes RFC 8058's one-click POST straight from the mail
client; it pauses the member.
"""

from __future__ import annotations

import html
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Awaitable, Callable

from aiohttp import web
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

log = logging.getLogger(__name__)

PRESS_PATH = "/email/press/"
UNSUBSCRIBE_PATH = "/email/unsubscribe/"
UNSUBSCRIBE_MAX_AGE = 365 * 86400.0  # a List-Unsubscribe link must keep working for long
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                               "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class PressLink:
    """What a button's link stands for: this person pressing this button on this mail."""

    address: str
    token: str
    label: str
    message_id: str
    nonce: str


@dataclass(frozen=True)
class UnsubscribeLink:
    address: str
    nonce: str


@dataclass(frozen=True)
class Refused:
    """Why a link does nothing, said to the person who opened it."""

    status: int
    title: str
    text: str


FORGED = Refused(400, "This link is not valid",
                 "It was changed or cut. Open the link again from the email, or reply to the email instead.")
EXPIRED = Refused(410, "This link has expired",
                  "Links in the network's emails work for a limited time. Reply to the email instead, "
                  "or send \"help\" to the network's address.")
USED = Refused(409, "This link was already used",
               "Each link works once, so that nothing is done twice. Nothing more was done.")


class LinkSigner:
    def __init__(self, secret: str, base_url: str, max_age: float) -> None:
        self._presses = URLSafeTimedSerializer(secret, salt="email-press")
        self._unsubscribes = URLSafeTimedSerializer(secret, salt="email-unsubscribe")
        self.base_url = base_url.rstrip("/")
        self.max_age = max_age

    def press_url(self, address: str, token: str, label: str, message_id: str) -> str:
        signed = self._presses.dumps({"a": address, "t": token, "l": label[:64], "m": message_id,
                                      "n": secrets.token_urlsafe(9)})
        return f"{self.base_url}{PRESS_PATH}{signed}"

    def unsubscribe_url(self, address: str) -> str:
        signed = self._unsubscribes.dumps({"a": address, "n": secrets.token_urlsafe(9)})
        return f"{self.base_url}{UNSUBSCRIBE_PATH}{signed}"

    def read_press(self, signed: str) -> PressLink | Refused:
        data = _load(self._presses, signed, self.max_age)
        if isinstance(data, Refused):
            return data
        try:
            return PressLink(str(data["a"]), str(data["t"]), str(data["l"]), str(data["m"]), str(data["n"]))
        except (KeyError, TypeError):
            return FORGED

    def read_unsubscribe(self, signed: str) -> UnsubscribeLink | Refused:
        data = _load(self._unsubscribes, signed, UNSUBSCRIBE_MAX_AGE)
        if isinstance(data, Refused):
            return data
        try:
            return UnsubscribeLink(str(data["a"]), str(data["n"]))
        except (KeyError, TypeError):
            return FORGED


def _load(serializer: URLSafeTimedSerializer, signed: str, max_age: float) -> dict | Refused:
    try:
        data = serializer.loads(signed, max_age=max_age)
    except SignatureExpired:
        return EXPIRED
    except BadSignature:
        log.warning("refused a forged or damaged email link")
        return FORGED
    return data if isinstance(data, dict) else FORGED


class UsedLinks:
    """The nonces of links already used, until they would have expired anyway. Kept in memory:
    after a restart a reused link is still done once only (the core keeps each press's event
    id), it is just no longer told apart on the page."""

    def __init__(self, max_age: float, clock: Callable[[], float] = time.time) -> None:
        self.max_age = max_age
        self.clock = clock
        self._used: dict[str, float] = {}

    def take(self, nonce: str) -> bool:
        """True the first time a nonce is taken, False after."""
        now = self.clock()
        if len(self._used) > 10_000:
            self._used = {n: at for n, at in self._used.items() if now - at < self.max_age}
        if nonce in self._used:
            return False
        self._used[nonce] = now
        return True


OnPress = Callable[[PressLink], Awaitable[None]]
OnUnsubscribe = Callable[[UnsubscribeLink], Awaitable[None]]


class LinkServer:
    """The aiohttp server behind the links: pages only, every action a POST."""

    def __init__(self, signer: LinkSigner, host: str, port: int, network: str, on_press: OnPress,
                 on_unsubscribe: OnUnsubscribe) -> None:
        self.signer = signer
        self.host = host
        self.port = port
        self.network = network or "The network"
        self.on_press = on_press
        self.on_unsubscribe = on_unsubscribe
        self.used = UsedLinks(max(signer.max_age, UNSUBSCRIBE_MAX_AGE))
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application(client_max_size=16 * 1024, middlewares=[_security_headers])
        app.router.add_get(PRESS_PATH + "{signed}", self._confirm_press)
        app.router.add_post(PRESS_PATH + "{signed}", self._press)
        app.router.add_get(UNSUBSCRIBE_PATH + "{signed}", self._confirm_unsubscribe)
        app.router.add_post(UNSUBSCRIBE_PATH + "{signed}", self._unsubscribe)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # the real port when 0 was asked for
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- a button ----------------------------------------------------------------------------

    async def _confirm_press(self, request: web.Request) -> web.Response:
        link = self.signer.read_press(request.match_info["signed"])
        if isinstance(link, Refused):
            return self._refused(link)
        return self._page(200, html.escape(link.label), (
            f"<p>You are about to press <strong>{html.escape(link.label)}</strong> "
            f"as {html.escape(link.address)}.</p>"
            f'<form method="post"><button type="submit">{html.escape(link.label)}</button></form>'
            "<p class=small>Nothing happens until you press the button above.</p>"
        ))

    async def _press(self, request: web.Request) -> web.Response:
        link = self.signer.read_press(request.match_info["signed"])
        if isinstance(link, Refused):
            return self._refused(link)
        if not self.used.take(link.nonce):
            log.info("refused a reused email link of %s", link.address)
            return self._refused(USED)
        await self.on_press(link)
        return self._page(200, "Done", (
            f"<p>Done: <strong>{html.escape(link.label)}</strong>.</p>"
            "<p>The answer comes to you by email in a moment. You can close this page.</p>"
        ))

    # --- List-Unsubscribe ---------------------------------------------------------------------

    async def _confirm_unsubscribe(self, request: web.Request) -> web.Response:
        link = self.signer.read_unsubscribe(request.match_info["signed"])
        if isinstance(link, Refused):
            return self._refused(link)
        return self._page(200, "Pause your membership", (
            f"<p>Stop receiving the questions of {html.escape(self.network)} at "
            f"{html.escape(link.address)} for a while?</p>"
            '<form method="post"><button type="submit">Pause</button></form>'
            "<p class=small>Send \"resume\" to the network's address to receive them again.</p>"
        ))

    async def _unsubscribe(self, request: web.Request) -> web.Response:
        """The page's form, or a mail client's one-click POST (RFC 8058)."""
        link = self.signer.read_unsubscribe(request.match_info["signed"])
        if isinstance(link, Refused):
            return self._refused(link)
        if self.used.take(link.nonce):
            await self.on_unsubscribe(link)
        return self._page(200, "Paused", (
            f"<p>{html.escape(link.address)} no longer receives the network's questions.</p>"
            "<p class=small>Send \"resume\" to the network's address to receive them again.</p>"
        ))

    # --- pages ---------------------------------------------------------------------------------

    def _refused(self, refused: Refused) -> web.Response:
        return self._page(refused.status, refused.title, f"<p>{html.escape(refused.text)}</p>")

    def _page(self, status: int, title: str, body: str) -> web.Response:
        page = (
            "<!doctype html><html lang=en><head><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width, initial-scale=1">'
            f"<title>{title} · {html.escape(self.network)}</title><style>"
            "body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#222}"
            "button{font-size:1.1rem;padding:.6rem 1.4rem;border:0;border-radius:.4rem;background:#1d5fa8;"
            "color:#fff;cursor:pointer}.small{color:#666;font-size:.9rem}"
            f"</style></head><body><h1>{title}</h1>{body}"
            f"<p class=small>{html.escape(self.network)}</p></body></html>"
        )
        return web.Response(status=status, text=page, content_type="text/html", charset="utf-8")


@web.middleware
async def _security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response
