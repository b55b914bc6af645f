"""Pacing: send at a steady rate just under a platform's ceiling, and never faster than a
chat allows. Not a bucket that lets a second's worth go at once and then waits (Telegram
answers such bursts with 429s and the average ends well below the ceiling): one slot every
1/rate seconds for the whole bot, and per chat a small allowance refilled at the chat's pace.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class _ChatAllowance:
    tokens: float
    updated: float
    blocked_until: float = 0.0


class Pacer:
    def __init__(self, messages_per_second: float, per_chat_interval: float, per_chat_burst: int = 2,
                 safety: float = 0.97, group_interval: float | None = None) -> None:
        self.interval = 1.0 / (messages_per_second * safety) if messages_per_second > 0 else 0.0
        self.per_chat_interval = per_chat_interval
        self.group_interval = per_chat_interval if group_interval is None else group_interval
        self._groups: set[str] = set()
        self.per_chat_burst = per_chat_burst
        self._next_slot = 0.0
        self._chats: dict[str, _ChatAllowance] = {}

    def mark_group(self, chat: str) -> None:
        """This chat is a group: it is paced at the group interval."""
        self._groups.add(chat)

    def chat_ready_at(self, chat: str, now: float) -> float:
        """When this chat may receive its next message (now, or later)."""
        allowance = self._refill(chat, now)
        ready = allowance.blocked_until
        interval = self._interval(chat)
        if allowance.tokens < 1.0 and interval > 0:
            ready = max(ready, now + (1.0 - allowance.tokens) * interval)
        return max(ready, now)

    def next_slot(self, now: float) -> float:
        """The time of the bot's next sending slot; taking it moves the following one on."""
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        return slot

    def take(self, chat: str, now: float) -> None:
        allowance = self._refill(chat, now)
        allowance.tokens = max(0.0, allowance.tokens - 1.0)

    def penalise(self, chat: str, now: float, seconds: float) -> None:
        """The platform said "too many": nothing to this chat before `seconds` have passed,
        and the whole bot pauses briefly too, since the answer may be about the bot's rate."""
        allowance = self._refill(chat, now)
        allowance.blocked_until = max(allowance.blocked_until, now + seconds)
        allowance.tokens = 0.0
        self._next_slot = max(self._next_slot, now + min(seconds, 1.0))

    def _interval(self, chat: str) -> float:
        return self.group_interval if chat in self._groups else self.per_chat_interval

    def _refill(self, chat: str, now: float) -> _ChatAllowance:
        allowance = self._chats.get(chat)
        interval = self._interval(chat)
        if allowance is None:
            allowance = self._chats[chat] = _ChatAllowance(float(self.per_chat_burst), now)
        elif interval > 0:
            gained = (now - allowance.updated) / interval
            allowance.tokens = min(float(self.per_chat_burst), allowance.tokens + gained)
            allowance.updated = now
        else:
            allowance.tokens = float(self.per_chat_burst)
        if len(self._chats) > 50_000:
            self._forget_idle(now)
        return allowance

    def _forget_idle(self, now: float) -> None:
        idle = [chat for chat, a in self._chats.items()
                if a.blocked_until <= now and now - a.updated > self.per_chat_interval * self.per_chat_burst]
        for chat in idle:
            del self._chats[chat]
