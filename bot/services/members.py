"""What the core needs to know about members, and how it finds where to write to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.domain.members import Identity, Member, Role
from bot.ports import Address


@dataclass(frozen=True)
class Recipient:
    """One member at the one address a message to them goes to."""

    member_id: int | None  # None for a group, such as the facilitators' group
    address: Address
    language: str


class MemberStore(Protocol):
    async def find_by_identity(self, platform: str, user_id: str) -> Member | None: ...

    async def get(self, member_id: int) -> Member | None: ...

    async def create(self, identity: Identity, name: str, role: Role, now: float) -> Member: ...

    async def save(self, member: Member) -> None:
        """Store the profile, role, status and delivery preference (not the identities)."""
        ...

    async def add_identity(self, member_id: int, identity: Identity) -> None:
        """One more way the member is known (none if that identity is already someone's)."""
        ...

    async def listing(self, country: str = "", platform: str = "", language: str = "", topic: str = "",
                      status: str = "", limit: int = 500) -> list[Member]:
        """Members matching every filter given (forgotten ones left out), by number."""
        ...

    async def touch(self, platform: str, user_id: str, chat_id: str | None, now: float) -> None:
        """The person just wrote: reachable again, seen now, and (when given) their chat."""
        ...

    async def mark_unreachable(self, address: Address, reason: str) -> None: ...

    async def facilitators(self) -> list[Member]: ...

    async def recipients(self, member_ids: list[int] | None = None, exclude: int | None = None,
                         instant_only: bool = True) -> list[Recipient]:
        """Where to reach members: the given ones, or every active member receiving
        broadcasts (except `exclude`), each at their most recently used reachable identity."""
        ...

    async def on_platform(self, platform: str) -> list[Member]: ...

    async def digest_readers(self) -> list[Member]:
        """Active members who chose a daily or weekly digest."""
        ...

    async def count_active(self) -> int: ...
