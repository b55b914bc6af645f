"""Who may do what, as a chain of small named rules (in the manner of GNU Mailman's
moderation chain): each answers one question about an attempt, and the first refusal is what
the person is told. Each route lists its rules; adding a rule is adding one entry."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

from bot.domain.discussions import Discussion
from bot.domain.members import Member, Status
from bot.domain.refusal import Refusal
from bot.ports import Sender

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """What a rule looks at: who is trying something, and on what."""

    sender: Sender
    member: Member | None  # None: the bot does not know this person
    listed_facilitator: bool = False  # named in [facilitators] for this platform
    subject: int | None = None  # the member a personal button was made for
    discussion: Discussion | None = None


class Rule(Protocol):
    name: str

    def check(self, attempt: Attempt) -> Refusal | None: ...


@dataclass(frozen=True)
class SimpleRule:
    name: str
    refused: Callable[[Attempt], bool]
    refusal: Refusal | Callable[[Attempt], Refusal]

    def check(self, attempt: Attempt) -> Refusal | None:
        if not self.refused(attempt):
            return None
        return self.refusal(attempt) if callable(self.refusal) else self.refusal


def first_refusal(rules: Sequence[Rule], attempt: Attempt) -> tuple[Rule, Refusal] | None:
    for rule in rules:
        refusal = rule.check(attempt)
        if refusal is not None:
            return rule, refusal
    return None


ONLY_FACILITATORS = Refusal("Only facilitators can do that.")

NOT_A_STRANGER_IN_A_GROUP = SimpleRule(
    "not a stranger in a group",
    # Talking in a group does not make a person a member.
    lambda a: a.sender.in_group and a.member is None and not a.listed_facilitator,
    ONLY_FACILITATORS,
)
NOT_REMOVED = SimpleRule(
    "was not removed by the facilitators",
    lambda a: a.member is not None and a.member.removed_reason is not None,
    lambda a: Refusal("The facilitators removed you from the network: {reason}",
                      {"reason": a.member.removed_reason if a.member else ""}),
)
NOT_MUTED = SimpleRule(
    "is not muted",
    lambda a: a.member is not None and a.member.muted_reason is not None,
    lambda a: Refusal("The facilitators have paused your questions and replies: {reason}",
                      {"reason": a.member.muted_reason if a.member else ""}),
)
NOT_LEFT = SimpleRule(
    "has not left the network",
    lambda a: a.member is not None and a.member.status is Status.LEFT,
    Refusal("You have left the network. Send /start to join again."),
)
IS_FACILITATOR = SimpleRule(
    "is a facilitator",
    lambda a: a.member is None or not a.member.is_facilitator,
    ONLY_FACILITATORS,
)
IS_OWNER = SimpleRule(
    "the button was made for them",
    lambda a: a.member is None or a.subject != a.member.id,
    Refusal("This button was meant for someone else."),
)
IS_ASKER = SimpleRule(
    "asked the question",
    lambda a: a.member is None or a.discussion is None or a.discussion.asker_id != a.member.id,
    Refusal("Only the person who asked can do that."),
)
IN_PRIVATE = SimpleRule(
    "in a private chat",
    lambda a: a.sender.in_group,
    Refusal("Please write to me in a private chat for that."),
)


@dataclass
class _Allowance:
    tokens: float
    updated: float
    told_at: float = 0.0


@dataclass
class TooFast:
    """A person may send a small burst, then a steady few events a second; more is refused
    at the door (not kept), and they are told once in a while."""

    per_second: float = 5.0
    burst: int = 20
    name: str = "not too fast"
    clock: Callable[[], float] = time.monotonic
    _allowances: dict[tuple[str, str], _Allowance] = field(default_factory=dict)

    def check(self, attempt: Attempt) -> Refusal | None:
        address = attempt.sender.address
        key = (address.platform, address.user_id or address.chat_id)
        now = self.clock()
        allowance = self._allowances.get(key)
        if allowance is None:
            allowance = self._allowances[key] = _Allowance(float(self.burst), now)
        allowance.tokens = min(float(self.burst), allowance.tokens + (now - allowance.updated) * self.per_second)
        allowance.updated = now
        if len(self._allowances) > 10_000:
            self._forget_idle(now)
        if allowance.tokens >= 1.0:
            allowance.tokens -= 1.0
            return None
        return SLOW_DOWN

    def should_tell(self, attempt: Attempt) -> bool:
        """True at most once a second per person: the refusal is said, not repeated."""
        address = attempt.sender.address
        allowance = self._allowances.get((address.platform, address.user_id or address.chat_id))
        now = self.clock()
        if allowance is None or now - allowance.told_at < 1.0:
            return False
        allowance.told_at = now
        return True

    def _forget_idle(self, now: float) -> None:
        full = [key for key, a in self._allowances.items() if now - a.updated > self.burst / self.per_second]
        for key in full:
            del self._allowances[key]


SLOW_DOWN = Refusal("Slow down: some of your messages were not sent.")
