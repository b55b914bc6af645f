"""What the core needs to keep discussions, their replies and the cards sent about them."""

from __future__ import annotations

from typing import Protocol

from bot.domain.discussions import Discussion, Reply, State
from bot.services.outbox import CardCopy


class DiscussionStore(Protocol):
    async def create(self, asker_id: int, text: str, language: str, anonymous: bool, now: float) -> Discussion: ...

    async def get(self, discussion_id: int) -> Discussion | None: ...

    async def save(self, discussion: Discussion, expected_version: int) -> bool:
        """Store the new state unless someone changed it since `expected_version` was read
        (then False: two facilitators pressed at once and the other one won)."""
        ...

    async def in_state(self, state: State) -> list[Discussion]: ...

    async def asked_by(self, member_id: int) -> list[Discussion]:
        """The member's own questions, newest first."""
        ...

    async def approved_between(self, start: float, end: float) -> list[Discussion]:
        """Discussions shared with the network in that time, still open."""
        ...

    async def published_between(self, start: float, end: float) -> list[Discussion]: ...

    async def add_reply(self, discussion_id: int, member_id: int, text: str, anonymous: bool, now: float,
                        language: str = "") -> Reply: ...

    async def replies(self, discussion_id: int) -> list[Reply]: ...

    async def replied_member_ids(self, discussion_id: int) -> set[int]: ...

    async def add_card(self, discussion_id: int, outbox_id: int, kind: str, language: str) -> None: ...

    async def cards(self, discussion_id: int, kind: str) -> list[CardCopy]:
        """Every copy of the cards of that kind sent about the discussion."""
        ...
