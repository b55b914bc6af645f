"""The real app on its web chat, for adapter and browser tests."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from adapters.webchat import WebChatSettings
from adapters.webchat.dashboard import DashboardSettings
from bot.app import App
from bot.config import CommunitySettings, FacilitatorSettings, Settings
from tests.storage_backend import storage_url

SECRET = "test-secret-0123456789abcdef"


def webchat_settings(tmp_path: Path, demo: bool = True, languages: tuple[str, ...] = ("en",),
                     dashboard: bool = False) -> Settings:
    platforms: dict[str, object] = {"webchat": WebChatSettings(host="127.0.0.1", port=0, secret=SECRET, demo=demo)}
    if dashboard:
        platforms["dashboard"] = DashboardSettings(host="127.0.0.1", port=0, secret=SECRET + "-dashboard", demo=demo)
    return Settings(
        community=CommunitySettings(name="Child Poverty Network (test)", languages=languages),
        storage_path=tmp_path / "webchat.db",
        storage_url=storage_url(tmp_path / "webchat.db"),
        facilitators=FacilitatorSettings(),
        platforms=platforms,
    )


async def start_demo(tmp_path: Path, demo: bool = True, languages: tuple[str, ...] = ("en",),
                     dashboard: bool = False) -> App:
    app = await App.build(webchat_settings(tmp_path, demo, languages, dashboard))
    await app.seed_demo()
    await app.start()
    return app


class Visitor:
    """A browser without a browser: cookies and a WebSocket."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.socket: aiohttp.ClientWebSocketResponse | None = None

    async def pick(self, user_id: str) -> aiohttp.ClientResponse:
        return await self.session.post(f"{self.base}/api/identity", json={"user_id": user_id})

    async def connect(self) -> aiohttp.ClientWebSocketResponse:
        self.socket = await self.session.ws_connect(f"{self.base}/ws")
        return self.socket

    async def send(self, frame: dict) -> None:
        assert self.socket is not None
        await self.socket.send_json(frame)

    async def receive(self, containing: str, kind: str = "message", timeout: float = 10.0) -> dict:
        assert self.socket is not None
        while True:
            frame = await self.socket.receive_json(timeout=timeout)
            text = "".join(span["text"] for span in frame.get("spans", [])) if "spans" in frame else frame.get("text", "")
            if frame["type"] == kind and containing in text:
                frame["text"] = text
                return frame

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
        await self.session.close()
