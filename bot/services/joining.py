"""Joining the network, and editing one's profile later with /profile.

/start greets and asks, one at a time, for name, organization, country, topics and
language; each question can be skipped and answered later from /profile. The step the
person is at is kept in the conversation state, so a restart in the middle loses nothing.
"""

from __future__ import annotations

from dataclasses import replace

from bot.domain.members import Member, Status, clean_field, clean_topics
from bot.domain.refusal import Refusal
from bot.services.asking import draft
from bot.services.turn import Turn, bold

JOIN_STEPS = ("name", "organization", "country", "topics", "language")

LANGUAGE_NAMES = {
    "en": "English", "fr": "Français", "es": "Español", "pt": "Português", "ar": "العربية",
    "ru": "Русский", "zh": "中文", "sw": "Kiswahili", "de": "Deutsch", "it": "Italiano",
    "hi": "हिन्दी", "bn": "বাংলা", "id": "Bahasa Indonesia", "tr": "Türkçe", "uk": "Українська",
}

SKIP = "sk"
LANGUAGE = "lg"
EDIT_FIELD = "pf"
TOGGLE_FEATURE = "ft"


async def start(turn: Turn, pending_question: str = "") -> None:
    """/start: a newcomer begins joining; a member is welcomed back."""
    member = turn.member
    community = turn.services.community.name
    if member.status is Status.LEFT:
        turn.member = replace(member, status=Status.ACTIVE)
        await turn.services.members.save(turn.member)
        await turn.say(turn.t("Welcome back to {community}! You will receive the network's questions again.",
                              community=community))
        return
    conversation = await turn.services.conversations.get(member.id)
    if conversation and conversation.step.startswith("join."):
        await ask_step(turn, conversation.step.removeprefix("join."), conversation.data)
        return
    if not turn.is_new and conversation is None and _has_profile(member):
        await turn.say(
            turn.t("Welcome back, {name}!", name=member.name or turn.t("friend")), " ",
            turn.t("Write a question any time, or send /help to see what I can do."),
        )
        return
    await turn.say(
        turn.t("Welcome to {community}!", community=community), "\n\n",
        turn.t("This network connects practitioners who share what they know. Ask the network a question "
               "by simply writing it here; facilitators review it, then everyone can reply."), "\n\n",
        turn.t("First, a few questions so that others know who they are talking to. "
               "You can skip any of them and change your answers later with /profile."),
    )
    data = {"pending_question": pending_question} if pending_question else {}
    await ask_step(turn, JOIN_STEPS[0], data)


async def ask_step(turn: Turn, step: str, data: dict | None = None, editing: bool = False) -> None:
    t = turn.t
    prefix = "profile." if editing else "join."
    await turn.wait_for(prefix + step, **(data or {}))
    skip_label = t("Keep as it is") if editing else t("Skip")
    skip_row = [turn.button(skip_label, SKIP, turn.member.id, step)]
    if step == "language":
        languages = turn.services.community.languages
        rows = [[turn.button(LANGUAGE_NAMES.get(code, code), LANGUAGE, turn.member.id, code)] for code in languages]
        await turn.say(t("Which language would you like me to use?"), buttons=[*rows, skip_row])
        return
    questions = {
        "name": t("What is your name? (as other members will see it)"),
        "organization": t("Which organization do you work with?"),
        "country": t("Which country are you based in?"),
        "topics": t("Which topics do you know well? Separate them with commas, for example: "
                    "social protection, child poverty, education."),
    }
    current = _current_value(turn.member, step)
    hint = ("\n" + t("Now: {value}", value=current)) if current else ""
    await turn.say(questions[step], hint, buttons=[skip_row])


async def answer(turn: Turn, step: str, text: str, data: dict) -> None:
    """The person's text while the bot waits for a profile field."""
    editing = step.startswith("profile.")
    field_name = step.split(".", 1)[1]
    if field_name == "language":
        code = _language_from_text(text, turn.services.community.languages)
        if code is None:
            await turn.refuse(Refusal("Please choose one of the buttons."))
            return
        await _store(turn, "language", code, data, editing)
        return
    value = clean_topics(text) if field_name == "topics" else clean_field(field_name, text)
    if isinstance(value, Refusal):
        await turn.refuse(value)
        return
    await _store(turn, field_name, value, data, editing)


async def press_skip(turn: Turn, step: str) -> None:
    conversation = await turn.services.conversations.get(turn.member.id)
    if conversation is None or conversation.step.split(".", 1)[1:] != [step]:
        await turn.refuse(Refusal("That question was already answered."))
        return
    editing = conversation.step.startswith("profile.")
    if editing:
        await turn.stop_waiting()
        await show_profile(turn)
        return
    await _next(turn, step, conversation.data)


async def press_language(turn: Turn, code: str) -> None:
    conversation = await turn.services.conversations.get(turn.member.id)
    if code not in turn.services.community.languages:
        await turn.refuse(Refusal("That language is not offered in this network."))
        return
    if conversation is None or conversation.step not in ("join.language", "profile.language"):
        await turn.refuse(Refusal("That question was already answered."))
        return
    await _store(turn, "language", code, conversation.data, conversation.step.startswith("profile."))


async def _store(turn: Turn, field_name: str, value: object, data: dict, editing: bool) -> None:
    turn.member = replace(turn.member, **{field_name: value})
    await turn.services.members.save(turn.member)
    if field_name == "language":
        turn.t = turn.services.translator(turn.member.language)
    if editing:
        await turn.stop_waiting()
        await turn.say(turn.t("Saved."))
        await show_profile(turn)
        return
    await _next(turn, field_name, data)


async def _next(turn: Turn, done_step: str, data: dict) -> None:
    index = JOIN_STEPS.index(done_step)
    if index + 1 < len(JOIN_STEPS):
        await ask_step(turn, JOIN_STEPS[index + 1], data)
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
        await draft(turn, pending)


async def show_profile(turn: Turn) -> None:
    t, member = turn.t, turn.member
    none = t("(not given)")
    lines = [
        bold(t("Your profile")), "\n",
        t("Name: {value}", value=member.name or none), "\n",
        t("Organization: {value}", value=member.organization or none), "\n",
        t("Country: {value}", value=member.country or none), "\n",
        t("Topics: {value}", value=", ".join(member.topics) or none), "\n",
        t("Language: {value}", value=LANGUAGE_NAMES.get(member.language, member.language) or none), "\n",
        t("May be featured in the network's news: {value}", value=t("yes") if member.featured_consent else t("no")),
        "\n", t("Status: {value}", value=t(member.status.value)),
    ]
    button = turn.button
    rows = [
        [button(t("Name"), EDIT_FIELD, member.id, "name"), button(t("Organization"), EDIT_FIELD, member.id, "organization")],
        [button(t("Country"), EDIT_FIELD, member.id, "country"), button(t("Topics"), EDIT_FIELD, member.id, "topics")],
        [button(t("Language"), EDIT_FIELD, member.id, "language"),
         button(t("Do not feature me") if member.featured_consent else t("You may feature me"),
                TOGGLE_FEATURE, member.id)],
    ]
    await turn.say(*lines, buttons=rows)


async def press_edit_field(turn: Turn, field_name: str) -> None:
    if field_name not in JOIN_STEPS:
        await turn.refuse(Refusal("This button is not valid. Send /help to see what you can do."))
        return
    turn.notice = None
    await ask_step(turn, field_name, editing=True)


async def press_toggle_feature(turn: Turn) -> None:
    turn.member = replace(turn.member, featured_consent=not turn.member.featured_consent)
    await turn.services.members.save(turn.member)
    turn.notice = turn.t("Saved.")
    await show_profile(turn)


def _current_value(member: Member, step: str) -> str:
    value = getattr(member, step)
    return ", ".join(value) if isinstance(value, tuple) else str(value)


def _has_profile(member: Member) -> bool:
    return bool(member.name or member.organization or member.country)


def _language_from_text(text: str, languages: tuple[str, ...]) -> str | None:
    wanted = text.strip().casefold()
    for code in languages:
        if wanted in (code.casefold(), LANGUAGE_NAMES.get(code, code).casefold()):
            return code
    return None
