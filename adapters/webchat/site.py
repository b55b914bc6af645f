"""The bot's own web server: one aiohttp application on one host and port, shared by the web
chat and the facilitators' dashboard when both run, started with the first of them and
stopped with the last. Its pages refuse other sites: every response carries a strict
Content-Security-Policy, and `from_here` tells a request from the page's own origin."""

from __future__ import annotations

from typing import Any

from aiohttp import web

MAX_BODY_BYTES = 256 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class WebSite:
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.app = web.Application(client_max_size=MAX_BODY_BYTES, middlewares=[_security_headers])
        self._runner: web.AppRunner | None = None
        self._users = 0

    @classmethod
    def shared(cls, shared: dict[str, Any], host: str, port: int) -> "WebSite":
        """The one site on this host and port among the adapters of this process."""
        key = f"website:{host}:{port}"
        if key not in shared:
            shared[key] = cls(host, port)
        site: WebSite = shared[key]
        return site

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def open(self) -> None:
        self._users += 1
        if self._runner is not None:
            return
        self._runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        sockets = getattr(site._server, "sockets", None)  # the real port when 0 was asked for
        if sockets:
            self.port = sockets[0].getsockname()[1]

    async def close(self) -> None:
        self._users = max(0, self._users - 1)
        if self._users == 0 and self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()


def from_here(request: web.Request, allowed_origins: tuple[str, ...]) -> bool:
    """True when the request comes from this site's own pages: its Origin is the server's own
    address (or one listed as allowed); without an Origin, the browser says same-origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return request.headers.get("Sec-Fetch-Site", "same-origin") == "same-origin"
    own = {f"{request.scheme}://{request.host}", *allowed_origins}
    return origin.rstrip("/") in {address.rstrip("/") for address in own}


def first_language(header: str) -> str:
    """The first language of an Accept-Language header ("fr-CH, fr;q=0.9" -> "fr")."""
    first = header.split(",")[0].split(";")[0].strip()
    return first.split("-")[0].casefold() if first and first != "*" else ""


@web.middleware
async def _security_headers(request: web.Request, handler):  # type: ignore[no-untyped-def]
    response = await handler(request)
    response.headers.update(SECURITY_HEADERS)
    return response
