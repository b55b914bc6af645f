"""Joining the network, and editing one's profile later with /profile.

/start greets and asks, one at a time, for name, organization, country, topics, language,
what the person offers and looks for, and whether other members may find them in the
directory (/members); each question can be skipped and answered later from /profile. The step the
person is at is kept in the conversation state, so a restart in the middle loses nothing.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from functools import partial
from typing import Awaitable, Callable, Sequence

from bot.domain.members import Member, Status, clean_field, clean_topics
from bot.domain.refusal import Refusal
from bot.services.members import MemberStore
from bot.services.messaging import Part, bold
from bot.services.routes import Arguments, Audience, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, IS_OWNER, NOT_LEFT, NOT_REMOVED
from bot.services.turn import Turn
from bot.texts.catalog import language_from_text, native_name
from bot.texts.words import MEMBER_STATUS

# How joining hands on a question written before joining: the asking feature's draft.
AskQuestion = Callable[[Turn, str], Awaitable[None]]

FIELDS = ("name", "organization", "country", "topics", "language", "offers", "seeks", "directory")
# A field whose name in the profile differs from the member's attribute.
ATTRIBUTES = {"directory": "in_directory"}


class Step(StrEnum):
    JOIN_NAME = "join.name"
    JOIN_ORGANIZATION = "join.organization"
    JOIN_COUNTRY = "join.country"
    JOIN_TOPICS = "join.topics"
    JOIN_LANGUAGE = "join.language"
    JOIN_OFFERS = "join.offers"
    JOIN_SEEKS = "join.seeks"
    JOIN_DIRECTORY = "join.directory"
    PROFILE_NAME = "profile.name"
    PROFILE_ORGANIZATION = "profile.organization"
    PROFILE_COUNTRY = "profile.country"
    PROFILE_TOPICS = "profile.topics"
    PROFILE_LANGUAGE = "profile.language"
    PROFILE_OFFERS = "profile.offers"
    PROFILE_SEEKS = "profile.seeks"
    PROFILE_DIRECTORY = "profile.directory"

    @property
    def field(self) -> str:
        return self.value.split(".", 1)[1]

    @property
    def editing(self) -> bool:
        return self.value.startswith("profile.")

    @staticmethod
    def of(field: str, editing: bool) -> "Step":
        return Step(("profile." if editing else "join.") + field)


class Press(StrEnum):
    SKIP = "sk"
    LANGUAGE = "lg"
    EDIT_FIELD = "pf"
    TOGGLE_FEATURE = "ft"
    DIRECTORY = "dir"


class Command(StrEnum):
    START = "start"
    PROFILE = "profile"
    LANGUAGE = "language"
    LANGUAGES = "languages"


class Joining:
    def __init__(self, members: MemberStore, community_name: str, languages: tuple[str, ...],
                 ask: AskQuestion) -> None:
        self.members = members
        self.community_name = community_name
        self.languages = languages
        self.ask_question = ask

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.START, self.start_command, "Join the network, or see the welcome again",
                    rules=(IN_PRIVATE, NOT_REMOVED)),
            command(Command.PROFILE, self.profile_command, "See and change your profile"),
            command(Command.LANGUAGE, self.language_command, "Choose the language I use with you",
                    arguments=Arguments.TEXT),
            command(Command.LANGUAGES, self.languages_command,
                    "The languages whose questions come to you: /languages fr en",
                    rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), arguments=Arguments.TEXT,
                    audience=Audience.FACILITATORS),
            personal_button(Press.SKIP, self.press_skip),
            personal_button(Press.LANGUAGE, self.press_language, rules=(IS_OWNER,)),
            personal_button(Press.EDIT_FIELD, self.press_edit_field),
            personal_button(Press.TOGGLE_FEATURE, self.press_toggle_feature),
            personal_button(Press.DIRECTORY, self.press_directory),
            *(step(each, partial(self.answer, each)) for each in Step),
        )

    async def start_command(self, turn: Turn, args: str) -> None:
        await self.start(turn)

    async def start(self, turn: Turn, pending_question: str = "") -> None:
        """/start: a newcomer begins joining; a member is welcomed back."""
        member = turn.member
        if member.status is Status.LEFT:
            turn.member = replace(member, status=Status.ACTIVE)
            await self.members.save(turn.member)
            await turn.say(turn.t("Welcome back to {community}! You will receive the network's questions again.",
                                  community=self.community_name))
            return
        conversation = await turn.waiting()
        joining = conversation is not None and conversation.step in {step.value for step in Step if not step.editing}
        if conversation is not None and joining:
            await self.ask_step(turn, Step(conversation.step), conversation.data)
            return
        if not turn.is_new and conversation is None and _has_profile(member):
            await turn.say(
                turn.t("Welcome back, {name}!", name=member.name or turn.t("friend")), " ",
                turn.t("Write a question any time, or send /help to see what I can do."),
            )
            return
        await turn.say(
            turn.t("Welcome to {community}!", community=self.community_name), "\n\n",
            turn.t("This network connects practitioners who share what they know. Ask the network a question "
                   "by simply writing it here; facilitators review it, then everyone can reply."), "\n\n",
            turn.t("First, a few questions so that others know who they are talking to. "
                   "You can skip any of them and change your answers later with /profile."),
        )
        data = {"pending_question": pending_question} if pending_question else {}
        await self.ask_step(turn, Step.JOIN_NAME, data)

    async def ask_step(self, turn: Turn, at: Step, data: dict | None = None) -> None:
        t = turn.t
        data = data or {}
        skip_label = t("Keep as it is") if at.editing else t("Skip")
        skip_row = [turn.button(skip_label, Press.SKIP, turn.member.id, at.field)]
        if at.field == "language":
            await turn.wait_for(at, **data)
            rows = [[turn.button(native_name(code), Press.LANGUAGE, turn.member.id, code)] for code in self.languages]
            await turn.say(t("Which language would you like me to use?"), buttons=[*rows, skip_row])
            return
        if at.field == "directory":
            await turn.wait_for(at, **data)
            choice = [turn.button(t("Yes"), Press.DIRECTORY, turn.member.id, "y"),
                      turn.button(t("No"), Press.DIRECTORY, turn.member.id, "n")]
            await turn.say(t("May other members find you in the directory? They would see your name, organization, "
                             "country, topics and what you offer and look for, and could ask to be introduced to you "
                             "(/members). Your contact is shared only with those you accept."),
                           buttons=[choice, skip_row] if at.editing else [choice])
            return
        questions = {
            "name": t("What is your name? (as other members will see it)"),
            "organization": t("Which organization do you work with?"),
            "country": t("Which country are you based in?"),
            "topics": t("Which topics do you know well? Separate them with commas, for example: "
                        "social protection, child poverty, education."),
            "offers": t("What can you offer other members? For example: advice on cash transfer design, "
                        "training materials, a contact in the ministry."),
            "seeks": t("What are you looking for? For example: evaluations of school feeding, a partner in "
                       "East Africa."),
        }
        labels = {"name": t("Name"), "organization": t("Organization"), "country": t("Country"), "topics": t("Topics"),
                  "offers": t("What I offer"), "seeks": t("What I look for")}
        current = _current_value(turn.member, at.field)
        question: list[Part] = [questions[at.field]]
        if current and not at.editing:
            question.append("\n" + t("Now: {value}", value=current))
        await turn.ask(at, question, label=labels[at.field], prefill=current if at.editing else "",
                       buttons=[skip_row], **data)

    async def answer(self, at: Step, turn: Turn, text: str, data: dict) -> None:
        """The person's text while the bot waits for a profile field."""
        if at.field == "language":
            code = language_from_text(text, self.languages, turn.t)
            if code is None:
                await turn.refuse(Refusal("Please choose one of the buttons."))
                return
            await self._store(turn, at, code, data)
            return
        if at.field == "directory":
            await turn.refuse(Refusal("Please choose one of the buttons."))
            return
        value = clean_topics(text) if at.field == "topics" else clean_field(at.field, text)
        if isinstance(value, Refusal):
            await turn.refuse(value)
            return
        await self._store(turn, at, value, data)

    async def press_skip(self, turn: Turn, field: str) -> None:
        conversation = await turn.waiting()
        if conversation is None or conversation.step.split(".", 1)[1:] != [field]:
            await turn.refuse(Refusal("That question was already answered."))
            return
        at = Step(conversation.step)
        if at.editing:
            await turn.stop_waiting()
            await self.show_profile(turn)
            return
        await self._next(turn, at, conversation.data)

    async def press_language(self, turn: Turn, code: str) -> None:
        conversation = await turn.waiting()
        if code not in self.languages:
            await turn.refuse(Refusal("That language is not offered in this network."))
            return
        if conversation is None or conversation.step not in (Step.JOIN_LANGUAGE, Step.PROFILE_LANGUAGE):
            await turn.refuse(Refusal("That question was already answered."))
            return
        await self._store(turn, Step(conversation.step), code, conversation.data)

    async def _store(self, turn: Turn, at: Step, value: object, data: dict) -> None:
        turn.member = replace(turn.member, **{ATTRIBUTES.get(at.field, at.field): value})
        await self.members.save(turn.member)
        if at.field == "language":
            turn.t = turn.messenger.translator(turn.member.language)
        if at.editing:
            await turn.stop_waiting()
            await turn.say(turn.t("Saved."))
            await self.show_profile(turn)
            return
        await self._next(turn, at, data)

    async def _next(self, turn: Turn, done: Step, data: dict) -> None:
        index = FIELDS.index(done.field)
        if index + 1 < len(FIELDS):
            await self.ask_step(turn, Step.of(FIELDS[index + 1], editing=False), data)
            return
        await turn.stop_waiting()
        t = turn.t
        await turn.say(
            t("Thank you, you are in!"), " ",
            t("You will receive the network's questions here, with a button to reply."), "\n\n",
            t("To ask the network something, just write your question here. Send /help to see everything I can do."),
        )
        pending = data.get("pending_question")
        if pending:
            await turn.say(t("You wrote this before joining; here it is again:"))
            await self.ask_question(turn, pending)

    async def language_command(self, turn: Turn, args: str) -> None:
        """/language shows the choice; /language fr (or Français) sets it at once."""
        if not args.strip():
            await self.ask_step(turn, Step.PROFILE_LANGUAGE)
            return
        code = language_from_text(args, self.languages, turn.t)
        if code is None:
            await turn.refuse(Refusal("That language is not offered in this network. Send /language to see the choice."))
            return
        turn.member = replace(turn.member, language=code)
        await self.members.save(turn.member)
        turn.t = turn.messenger.translator(code)
        await turn.say(turn.t("Saved: I will write to you in {language}.", language=turn.t.language_name(code)))

    async def languages_command(self, turn: Turn, args: str) -> None:
        """/languages fr en: the questions in these languages (besides one's own) come to this facilitator."""
        t, member = turn.t, turn.member
        codes = [code.strip(",").casefold() for code in args.split()]
        if not codes:
            handled = [member.language, *member.handles] if member.language else list(member.handles)
            await turn.say(t("Questions in {languages} come to you.", languages=", ".join(
                t.language_name(code) for code in handled) or t("no language yet")), " ",
                t("Send /languages and language codes to change it, for example: /languages fr en"))
            return
        unknown = [code for code in codes if code not in self.languages]
        if unknown:
            await turn.refuse(Refusal("This network does not offer {codes}. It offers {offered}.",
                                      {"codes": ", ".join(unknown)[:40], "offered": ", ".join(self.languages)}))
            return
        turn.member = replace(member, handles=tuple(dict.fromkeys(c for c in codes if c != member.language)))
        await self.members.save(turn.member)
        await turn.say(t("Saved: questions in {languages} come to you.", languages=", ".join(
            t.language_name(code) for code in dict.fromkeys([member.language, *codes]) if code)))

    async def profile_command(self, turn: Turn, args: str) -> None:
        await self.show_profile(turn)

    async def show_profile(self, turn: Turn) -> None:
        t, member = turn.t, turn.member
        none = t("(not given)")
        lines: list[Part] = [
            bold(t("Your profile")), "\n",
            t("Name: {value}", value=member.name or none), "\n",
            t("Organization: {value}", value=member.organization or none), "\n",
            t("Country: {value}", value=member.country or none), "\n",
            t("Topics: {value}", value=", ".join(member.topics) or none), "\n",
            t("Language: {value}", value=native_name(member.language) if member.language else none), "\n",
            t("May be featured in the network's news: {value}", value=t("yes") if member.featured_consent else t("no")),
            "\n", t("What I offer: {value}", value=member.offers or none),
            "\n", t("What I look for: {value}", value=member.seeks or none),
            "\n", t("In the member directory: {value}", value=t("yes") if member.in_directory else t("no")),
            "\n", t("Status: {value}", value=t(MEMBER_STATUS[member.status.value])),
        ]
        button = turn.button
        rows = [
            [button(t("Name"), Press.EDIT_FIELD, member.id, "name"),
             button(t("Organization"), Press.EDIT_FIELD, member.id, "organization")],
            [button(t("Country"), Press.EDIT_FIELD, member.id, "country"),
             button(t("Topics"), Press.EDIT_FIELD, member.id, "topics")],
            [button(t("Language"), Press.EDIT_FIELD, member.id, "language"),
             button(t("Do not feature me") if member.featured_consent else t("You may feature me"),
                    Press.TOGGLE_FEATURE, member.id)],
            [button(t("What I offer"), Press.EDIT_FIELD, member.id, "offers"),
             button(t("What I look for"), Press.EDIT_FIELD, member.id, "seeks")],
            [button(t("Directory"), Press.EDIT_FIELD, member.id, "directory")],
        ]
        await turn.say(*lines, buttons=rows)

    async def press_edit_field(self, turn: Turn, field: str) -> None:
        if field not in FIELDS:
            await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
            return
        await self.ask_step(turn, Step.of(field, editing=True))

    async def press_directory(self, turn: Turn, choice: str) -> None:
        """Yes or No to being found in the member directory."""
        conversation = await turn.waiting()
        if conversation is None or conversation.step not in (Step.JOIN_DIRECTORY, Step.PROFILE_DIRECTORY):
            await turn.refuse(Refusal("That question was already answered."))
            return
        await self._store(turn, Step(conversation.step), choice == "y", conversation.data)

    async def press_toggle_feature(self, turn: Turn, arg: str) -> None:
        turn.member = replace(turn.member, featured_consent=not turn.member.featured_consent)
        await self.members.save(turn.member)
        turn.notice = turn.t("Saved.")
        await self.show_profile(turn)


def _current_value(member: Member, field: str) -> str:
    value = getattr(member, field)
    return ", ".join(value) if isinstance(value, tuple) else str(value)


def _has_profile(member: Member) -> bool:
    return bool(member.name or member.organization or member.country)
