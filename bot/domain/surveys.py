"""Surveys: Likert questions (1 to 5), single-choice questions and at most one free-text
question; one answer per member per question, changeable until the survey closes; and the
figures of the results. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Sequence

from bot.domain.members import has_words
from bot.domain.refusal import Refusal

LIKERT = (1, 2, 3, 4, 5)
AGREE = (4, 5)  # agree, strongly agree
MAX_QUESTIONS = 12
MAX_QUESTION = 300
MAX_OPTIONS = 6
MAX_OPTION = 60
MAX_ANSWER = 2000


class Kind(StrEnum):
    LIKERT = "likert"
    CHOICE = "choice"
    TEXT = "text"


class SurveyState(StrEnum):
    DRAFT = "draft"  # being written by a facilitator
    OPEN = "open"  # answers accepted
    CLOSED = "closed"


@dataclass(frozen=True)
class Question:
    position: int  # 1, 2, ...
    kind: Kind
    text: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class Survey:
    id: int
    title: str
    state: SurveyState = SurveyState.DRAFT
    event_id: int | None = None
    created_by: int | None = None
    created_at: float = 0.0
    closes_at: float | None = None
    audience: str = ""
    questions: tuple[Question, ...] = ()

    def is_open(self, now: float) -> bool:
        return self.state is SurveyState.OPEN and (self.closes_at is None or now < self.closes_at)

    def accepts_answers(self, now: float) -> Refusal | None:
        if self.state is SurveyState.DRAFT:
            return Refusal("This survey is not open yet.")
        if not self.is_open(now):
            return Refusal("This survey is closed: answers can no longer be given or changed.")
        return None

    def question(self, position: int) -> Question | None:
        return next((question for question in self.questions if question.position == position), None)

    def can_add(self, kind: Kind) -> Refusal | None:
        if self.state is not SurveyState.DRAFT:
            return Refusal("This survey was already sent: its questions can no longer change.")
        if len(self.questions) >= MAX_QUESTIONS:
            return Refusal("A survey has at most {limit} questions.", {"limit": MAX_QUESTIONS})
        if kind is Kind.TEXT and any(question.kind is Kind.TEXT for question in self.questions):
            return Refusal("A survey has at most one free-text question.")
        return None


def check_answer(question: Question, value: int | None, text: str | None) -> int | str | Refusal:
    """The value to keep for an answer to this question, or why not."""
    if question.kind is Kind.LIKERT:
        if value not in LIKERT:
            return Refusal("Please answer with a number from 1 to 5.")
        return value
    if question.kind is Kind.CHOICE:
        if value is None or not 0 <= value < len(question.options):
            return Refusal("Please choose one of the options.")
        return value
    cleaned = (text or "").strip()
    if not has_words(cleaned):
        return Refusal("Please write a few words.")
    if len(cleaned) > MAX_ANSWER:
        return Refusal("That is too long: at most {limit} characters, please.", {"limit": MAX_ANSWER})
    return cleaned


def question_text(text: str) -> str | Refusal:
    value = " ".join(text.split())
    if not has_words(value):
        return Refusal("Please send the question in a few words.")
    if len(value) > MAX_QUESTION:
        return Refusal("That is too long: at most {limit} characters, please.", {"limit": MAX_QUESTION})
    return value


def choice_question(text: str) -> tuple[str, tuple[str, ...]] | Refusal:
    """The question on the first line, each option on a line of its own."""
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line]
    if len(lines) < 3:
        return Refusal("Write the question on the first line, then each option on its own line (at least two).")
    question = question_text(lines[0])
    if isinstance(question, Refusal):
        return question
    options = tuple(dict.fromkeys(line.lstrip("-•* ").strip() for line in lines[1:]))
    if len(options) > MAX_OPTIONS:
        return Refusal("At most {limit} options, please.", {"limit": MAX_OPTIONS})
    if any(len(option) > MAX_OPTION or not has_words(option) for option in options):
        return Refusal("Each option is a few words, at most {limit} characters.", {"limit": MAX_OPTION})
    if len(options) < 2:
        return Refusal("Write the question on the first line, then each option on its own line (at least two).")
    return question, options


# --- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionResult:
    question: Question
    answers: int
    # value -> how many chose it (1..5 for Likert, option index for a choice)
    distribution: dict[int, int] = field(default_factory=dict)
    texts: tuple[str, ...] = ()

    @property
    def agreeing(self) -> float | None:
        """The share (0 to 1) who agreed or strongly agreed, for a Likert question."""
        if self.question.kind is not Kind.LIKERT or not self.answers:
            return None
        return sum(self.distribution.get(value, 0) for value in AGREE) / self.answers

    @property
    def mean(self) -> float | None:
        if self.question.kind is not Kind.LIKERT or not self.answers:
            return None
        return sum(value * count for value, count in self.distribution.items()) / self.answers


def tally(question: Question, values: Sequence[int | None], texts: Sequence[str | None] = ()) -> QuestionResult:
    """The figures of one question from its answers (one per respondent)."""
    if question.kind is Kind.TEXT:
        kept = tuple(text for text in texts if text)
        return QuestionResult(question, len(kept), texts=kept)
    scale = LIKERT if question.kind is Kind.LIKERT else range(len(question.options))
    distribution = {value: 0 for value in scale}
    for value in values:
        if value in distribution:
            distribution[value] += 1
    return QuestionResult(question, sum(distribution.values()), distribution)


def percent(share: float) -> int:
    """A share as a whole percentage, rounded half up (93.5% -> 94)."""
    return int(share * 100 + 0.5)
