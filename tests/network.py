"""A running network for end-to-end tests: the real app (core, SQLite file, delivery engine)
with the in-memory platform, and helpers that read like the product's stories."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from bot.app import App
from bot.clock import Clock
from bot.config import CommunitySettings, FacilitatorSettings, Settings
from tests.memory_platform import MemoryPlatform, Person
from tests.storage_backend import storage_url

FACILITATORS = ("f1", "f2")
ROOT = Path(__file__).resolve().parent.parent


def settings_for(tmp_path: Path, languages: tuple[str, ...] = ("en", "fr"), **community: object) -> Settings:
    return Settings(
        community=CommunitySettings(name="Test Network", languages=languages, default_language="en",
                                    **community),  # type: ignore[arg-type]
        storage_path=tmp_path / "network.db",
        storage_url=storage_url(tmp_path / "network.db"),
        facilitators=FacilitatorSettings(by_platform={"memory": frozenset(FACILITATORS)}),
    )


async def close_now(facilitator: Person) -> None:
    """Close now, and yes (closing asks first, on the card)."""
    card = await facilitator.sees(lambda m: "Close now" in m.labels())
    await facilitator.presses("Close now", on=card)
    await facilitator.presses("Yes, close it", on=await facilitator.sees(lambda m: "Yes, close it" in m.labels()))


@dataclass
class Network:
    settings: Settings
    platform: MemoryPlatform = field(default_factory=MemoryPlatform)
    clock: Clock | None = None
    app: App | None = None

    async def start(self) -> "Network":
        self.app = await App.build(self.settings, clock=self.clock, extra_adapters=[self.platform])
        await self.app.start()
        return self

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop()
            self.app = None

    async def restart(self) -> None:
        """Stop everything and start again on the same database, as after a crash or deploy."""
        await self.stop()
        await self.start()

    def person(self, user_id: str, name: str = "", locale: str = "") -> Person:
        return self.platform.person(user_id, name, locale)

    async def member(self, user_id: str, name: str, organization: str = "", country: str = "",
                     topics: str = "", offers: str = "", seeks: str = "", listed: bool = False) -> Person:
        """A person who has joined, answering name, organization and country (and, when given,
        topics, what they offer and look for, and yes to the member directory)."""
        person = self.person(user_id, name)
        await person.says("/start")
        await person.receives("What is your name")
        await person.says(name)
        await person.receives("organization")
        if organization:
            await person.says(organization)
        else:
            await person.presses("Skip")
        await person.receives("country")
        if country:
            await person.says(country)
        else:
            await person.presses("Skip")
        await person.receives("topics")
        await (person.says(topics) if topics else person.presses("Skip"))
        await person.receives("language")
        await person.presses("English")
        await person.receives("What can you offer")
        await (person.says(offers) if offers else person.presses("Skip"))
        await person.receives("What are you looking for")
        await (person.says(seeks) if seeks else person.presses("Skip"))
        await person.presses("Yes" if listed else "No", on=await person.receives("find you in the directory"))
        await person.receives("you are in")
        return person
