"""Translations of what is shared: a facilitator adds the question (before or after approving
it) or the consolidated reply (before publishing it) in another of the community's languages.
Members who read that language receive that version with the original below it; a question
already shared is sent again in the new version to those members."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.discussions import MAX_REPLY_CHARS, Discussion, State, check_text
from bot.domain.refusal import Refusal
from bot.ports import Button, Rows
from bot.services.audit import Action, Audit
from bot.services.buttons import ButtonCodec
from bot.services.messaging import Part, italic
from bot.services.routes import Route, discussion_step, facilitator_button
from bot.services.rules import IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import Translator


class Press(StrEnum):
    TRANSLATE = "tl"


class Step(StrEnum):
    TRANSLATE = "translate"


class Kind(StrEnum):
    QUESTION = "question"
    CONSOLIDATED = "consolidated"


class TranslationStore(Protocol):
    async def save(self, discussion_id: int, kind: str, language: str, text: str, by: int, now: float) -> None: ...

    async def of(self, discussion_id: int, kind: str) -> dict[str, str]: ...


class SharedAgain(Protocol):
    """How a question already shared goes again, in a new version, to its readers."""

    async def share_translation(self, discussion: Discussion, language: str) -> int: ...


TRANSLATABLE = {Kind.QUESTION: (State.SUBMITTED, State.CLARIFYING, State.APPROVED), Kind.CONSOLIDATED: (State.CLOSED,)}


def in_reader_language(t: Translator, original: Sequence[Part], original_language: str,
                       translations: dict[str, str]) -> list[Part]:
    """The reader's version first, then the original under it; the original alone when there
    is no version in the reader's language."""
    version = translations.get(t.language)
    if not version or t.language == original_language:
        return list(original)
    return [version, "\n\n", italic(t("Original ({language}):", language=t.language_name(original_language))),
            "\n", *original]


@dataclass(eq=False)
class Translating:
    translations: TranslationStore
    codec: ButtonCodec
    languages: tuple[str, ...]
    audit: Audit
    questions: SharedAgain | None = None

    def routes(self) -> Sequence[Route]:
        return (
            facilitator_button(Press.TRANSLATE, self.press_translate),
            discussion_step(Step.TRANSLATE, self.new_translation, rules=(NOT_LEFT, IS_FACILITATOR)),
        )

    def buttons(self, t: Translator, discussion: Discussion, kind: Kind) -> list[Button]:
        """One button per other language of the community, while the text can be translated."""
        if discussion.state not in TRANSLATABLE[kind] or len(self.languages) < 2:
            return []
        original = discussion.language or ""
        return [Button(t("In {language}", language=t.language_name(code)),
                       self.codec.encode(Press.TRANSLATE, discussion.id, f"{kind.value[0]}-{code}"))
                for code in self.languages if code != original]

    def card_actions(self, t: Translator, discussion: Discussion) -> Rows | None:
        buttons = self.buttons(t, discussion, Kind.QUESTION)
        return (tuple(buttons),) if buttons else None

    async def press_translate(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        initial, _, language = arg.partition("-")
        kind = next((kind for kind in Kind if kind.value[0] == initial), None)
        if kind is None or language not in self.languages:
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        if discussion.state not in TRANSLATABLE[kind]:
            await turn.refuse(discussion.where_it_stands())
            return
        t = turn.t
        name = t.language_name(language)
        existing = await self.translations.of(discussion.id, kind)
        turn.notice = t("Send the {language} version", language=name)
        question = (t("Send question #{number} in {language}: members who read {language} get it, with the original "
                      "below it.", number=discussion.id, language=name) if kind is Kind.QUESTION
                    else t("Send the consolidated reply to question #{number} in {language}: members who read "
                           "{language} get it when it is published.", number=discussion.id, language=name))
        await turn.ask(Step.TRANSLATE, [question], label=t("In {language}", language=name),
                       prefill=existing.get(language, ""), discussion=discussion.id, kind=kind.value,
                       language=language)

    async def new_translation(self, turn: Turn, discussion: Discussion, text: str, data: dict) -> None:
        kind, language = Kind(data["kind"]), str(data["language"])
        if discussion.state not in TRANSLATABLE[kind]:
            await turn.stop_waiting()
            await turn.refuse(discussion.where_it_stands())
            return
        checked = check_text(text, MAX_REPLY_CHARS)
        if isinstance(checked, Refusal):
            await turn.refuse(checked)
            return
        await self.translations.save(discussion.id, kind, language, checked, turn.member.id, turn.now)
        await self.audit.record(turn, Action.TRANSLATE, discussion.id, detail=f"{kind.value}, {language}")
        await turn.stop_waiting()
        t = turn.t
        name = t.language_name(language)
        turn.notice = t("Saved")
        if kind is Kind.QUESTION and discussion.state is State.APPROVED and self.questions is not None:
            count = await self.questions.share_translation(discussion, language)
            await turn.say(t.plural("Saved: the {language} version went to {count} member who reads it.",
                                    "Saved: the {language} version went to the {count} members who read it.",
                                    count, language=name))
            return
        await turn.say(t("Saved: members who read {language} will get this version.", language=name))
