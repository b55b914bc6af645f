"""Who the facilitators are: those the configuration file lists, and those the facilitators
added at run time (with /facilitators add), kept in the database."""

from __future__ import annotations

from typing import Mapping, Protocol


class ConfiguredFacilitators(Protocol):
    by_platform: Mapping[str, frozenset[str]]

    def lists(self, platform: str, user_id: str) -> bool: ...

    def has_list_for(self, platform: str) -> bool: ...


class AddedFacilitators(Protocol):
    async def all(self) -> list[tuple[str, str]]:
        """(platform, user id) of every facilitator added at run time."""
        ...

    async def add(self, platform: str, user_id: str, by: int | None, now: float) -> None: ...

    async def remove(self, platform: str, user_id: str) -> bool: ...


class Roster:
    def __init__(self, configured: ConfiguredFacilitators, added: AddedFacilitators) -> None:
        self.configured = configured
        self.added = added
        self._added: set[tuple[str, str]] = set()

    async def load(self) -> None:
        self._added = set(await self.added.all())

    def lists(self, platform: str, user_id: str) -> bool:
        return self.configured.lists(platform, user_id) or (platform, user_id) in self._added

    def has_list_for(self, platform: str) -> bool:
        return self.configured.has_list_for(platform) or any(p == platform for p, _ in self._added)

    def in_configuration(self, platform: str, user_id: str) -> bool:
        return self.configured.lists(platform, user_id)

    async def add(self, platform: str, user_id: str, by: int | None, now: float) -> None:
        await self.added.add(platform, user_id, by, now)
        self._added.add((platform, user_id))

    async def remove(self, platform: str, user_id: str) -> bool:
        removed = await self.added.remove(platform, user_id)
        self._added.discard((platform, user_id))
        return removed

    def everyone(self) -> dict[str, set[str]]:
        """Every listed facilitator's user id, per platform."""
        every: dict[str, set[str]] = {platform: set(ids) for platform, ids in self.configured.by_platform.items()}
        for platform, user_id in self._added:
            every.setdefault(platform, set()).add(user_id)
        return every
