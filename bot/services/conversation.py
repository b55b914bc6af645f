"""What the bot is waiting for from each person, kept in the database so that a restart in
the middle of joining or of a clarification loses nothing; and the other small stores the
core writes through."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Conversation:
    step: str
    data: dict[str, Any] = field(default_factory=dict)


class ConversationStore(Protocol):
    async def get(self, member_id: int) -> Conversation | None: ...

    async def set(self, member_id: int, conversation: Conversation, now: float) -> None: ...

    async def clear(self, member_id: int) -> None: ...


class InboundLog(Protocol):
    """Everything people send, kept verbatim before anything is done with it, and whether
    it has been handled."""

    async def record(self, platform: str, user_id: str, chat_id: str, kind: str, body: str, event: str,
                     now: float, event_id: str | None = None) -> int | None:
        """Keep one event (`event` is its JSON, to handle it again after a crash); its row, or
        None when an event with the same platform id was kept before."""
        ...

    async def pending(self, received_before: float | None = None) -> list[tuple[int, str]]:
        """(row, event JSON) of the events not yet handled (received before that time, when
        given), oldest first."""
        ...

    async def still_unhandled(self, row: int) -> bool:
        """In the caller's transaction: True when nobody handled the event yet (another worker
        may have, with its own copy of a kept event)."""
        ...

    async def mark_handled(self, row: int, outcome: str, now: float) -> None: ...


class Secrets(Protocol):
    async def secret(self, name: str) -> bytes:
        """A random secret made once and kept (signs button tokens)."""
        ...


class UnitOfWork(Protocol):
    """Opens one transaction: everything written inside lands together or not at all."""

    def transaction(self) -> Any: ...
