"""The network's good practices: /practices browses them by theme and country, /practice 12
reads one (with similar solutions), facilitators approve or reject what members share (the
form is in bot/services/practice_form.py), `facilitator practices import` brings a CSV file
in, and consolidated replies get themes and countries when their draft is shown.

Countries are kept as ISO codes and named in the reader's language (Babel's names); themes
come from the configured taxonomy and are translated when shown."""

from __future__ import annotations

import csv
import io
import logging
from collections import Counter
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Awaitable, Callable, Iterable, Iterator, Protocol, Sequence

from bot.domain.discussions import Discussion
from bot.domain.drafts import Contribution
from bot.domain.members import Member
from bot.domain.practices import (
    SHORT_THEMES, STATUS_WORDS, THEME_WORDS, Practice, PracticeDraft, State, Status, check_draft, fold, parse_sdgs,
)
from bot.domain.refusal import Refusal
from bot.ports import Button, Card, Field, Purpose, Rows, Span, Style
from bot.services.audit import Action, Audit
from bot.services.buttons import ButtonCodec
from bot.services.cards import Cards
from bot.services.conversation import UnitOfWork
from bot.services.importing import ImportReport
from bot.services.language import LanguageDetection
from bot.services.members import MemberStore
from bot.services.messaging import Compose, Messenger, Part, bold, compose, italic
from bot.services.outbox import CardCopy
from bot.services.routes import Arguments, Route, command, facilitator_button, personal_button, step
from bot.services.rules import IS_FACILITATOR, NOT_LEFT
from bot.services.searching import Press as SearchPress
from bot.services.turn import Turn
from bot.texts.catalog import Translator, locale_of

log = logging.getLogger(__name__)

LISTED = 10  # practices listed with their button: as many as a WhatsApp list holds
SIMILAR = 3
SUGGESTED_THEMES, SUGGESTED_COUNTRIES = 3, 5
FACILITATORS_ONLY = (NOT_LEFT, IS_FACILITATOR)


class Command(StrEnum):
    PRACTICES = "practices"
    PRACTICE = "practice"


class Press(StrEnum):
    READ = "gpr"
    BROWSE_THEME = "gpb"
    APPROVE = "gpa"
    REJECT = "gpj"
    REJECT_WITHOUT_REASON = "gpn"
    CONFIRM_REJECT = "gpy"
    ACCEPT_TAGS = "gpg"


class Step(StrEnum):
    REJECT = "practice.reject"  # a facilitator's reason


@dataclass(frozen=True)
class PracticeHit:
    """A practice found by words, for /search."""

    number: int
    title: str
    snippet: str  # a few words of the summary around a match, plain
    score: float  # bm25's relevance, higher is better


@dataclass(frozen=True)
class TaggedReply:
    discussion_id: int
    title: str
    published_at: float


class PracticeStore(Protocol):
    async def create(self, draft: PracticeDraft, submitted_by: int | None, state: State, now: float,
                     import_key: str | None = None) -> Practice: ...

    async def update_imported(self, practice_id: int, draft: PracticeDraft, now: float) -> None: ...

    async def find_imported(self, import_key: str) -> Practice | None: ...

    async def get(self, practice_id: int) -> Practice | None: ...

    async def decide(self, practice: Practice) -> bool:
        """Store an approval or rejection unless someone decided first."""
        ...

    async def submitted_by(self, member_id: int) -> list[Practice]: ...

    async def theme_counts(self) -> dict[str, int]: ...

    async def browse(self, themes: Sequence[str], countries: Sequence[str],
                     limit: int) -> tuple[list[Practice], int]: ...

    async def search(self, words: str, limit: int = 5) -> list[PracticeHit]: ...

    async def similar(self, practice: Practice, limit: int = 3) -> list[Practice]: ...

    async def add_card(self, practice_id: int, outbox_id: int, language: str) -> None: ...

    async def cards(self, practice_id: int) -> list[CardCopy]: ...

    async def tag_reply(self, discussion_id: int, themes: Iterable[str], countries: Iterable[str]) -> int: ...

    async def tagged_replies(self, themes: Sequence[str], countries: Sequence[str],
                             limit: int) -> list[TaggedReply]: ...


# --- countries and themes -----------------------------------------------------------------------

# Babel's regions that are no country one works in.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ", "AQ"}
# Names people write that Babel spells otherwise.
_ALIASES = {
    "DRC": "CD", "DR Congo": "CD", "Democratic Republic of the Congo": "CD", "Congo": "CG",
    "Republic of the Congo": "CG", "Ivory Coast": "CI", "UK": "GB", "Great Britain": "GB", "USA": "US",
    "United States of America": "US", "Palestine": "PS", "State of Palestine": "PS", "Burma": "MM",
    "Swaziland": "SZ", "Eswatini": "SZ", "Turkey": "TR", "Türkiye": "TR", "Cape Verde": "CV", "Czech Republic": "CZ",
    "East Timor": "TL", "Timor Leste": "TL", "Laos": "LA", "Syria": "SY", "Russia": "RU", "Vietnam": "VN",
    "South Korea": "KR", "North Korea": "KP", "Tanzania": "TZ", "Bolivia": "BO", "Venezuela": "VE", "Iran": "IR",
    "Moldova": "MD", "Micronesia": "FM", "Gambia": "GM", "The Gambia": "GM", "Macedonia": "MK",
}
# Country names that are everyday words in one of the languages: not looked for in a text.
_AMBIGUOUS = {"reunion", "jersey", "man", "chad"}


class Countries:
    """Country names in English and the network's languages, each to its ISO code."""

    def __init__(self, languages: Sequence[str]) -> None:
        self._codes: dict[str, str] = {}
        self._english = locale_of("en")
        for language in ("en", *languages):
            locale = locale_of(language)
            if locale is None:
                continue
            for code, name in locale.territories.items():
                if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES:
                    for variant in _variants(name):
                        self._codes.setdefault(fold(variant), code)
        for alias, code in _ALIASES.items():
            self._codes[fold(alias)] = code
        self._longest = max(len(name.split()) for name in self._codes)

    def lookup(self, name: str) -> str | None:
        stripped = name.strip()
        if len(stripped) == 2 and stripped.isupper() and stripped in self._all_codes():
            return stripped
        return self._codes.get(fold(stripped))

    def _all_codes(self) -> set[str]:
        return set(self._codes.values())

    def name(self, code: str, t: Translator) -> str:
        names = t.locale.territories
        english = self._english.territories if self._english else {}
        return names.get(code) or english.get(code) or code

    def names(self, codes: Iterable[str], t: Translator) -> str:
        return ", ".join(self.name(code, t) for code in codes)

    def in_text(self, text: str) -> Counter[str]:
        """The countries a text names, with how often (whole names only: "Niger" is not found
        in "Nigeria")."""
        words = fold(text).split()
        found: Counter[str] = Counter()
        index = 0
        while index < len(words):
            for size in range(min(self._longest, len(words) - index), 0, -1):
                phrase = " ".join(words[index:index + size])
                code = self._codes.get(phrase)
                if code is not None and phrase not in _AMBIGUOUS:
                    found[code] += 1
                    index += size
                    break
            else:
                index += 1
        return found

    def in_words(self, words: str) -> tuple[list[str], str]:
        """The countries named in a few words, and the words left over."""
        rest = f" {fold(words)} "
        codes: list[str] = []
        for name in sorted(self._codes, key=len, reverse=True):
            if f" {name} " in rest:
                rest = rest.replace(f" {name} ", " ")
                if self._codes[name] not in codes:
                    codes.append(self._codes[name])
        return codes, " ".join(rest.split())


def _variants(name: str) -> list[str]:
    """Babel's name, and how people write it: "Myanmar (Burma)" is "Myanmar" too, "Antigua &
    Barbuda" "Antigua and Barbuda", "Hong Kong SAR China" "Hong Kong"."""
    variants = [name, name.replace("&", "and")]
    if "(" in name:
        variants.append(name.split("(")[0])
    if " - " in name:
        variants.append(name.replace(" - ", " "))
    if " SAR " in name:
        variants.append(name.split(" SAR ")[0])
    return variants


class Taxonomy:
    """The themes of the network, as configured, and their names in each of its languages."""

    def __init__(self, themes: Sequence[str], translators: Sequence[Translator]) -> None:
        self.themes = tuple(themes)
        self._names: dict[str, str] = {}
        for t in translators:
            for theme in self.themes:
                for name in (theme, t(theme), *([t(SHORT_THEMES[theme])] if theme in SHORT_THEMES else [])):
                    self._names.setdefault(fold(name), theme)
        for theme in self.themes:
            self._names[fold(theme)] = theme

    @property
    def names(self) -> dict[str, str]:
        """Folded name in any of the network's languages -> theme."""
        return self._names

    def label(self, t: Translator, theme: str) -> str:
        return t(theme)

    def short(self, t: Translator, theme: str) -> str:
        return t(SHORT_THEMES[theme]) if theme in SHORT_THEMES else ""

    def in_words(self, words: str) -> tuple[list[str], str]:
        """The themes named in a few words, and the words left over."""
        rest = f" {fold(words)} "
        found: list[str] = []
        for name in sorted(self._names, key=len, reverse=True):
            if name and f" {name} " in rest:
                rest = rest.replace(f" {name} ", " ")
                if self._names[name] not in found:
                    found.append(self._names[name])
        return found, " ".join(rest.split())

    def in_text(self, text: str) -> Counter[str]:
        """How often a text uses each theme's name or one of its words."""
        folded = f" {fold(text)} "
        found: Counter[str] = Counter()
        for theme in self.themes:
            words = {fold(theme), *(fold(word) for word in THEME_WORDS.get(theme, ()))}
            count = sum(folded.count(f" {word} ") for word in words if word)
            if count:
                found[theme] = count
        return found


def status_names(translators: Sequence[Translator]) -> dict[str, Status]:
    return {fold(t(STATUS_WORDS[status])): status for t in translators for status in Status}


# --- the feature ----------------------------------------------------------------------------


@dataclass(eq=False)
class Practices:
    store: PracticeStore
    members: MemberStore
    messenger: Messenger
    cards: Cards
    codec: ButtonCodec
    audit: Audit
    taxonomy: Taxonomy
    countries: Countries

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.PRACTICES, self.browse_command,
                    "Good practices by theme and country: /practices nutrition Ghana", rules=(NOT_LEFT,),
                    arguments=Arguments.TEXT),
            personal_button(Press.READ, self.press_read, rules=(NOT_LEFT,)),
            personal_button(Press.BROWSE_THEME, self.press_browse_theme, rules=(NOT_LEFT,)),
            personal_button(Press.APPROVE, self.press_approve, rules=FACILITATORS_ONLY),
            personal_button(Press.REJECT, self.press_reject, rules=FACILITATORS_ONLY),
            personal_button(Press.REJECT_WITHOUT_REASON, self.press_reject_without_reason, rules=FACILITATORS_ONLY),
            personal_button(Press.CONFIRM_REJECT, self.press_confirm_reject, rules=FACILITATORS_ONLY),
            step(Step.REJECT, self.reason_for_rejecting, rules=FACILITATORS_ONLY),
        )

    async def search(self, words: str, limit: int = 5) -> list[PracticeHit]:
        """Approved practices matching the words, best first (for /search)."""
        return await self.store.search(words, limit)

    def read_button(self, turn: Turn, number: int) -> Button:
        return turn.button(turn.t("Practice #{number}", number=number), Press.READ, number, str(number))

    # --- browsing -------------------------------------------------------------------------

    async def browse_command(self, turn: Turn, args: str) -> None:
        if not args.strip():
            await self.themes_overview(turn)
            return
        themes, rest = self.taxonomy.in_words(args)
        countries, rest = self.countries.in_words(rest)
        if not themes and not countries:
            hits = await self.store.search(args, LISTED)
            if not hits:
                await turn.refuse(Refusal("No theme, country or good practice matches “{words}”. Send /practices "
                                          "to see the themes.", {"words": args.strip()[:60]}))
                return
            practices = [p for p in [await self.store.get(hit.number) for hit in hits] if p is not None]
            await self._list(turn, _about_words(turn.t, args), practices, len(practices), [])
            return
        await self.browse(turn, themes, countries)

    async def themes_overview(self, turn: Turn) -> None:
        t = turn.t
        counts = await self.store.theme_counts()
        if not counts:
            await turn.say(t("No good practice has been shared yet. Share one with /practice."))
            return
        parts: list[Part] = [bold(t("Good practices by theme")), "\n",
                             t("Press a theme, or send /practices with a theme and a country, for example: "
                               "/practices nutrition Ghana")]
        buttons: list[list[Button]] = []
        room = turn.capabilities.max_buttons
        for index, theme in enumerate(self.taxonomy.themes):
            count = counts.get(theme, 0)
            parts += ["\n", f"• {t(theme)} ({count})"]
            if count and len(buttons) < room:
                buttons.append([Button(t(theme), self.codec.encode(Press.BROWSE_THEME, 0, str(index)),
                                       short=self.taxonomy.short(t, theme))])
        await turn.say(*parts, buttons=buttons)

    async def press_browse_theme(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit() or int(arg) >= len(self.taxonomy.themes):
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        await self.browse(turn, [self.taxonomy.themes[int(arg)]], [])

    async def browse(self, turn: Turn, themes: Sequence[str], countries: Sequence[str]) -> None:
        t = turn.t
        practices, total = await self.store.browse(themes, countries, LISTED)
        replies = await self.store.tagged_replies(themes, countries, LISTED)
        what = ", ".join([t(theme) for theme in themes] + [self.countries.name(code, t) for code in countries])
        if not practices and not replies:
            await turn.say(t("No good practice about {what} yet. Send /practices to see the themes, or share one "
                             "with /practice.", what=what))
            return
        heading = t("Good practices about {what}", what=what)
        await self._list(turn, heading, practices, total, replies)

    async def _list(self, turn: Turn, heading: str, practices: Sequence[Practice], total: int,
                    replies: Sequence[TaggedReply]) -> None:
        t = turn.t
        parts: list[Part] = [bold(heading)]
        buttons: list[list[Button]] = []
        for practice in practices:
            parts += ["\n\n", bold(f"#{practice.id} {practice.title}"), "\n",
                      f"{self.countries.names(practice.countries, t)} · {t(STATUS_WORDS[practice.status])}"]
            buttons.append([turn.button(t("Practice #{number}", number=practice.id), Press.READ, practice.id,
                                        str(practice.id))])
        if total > len(practices):
            parts += ["\n\n", t.plural("And {count} more: add a theme or a country to narrow the list.",
                                       "And {count} more: add a theme or a country to narrow the list.",
                                       total - len(practices))]
        if replies:
            parts += ["\n\n", bold(t("Consolidated replies"))]
            for reply in replies:
                parts += ["\n", f"#{reply.discussion_id} {reply.title} ({t.month(reply.published_at)})"]
                if len(buttons) < turn.capabilities.max_buttons:
                    buttons.append([turn.button(t("Read #{number}", number=reply.discussion_id), SearchPress.READ,
                                                reply.discussion_id)])
        await turn.say(*parts, buttons=buttons[:turn.capabilities.max_buttons])

    # --- reading one ----------------------------------------------------------------------

    async def press_read(self, turn: Turn, arg: str) -> None:
        await self.show(turn, int(arg) if arg.isdigit() else 0)

    async def show(self, turn: Turn, number: int) -> None:
        practice = await self.store.get(number)
        mine = practice is not None and practice.submitted_by == turn.member.id
        if practice is None or (practice.state is not State.APPROVED and not mine
                                and not turn.member.is_facilitator):
            await turn.refuse(Refusal("There is no good practice #{number}. Send /practices to browse them.",
                                      {"number": number}))
            return
        t = turn.t
        parts: list[Part] = [bold(f"#{practice.id} {practice.title}"), "\n"]
        parts += [f"{label}: {value}\n" for label, value in self.fields(t, practice)]
        parts += ["\n", practice.summary]
        buttons: list[list[Button]] = []
        similar = await self.store.similar(practice, SIMILAR) if practice.state is State.APPROVED else []
        if similar:
            parts += ["\n\n", bold(t("Similar solutions"))]
            for other in similar:
                parts += ["\n", f"#{other.id} {other.title} ({self.countries.names(other.countries, t)})"]
                buttons.append([turn.button(t("Practice #{number}", number=other.id), Press.READ, other.id,
                                            str(other.id))])
        await turn.say(*parts, buttons=buttons)

    def fields(self, t: Translator, practice: Practice) -> list[tuple[str, str]]:
        fields = [(t("Countries"), self.countries.names(practice.countries, t)),
                  (t("Status"), t(STATUS_WORDS[practice.status])),
                  (t("Themes"), ", ".join(t(theme) for theme in practice.themes))]
        if practice.primary_sdg:
            goals = " ".join(str(goal) for goal in practice.secondary_sdgs)
            fields.append((t("SDGs"), t("{primary} (main), also {others}", primary=practice.primary_sdg,
                                        others=goals) if goals else str(practice.primary_sdg)))
        if practice.implementing_entities:
            fields.append((t("Implemented by"), practice.implementing_entities))
        source = " ".join(part for part in (practice.source_organization, practice.source_link) if part)
        if source:
            fields.append((t("Source"), source))
        if practice.language:
            fields.append((t("Language"), t.language_name(practice.language)))
        return fields

    # --- the facilitators' card -----------------------------------------------------------

    async def submitted(self, practice: Practice, submitter: Member) -> None:
        """A member's new practice goes to the facilitators of its language."""
        recipients = await self.cards.recipients(practice.language)
        if not recipients:
            log.warning("good practice #%s has no facilitator to go to", practice.id)
        sent = await self.messenger.send(recipients, lambda t: self.card(t, practice, submitter, None), Purpose.CARD)
        for recipient, row in sent:
            await self.store.add_card(practice.id, row, recipient.language)

    def card(self, t: Translator, practice: Practice, submitter: Member | None, by: Member | None) -> Card:
        number = practice.id
        by_name = by.name if by and by.name else t("a facilitator")
        if practice.state is State.APPROVED:
            title = t("Good practice #{number} was approved by {by}", number=number, by=by_name)
        elif practice.state is State.REJECTED:
            title = t("Good practice #{number} was rejected by {by}: {reason}", number=number, by=by_name,
                      reason=practice.reason or t("no reason given"))
        else:
            title = t("Good practice #{number} is waiting for approval", number=number)
        fields = [Field(t("From"), submitter.attribution() if submitter else t("a former member"))]
        if submitter is not None:
            fields.append(Field(t("Member"), f"#{submitter.id}"))
        fields += [Field(label, value) for label, value in self.fields(t, practice)]
        buttons: Rows = ()
        if practice.state is State.SUBMITTED:
            buttons = ((Button(t("Approve"), self.codec.encode(Press.APPROVE, number, str(number)), Style.PRIMARY),
                        Button(t("Reject"), self.codec.encode(Press.REJECT, number, str(number)), Style.DANGER)),)
        return Card(title=title, fields=tuple(fields),
                    body=(Span(practice.title, bold=True), Span("\n"), Span(practice.summary)), buttons=buttons,
                    more=t("Shortened here: send /practice {number} for the whole text.", number=number))

    async def _refresh(self, practice: Practice, turn: Turn) -> None:
        """Every copy of the practice's card, as it now stands (a new message where a platform
        cannot edit: the one who acted gets it as their answer)."""
        submitter = await self.members.get(practice.submitted_by) if practice.submitted_by else None
        compose_card: Compose = lambda t: self.card(t, practice, submitter, turn.member)  # noqa: E731
        for copy in await self.store.cards(practice.id):
            if self.messenger.capabilities(copy.to.platform).can_edit:
                await self.messenger.edit(copy.row, copy.to.platform, compose_card(self.messenger.translator(copy.language)))
            elif copy.member_id == turn.member.id:
                await turn.show(compose_card(turn.t))
        self.cards.watch.changed()

    async def _waiting(self, turn: Turn, arg: str) -> Practice | None:
        practice = await self.store.get(int(arg)) if arg.isdigit() else None
        if practice is None:
            await turn.refuse(Refusal("There is no good practice #{number}. Send /practices to browse them.",
                                      {"number": arg[:9]}))
            return None
        if practice.state is not State.SUBMITTED:
            await turn.refuse(practice.where_it_stands())
            return None
        return practice

    async def press_approve(self, turn: Turn, arg: str) -> None:
        practice = await self._waiting(turn, arg)
        if practice is None:
            return
        await self._decide(turn, practice.approve(turn.member.id, turn.now))

    async def press_reject(self, turn: Turn, arg: str) -> None:
        practice = await self._waiting(turn, arg)
        if practice is None:
            return
        t = turn.t
        turn.notice = t("Send the reason")
        await turn.ask(Step.REJECT,
                       [t("Why is good practice #{number} not approved? Your next message goes to the member who "
                          "shared it.", number=practice.id)],
                       label=t("Why it is not approved"),
                       buttons=[[turn.button(t("Reject without a reason"), Press.REJECT_WITHOUT_REASON, practice.id,
                                             str(practice.id), style=Style.DANGER, short=t("No reason"))]],
                       practice=practice.id)

    async def press_reject_without_reason(self, turn: Turn, arg: str) -> None:
        """Rejecting cannot be taken back: the message pressed on asks first."""
        practice = await self._waiting(turn, arg)
        if practice is None:
            return
        t = turn.t
        turn.notice = t("Reject it without a reason?")
        await self.cards.show_to_presser(turn, compose(
            t("Reject good practice #{number} without a reason? The member who shared it is told only that it "
              "was not approved.", number=practice.id), "\n\n", italic(practice.title),
            buttons=[[Button(t("Yes, reject it"), self.codec.encode(Press.CONFIRM_REJECT, practice.id, str(practice.id)),
                             Style.DANGER),
                      Button(t("Write a reason"), self.codec.encode(Press.REJECT, practice.id, str(practice.id)))]]))

    async def press_confirm_reject(self, turn: Turn, arg: str) -> None:
        practice = await self._waiting(turn, arg)
        if practice is None:
            return
        await turn.take_buttons_off_pressed()
        await self._reject(turn, practice, "")

    async def reason_for_rejecting(self, turn: Turn, text: str, data: dict) -> None:
        practice = await self._waiting(turn, str(data.get("practice", "")))
        if practice is None:
            await turn.stop_waiting()
            return
        await self._reject(turn, practice, text)

    async def _reject(self, turn: Turn, practice: Practice, reason: str) -> None:
        rejected = practice.reject(turn.member.id, reason, turn.now)
        if isinstance(rejected, Refusal):
            await turn.refuse(rejected)
            return
        conversation = await turn.waiting()
        if conversation is not None and conversation.data.get("practice") == practice.id:
            await turn.stop_waiting()
        await self._decide(turn, rejected)

    async def _decide(self, turn: Turn, decided: Practice | Refusal) -> None:
        if isinstance(decided, Refusal):
            await turn.refuse(decided)
            return
        if not await self.store.decide(decided):
            now = await self.store.get(decided.id)
            await turn.refuse(now.where_it_stands() if now else Refusal("This button is not valid. Send /help to "
                                                                         "see what you can do."))
            return
        approved = decided.state is State.APPROVED
        await self.audit.record(turn, Action.PRACTICE_APPROVE if approved else Action.PRACTICE_REJECT,
                                member_id=decided.submitted_by,
                                detail=f"#{decided.id} {decided.title}" + (f" — {decided.reason}" if decided.reason
                                                                           else ""))
        await self._refresh(decided, turn)
        t = turn.t
        turn.notice = t("Approved") if approved else t("Rejected")
        if not approved:
            await turn.say(t("Good practice #{number} was rejected; the member who shared it has been told.",
                             number=decided.id))
        if decided.submitted_by is None:
            return
        recipients = await self.members.recipients(member_ids=[decided.submitted_by])
        if approved:
            await self.messenger.send(recipients, lambda t: compose(
                t("Good news: your good practice #{number} “{title}” was approved. Members find it with /practices "
                  "and /search.", number=decided.id, title=decided.title)), Purpose.ANSWER)
        else:
            await self.messenger.send(recipients, lambda t: compose(
                t("Your good practice #{number} “{title}” was not approved.", number=decided.id, title=decided.title),
                *(["\n\n", t("The facilitator explained:"), "\n", italic(decided.reason)] if decided.reason else [])),
                Purpose.ANSWER)


def _about_words(t: Translator, words: str) -> str:
    return t("Good practices about “{words}”", words=" ".join(words.split())[:60])


# --- tags for consolidated replies ------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    themes: tuple[str, ...]
    countries: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.themes or self.countries)


ContributionsOf = Callable[[Discussion], Awaitable[list[Contribution]]]


@dataclass(eq=False)
class Tagging:
    """Themes and countries suggested on a draft consolidated reply's card, accepted with one tap."""

    store: PracticeStore
    taxonomy: Taxonomy
    countries: Countries
    codec: ButtonCodec
    audit: Audit
    contributions: ContributionsOf

    def routes(self) -> Sequence[Route]:
        return (facilitator_button(Press.ACCEPT_TAGS, self.press_accept),)

    def suggest(self, discussion: Discussion, contributions: Sequence[Contribution]) -> Suggestion:
        """Themes whose words the question and contributions use most, and the countries they
        name or the contributors (named ones) work in."""
        text = "\n".join([discussion.text, *(c.text for c in contributions)])
        themes = [theme for theme, _ in self.taxonomy.in_text(text).most_common(SUGGESTED_THEMES)]
        named = self.countries.in_text(text)
        named.update(self.countries.in_text(" ; ".join(c.author for c in contributions if not c.anonymous)))
        countries = [code for code, _ in named.most_common(SUGGESTED_COUNTRIES)]
        return Suggestion(tuple(themes), tuple(countries))

    def card_line(self, t: Translator, discussion: Discussion, contributions: Sequence[Contribution]) -> str:
        suggestion = self.suggest(discussion, contributions)
        if not suggestion:
            return ""
        return t("Suggested tags: {tags}", tags=self.said(t, suggestion))

    def buttons(self, t: Translator, discussion: Discussion, contributions: Sequence[Contribution]) -> Rows:
        if not self.suggest(discussion, contributions):
            return ()
        return ((Button(t("Accept tags"), self.codec.encode(Press.ACCEPT_TAGS, discussion.id)),),)

    def said(self, t: Translator, suggestion: Suggestion) -> str:
        return ", ".join([t(theme) for theme in suggestion.themes] +
                         [self.countries.name(code, t) for code in suggestion.countries])

    async def press_accept(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        suggestion = self.suggest(discussion, await self.contributions(discussion))
        if not suggestion:
            await turn.refuse(Refusal("There are no tags to accept."))
            return
        added = await self.store.tag_reply(discussion.id, suggestion.themes, suggestion.countries)
        tags = self.said(turn.t, suggestion)
        if added:
            await self.audit.record(turn, Action.TAG, discussion.id, detail=", ".join(
                [*suggestion.themes, *suggestion.countries]))
        turn.notice = turn.t("Tagged: {tags}", tags=tags)[:120]


# --- importing a CSV file ---------------------------------------------------------------------

COLUMNS = ("title", "summary", "countries", "implementing_entities", "status", "primary_sdg", "secondary_sdgs",
           "themes", "source_organization", "source_link", "language")
REQUIRED = ("title", "summary", "countries", "status", "themes")


@dataclass(frozen=True)
class ImportedPractice:
    line: int
    key: str
    draft: PracticeDraft


def read_practice_rows(text: str, taxonomy: Taxonomy, countries: Countries,
                       statuses: dict[str, Status]) -> Iterator[ImportedPractice | tuple[int, str]]:
    """Each data row as a practice to import, or (line, reason) when it cannot be used."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [column.strip().casefold() for column in (reader.fieldnames or [])]
    missing = [column for column in REQUIRED if column not in header]
    if missing:
        yield 1, f"the header row lacks {', '.join(missing)} (expected: id,{','.join(COLUMNS)})"
        return
    reader.fieldnames = header
    for raw in reader:
        line = reader.line_num
        row = {key: (value or "").strip() for key, value in raw.items() if key}
        checked = _check_row(row, taxonomy, countries, statuses)
        if isinstance(checked, Refusal):
            yield line, checked.reason.format(**checked.params)
            continue
        key = f"id:{row['id']}" if row.get("id") else f"{fold(checked.title)}|{checked.source_link}"
        yield ImportedPractice(line, key, checked)


def _check_row(row: dict[str, str], taxonomy: Taxonomy, countries: Countries,
               statuses: dict[str, Status]) -> PracticeDraft | Refusal:
    def problem(column: str, reason: str) -> Refusal:
        return Refusal("{column}: {reason}", {"column": column, "reason": reason})

    codes: list[str] = []
    for name in (part.strip() for part in row.get("countries", "").split(";")):
        if not name:
            continue
        code = countries.lookup(name)
        if code is None:
            return problem("countries", f"unknown country {name[:40]!r}")
        codes.append(code)
    status = statuses.get(fold(row.get("status", ""))) or next(
        (s for s in Status if s.value == row.get("status", "").casefold()), None)
    if status is None:
        return problem("status", f"must be one of idea, ongoing, completed, not {row.get('status', '')[:20]!r}")
    themes: list[str] = []
    for name in (part.strip() for part in row.get("themes", "").split(";")):
        if not name:
            continue
        theme = taxonomy.names.get(fold(name))
        if theme is None:
            return problem("themes", f"{name[:40]!r} is not one of the themes ({'; '.join(taxonomy.themes)})")
        if theme not in themes:
            themes.append(theme)
    primary: int | None = None
    if row.get("primary_sdg"):
        goals = parse_sdgs(row["primary_sdg"])
        if isinstance(goals, Refusal) or len(goals) != 1:
            return problem("primary_sdg", "one goal number, 1 to 17")
        primary = goals[0]
    secondary: tuple[int, ...] = ()
    if row.get("secondary_sdgs"):
        goals = parse_sdgs(row["secondary_sdgs"].replace(";", " "))
        if isinstance(goals, Refusal):
            return problem("secondary_sdgs", "goal numbers, 1 to 17, separated by ;")
        secondary = tuple(goal for goal in goals if goal != primary)
    if secondary and primary is None:
        primary, secondary = secondary[0], secondary[1:]
    language = row.get("language", "").casefold()
    if language and not (2 <= len(language) <= 3 and language.isalpha()):
        return problem("language", f"a code like en or fr, not {row.get('language', '')[:10]!r}")
    return check_draft(PracticeDraft(
        title=row.get("title", ""), summary=row.get("summary", ""), countries=tuple(dict.fromkeys(codes)),
        status=status, themes=tuple(themes), implementing_entities=row.get("implementing_entities", ""),
        primary_sdg=primary, secondary_sdgs=secondary, source_organization=row.get("source_organization", ""),
        source_link=row.get("source_link", ""), language=language))


async def import_practices(rows: Iterable[ImportedPractice | tuple[int, str]], store: PracticeStore,
                           database: UnitOfWork, detector: LanguageDetection, languages: tuple[str, ...],
                           default_language: str, now: float) -> ImportReport:
    """Imported practices are approved at once; a row already imported (same id, or same title
    and link) is updated when it changed and left alone when not."""
    report = ImportReport()
    async with database.transaction():
        for row in rows:
            if isinstance(row, tuple):
                report.skipped.append(row)
                continue
            draft = row.draft
            if not draft.language:
                draft = replace(draft, language=detector.detect(f"{draft.title}\n{draft.summary}", languages,
                                                                default_language))
            existing = await store.find_imported(row.key)
            if existing is None:
                await store.create(draft, None, State.APPROVED, now, import_key=row.key)
                report.imported += 1
            elif _as_draft(existing) == draft:
                report.unchanged += 1
            else:
                await store.update_imported(existing.id, draft, now)
                report.updated += 1
    return report


def _as_draft(practice: Practice) -> PracticeDraft:
    return PracticeDraft(
        title=practice.title, summary=practice.summary, countries=practice.countries, status=practice.status,
        themes=practice.themes, implementing_entities=practice.implementing_entities,
        primary_sdg=practice.primary_sdg, secondary_sdgs=practice.secondary_sdgs,
        source_organization=practice.source_organization, source_link=practice.source_link,
        language=practice.language)
