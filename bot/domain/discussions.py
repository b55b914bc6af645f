"""A discussion: one member's question from submission to its published consolidated reply.

The state machine (DESIGN.md):
    submitted -> clarifying -> submitted
    submitted -> approved (open) -> closed -> published
    submitted -> rejected
    any state before publication -> withdrawn (by the asker)
    closed -> approved, when a discussion that got no replies is shared again
Every method returns the discussion in its new state, or a Refusal saying why not. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from bot.domain.members import has_words
from bot.domain.refusal import Refusal


class State(StrEnum):
    SUBMITTED = "submitted"
    CLARIFYING = "clarifying"
    APPROVED = "approved"
    CLOSED = "closed"
    PUBLISHED = "published"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


TRANSITIONS: dict[State, frozenset[State]] = {
    State.SUBMITTED: frozenset({State.CLARIFYING, State.APPROVED, State.REJECTED, State.WITHDRAWN}),
    State.CLARIFYING: frozenset({State.SUBMITTED, State.WITHDRAWN}),
    State.APPROVED: frozenset({State.CLOSED, State.WITHDRAWN}),
    # closed -> approved: a discussion that closed with no replies is shared again.
    State.CLOSED: frozenset({State.PUBLISHED, State.WITHDRAWN, State.APPROVED}),
    State.PUBLISHED: frozenset(),
    State.REJECTED: frozenset(),
    State.WITHDRAWN: frozenset(),
}

# What a person is told when the discussion is no longer where their button expects it.
_ALREADY = {
    State.SUBMITTED: "This question is waiting for a facilitator.",
    State.CLARIFYING: "A facilitator has asked the asker to clarify this question.",
    State.APPROVED: "This question has already been approved and shared.",
    State.CLOSED: "This discussion is already closed.",
    State.PUBLISHED: "This discussion's consolidated reply is already published.",
    State.REJECTED: "This question has already been rejected.",
    State.WITHDRAWN: "The asker has withdrawn this question.",
}

MAX_QUESTION_CHARS = 4000
MAX_REPLY_CHARS = 10000


@dataclass(frozen=True)
class Discussion:
    id: int
    asker_id: int
    text: str
    state: State = State.SUBMITTED
    language: str = ""
    anonymous: bool = False
    state_by: int | None = None
    reason: str = ""
    created_at: float = 0.0
    approved_at: float | None = None
    deadline_at: float | None = None
    closed_at: float | None = None
    published_at: float | None = None
    reminded_at: float | None = None
    version: int = 1

    @property
    def is_open(self) -> bool:
        """Open for replies: approved and not yet closed."""
        return self.state is State.APPROVED

    def where_it_stands(self) -> Refusal:
        """Why a button that expects another state does nothing now."""
        return Refusal(_ALREADY[self.state])

    def _move(self, to: State, **changes: object) -> "Discussion | Refusal":
        if to not in TRANSITIONS[self.state]:
            return Refusal(_ALREADY[self.state])
        return replace(self, state=to, version=self.version + 1, **changes)  # type: ignore[arg-type]

    def approve(self, by: int, at: float, reply_window: float) -> "Discussion | Refusal":
        return self._move(State.APPROVED, state_by=by, approved_at=at, deadline_at=at + reply_window, reason="")

    def ask_to_clarify(self, by: int, request: str) -> "Discussion | Refusal":
        checked = check_text(request, MAX_QUESTION_CHARS)
        if isinstance(checked, Refusal):
            return checked
        return self._move(State.CLARIFYING, state_by=by, reason=checked)

    def clarify(self, by: int, answer: str) -> "Discussion | Refusal":
        """The asker's answer to a clarification request joins the question's text."""
        if by != self.asker_id:
            return Refusal("Only the person who asked can clarify this question.")
        checked = check_text(answer, MAX_QUESTION_CHARS)
        if isinstance(checked, Refusal):
            return checked
        combined = f"{self.text}\n\n{checked}"
        if len(combined) > MAX_QUESTION_CHARS:
            return Refusal(
                "With your answer the question would be longer than {limit} characters: please shorten it.",
                {"limit": MAX_QUESTION_CHARS},
            )
        return self._move(State.SUBMITTED, text=combined)

    def edit(self, by: int, text: str) -> "Discussion | Refusal":
        if self.state not in (State.SUBMITTED, State.CLARIFYING):
            return Refusal(_ALREADY[self.state])
        checked = check_text(text, MAX_QUESTION_CHARS)
        if isinstance(checked, Refusal):
            return checked
        return replace(self, text=checked, state_by=by, version=self.version + 1)

    def reject(self, by: int, reason: str) -> "Discussion | Refusal":
        return self._move(State.REJECTED, state_by=by, reason=reason.strip())

    def withdraw(self, by: int) -> "Discussion | Refusal":
        if by != self.asker_id:
            return Refusal("Only the person who asked can withdraw this question.")
        return self._move(State.WITHDRAWN, state_by=by)

    def close(self, at: float, by: int | None = None) -> "Discussion | Refusal":
        return self._move(State.CLOSED, closed_at=at, state_by=by)

    def publish(self, by: int, at: float) -> "Discussion | Refusal":
        return self._move(State.PUBLISHED, state_by=by, published_at=at)

    def extend(self, by: int, seconds: float) -> "Discussion | Refusal":
        """A later deadline; members get a reminder again before the new one."""
        if not self.is_open or self.deadline_at is None:
            return self.where_it_stands()
        return replace(self, deadline_at=self.deadline_at + seconds, reminded_at=None, state_by=by,
                       version=self.version + 1)

    def reshare(self, by: int, at: float, reply_window: float, replies: int) -> "Discussion | Refusal":
        if self.state is State.CLOSED and replies:
            return Refusal("This discussion has replies: publish its consolidated reply instead.")
        return self._move(State.APPROVED, state_by=by, approved_at=at, deadline_at=at + reply_window,
                          closed_at=None, reminded_at=None)

    def remind(self, at: float) -> "Discussion | Refusal":
        if not self.is_open:
            return self.where_it_stands()
        if self.reminded_at is not None:
            return Refusal("The reminder for this discussion was already sent.")
        return replace(self, reminded_at=at, version=self.version + 1)

    def accepts_replies(self) -> Refusal | None:
        if self.is_open:
            return None
        if self.state in (State.CLOSED, State.PUBLISHED):
            return Refusal("This discussion is closed: replies are no longer collected.")
        return Refusal("This question is not open for replies.")


@dataclass(frozen=True)
class Reply:
    id: int
    discussion_id: int
    member_id: int
    text: str
    anonymous: bool = False
    created_at: float = 0.0
    language: str = ""


def check_text(text: str, limit: int) -> str | Refusal:
    """A question's or reply's text, trimmed; or why it cannot be used."""
    value = text.strip()
    if not value:
        return Refusal("That message was empty: please write your text.")
    if not has_words(value):
        return Refusal("Please write it in words: a message of only emoji or symbols cannot be shared.")
    if len(value) > limit:
        return Refusal(
            "That is {length} characters; the most I can take is {limit}. Please shorten it and send it again.",
            {"length": f"{len(value):,}", "limit": f"{limit:,}"},
        )
    return value


def title_of(question: str, limit: int = 100) -> str:
    """The question's first line, cut at a word when it is long: its title in the archive,
    in digests and in reminders."""
    first_line = question.strip().splitlines()[0] if question.strip() else ""
    if len(first_line) <= limit:
        return first_line
    cut = first_line[:limit].rsplit(" ", 1)[0]
    return cut + "…"
