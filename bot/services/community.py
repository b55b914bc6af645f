"""Know Your Community: one member at a time, featured to the whole network.

On a schedule (`[programme] feature_every`) the bot proposes to the facilitators the
consenting active member least recently featured (Ask them / Pick another; /feature #N picks
one). Asked, the member answers a few questions (their role, their work, what they would like
help with; each may be skipped); the bot drafts a short profile quoting them; the member
approves it or writes their own; a facilitator approves it with one tap and it is broadcast.
/community lists past features.

The time of the last proposal lives in the database and is written in the transaction that
makes the proposal, so a restart neither loses nor repeats one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.clock import Clock
from bot.domain.members import Member
from bot.domain.programme import (
    Candidate, Feature, FeatureState, feature_due, first_words, parse_member_number,
)
from bot.domain.refusal import Refusal
from bot.ports import Button, Message, Purpose, Style, TemplateHint
from bot.services.audit import Action, Audit
from bot.services.buttons import ButtonCodec
from bot.services.cards import Cards
from bot.services.conversation import UnitOfWork
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, Part, bold, compose
from bot.services.outbox import Waker
from bot.services.routes import Arguments, Audience, Route, command, personal_button, step
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import Translator

log = logging.getLogger(__name__)

FACILITATORS_ONLY = (NOT_LEFT, IS_FACILITATOR)
ANSWER_CHARS = 500
TEXT_CHARS = 1500
LISTED = 20  # past features /community shows
NO_SUCH_FEATURE = Refusal("This feature no longer exists.")


class FeatureStore(Protocol):
    async def last_proposal(self) -> float | None: ...

    async def claim_schedule(self, every: float, now: float) -> bool: ...

    async def candidates(self, exclude: Sequence[int] = (), limit: int = 1) -> list[Candidate]: ...

    async def propose(self, member_id: int, now: float) -> Feature: ...

    async def feature(self, feature_id: int) -> Feature | None: ...

    async def open_feature_of(self, member_id: int) -> Feature | None: ...

    async def move(self, feature_id: int, from_states: Sequence[str], to: FeatureState, now: float,
                   **values: object) -> bool: ...

    async def published_features(self, limit: int = 20) -> list[Feature]: ...


class Command(StrEnum):
    COMMUNITY = "community"
    FEATURE = "feature"


class Press(StrEnum):
    ASK = "kyo"  # a facilitator: ask the proposed member
    ANOTHER = "kyn"  # a facilitator: propose someone else
    START = "kyb"  # the member: answer the questions
    DECLINE = "kyd"  # the member: no, thanks
    SKIP = "kys"  # the member: skip this question
    APPROVE_TEXT = "kym"  # the member approves their profile
    CHANGE_TEXT = "kyc"  # the member writes their own
    PUBLISH = "kyf"  # a facilitator approves, and it is broadcast
    READ = "kyr"  # anyone: read a past feature


class Step(StrEnum):
    ANSWER = "community.answer"
    TEXT = "community.text"


@dataclass(eq=False)
class Community:
    store: FeatureStore
    members: MemberStore
    messenger: Messenger
    cards: Cards
    codec: ButtonCodec
    database: UnitOfWork
    waker: Waker
    clock: Clock
    audit: Audit
    community_name: str
    every: float

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.COMMUNITY, self.list_features, "Know Your Community: members featured so far"),
            command(Command.FEATURE, self.feature_command, "Feature a member: /feature #12",
                    rules=(IN_PRIVATE, *FACILITATORS_ONLY), arguments=Arguments.NUMBER,
                    audience=Audience.FACILITATORS),
            personal_button(Press.ASK, self.press_ask, rules=FACILITATORS_ONLY),
            personal_button(Press.ANOTHER, self.press_another, rules=FACILITATORS_ONLY),
            personal_button(Press.PUBLISH, self.press_publish, rules=FACILITATORS_ONLY),
            personal_button(Press.START, self.press_start),
            personal_button(Press.DECLINE, self.press_decline),
            personal_button(Press.SKIP, self.press_skip),
            personal_button(Press.APPROVE_TEXT, self.press_approve_text),
            personal_button(Press.CHANGE_TEXT, self.press_change_text),
            personal_button(Press.READ, self.press_read, rules=(NOT_LEFT,)),
            step(Step.ANSWER, self.answer_given),
            step(Step.TEXT, self.text_given),
        )

    def button(self, label: str, action: Press, feature_id: int, subject: int = 0,
               style: Style = Style.DEFAULT) -> Button:
        return Button(label, self.codec.encode(action, subject, str(feature_id)), style)

    # --- proposing ------------------------------------------------------------------------------

    async def propose_due(self) -> int:
        """Propose the next member to the facilitators when it is time; returns 1 when it did.
        Nothing is used up while no member has consented: the first who does is proposed."""
        now = self.clock.now()
        try:
            async with self.database.transaction():
                if not feature_due(await self.store.last_proposal(), self.every, now):
                    return 0
                candidates = await self.store.candidates()
                if not candidates or not await self.store.claim_schedule(self.every, now):
                    return 0
                feature = await self.store.propose(candidates[0].member_id, now)
                await self.messenger.send(await self.cards.recipients(),
                                          lambda t: self.proposal_card(t, feature, candidates[0]), Purpose.CARD)
            log.info("feature %s: member %s proposed to the facilitators", feature.id, feature.member_id)
            return 1
        finally:
            self.waker.wake()

    def proposal_card(self, t: Translator, feature: Feature, candidate: Candidate) -> Message:
        where = ", ".join(part for part in (candidate.organization, candidate.country) if part)
        who = f"{candidate.name} ({where})" if where else candidate.name
        last = (t("Last featured: {date}", date=t.date(candidate.last_featured_at))
                if candidate.last_featured_at is not None else t("Never featured before."))
        return compose(
            bold(t("Know Your Community")), "\n",
            t("I propose to feature {name}, member #{number}.", name=who, number=candidate.member_id), "\n", last,
            buttons=[[self.button(t("Ask them"), Press.ASK, feature.id, style=Style.PRIMARY),
                      self.button(t("Pick another"), Press.ANOTHER, feature.id)]])

    async def feature_command(self, turn: Turn, args: str) -> None:
        """/feature #12: a facilitator picks the member to feature."""
        number = parse_member_number(args)
        member = await self.members.get(number) if number is not None else None
        if member is None:
            await turn.refuse(Refusal("Send /feature and a member's number, for example: /feature #12"))
            return
        if not member.featured_consent or not member.receives_broadcasts or not member.name:
            await turn.refuse(Refusal("Member #{number} has not agreed to be featured.", {"number": member.id}))
            return
        if await self.store.open_feature_of(member.id) is not None:
            await turn.refuse(Refusal("A feature of member #{number} is already under way.", {"number": member.id}))
            return
        feature = await self.store.propose(member.id, turn.now)
        await turn.show(self.proposal_card(turn.t, feature, Candidate(member.id, member.name, member.organization,
                                                                       member.country)))

    async def _feature(self, turn: Turn, arg: str, *states: FeatureState, owner: bool = False) -> Feature | None:
        feature = await self.store.feature(int(arg)) if arg.isdigit() else None
        if feature is None or (owner and feature.member_id != turn.member.id):
            await turn.refuse(NO_SUCH_FEATURE)
            return None
        refusal = feature.expects(*states)
        if refusal is not None:
            await turn.refuse(refusal)
            return None
        return feature

    async def press_another(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.PROPOSED)
        if feature is None or not await self.store.move(feature.id, [FeatureState.PROPOSED], FeatureState.PASSED,
                                                        turn.now):
            return
        await turn.take_buttons_off_pressed()
        exclude = [feature.member_id] if feature.member_id is not None else []
        candidates = await self.store.candidates(exclude=exclude)
        if not candidates:
            await turn.say(turn.t("No other member has agreed to be featured for now."))
            return
        proposed = await self.store.propose(candidates[0].member_id, turn.now)
        await turn.show(self.proposal_card(turn.t, proposed, candidates[0]))

    async def press_ask(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.PROPOSED)
        if feature is None or feature.member_id is None:
            return
        member = await self.members.get(feature.member_id)
        if member is None or not member.featured_consent or not member.receives_broadcasts:
            await self.store.move(feature.id, [FeatureState.PROPOSED], FeatureState.PASSED, turn.now)
            await turn.refuse(Refusal("This member can no longer be featured."))
            return
        if not await self.store.move(feature.id, [FeatureState.PROPOSED], FeatureState.ASKED, turn.now,
                                     asked_at=turn.now):
            await turn.refuse(Refusal("That step of the feature is already done."))
            return
        community = self.community_name
        await self.messenger.send(await self.members.recipients(member_ids=[member.id]), lambda t: compose(
            t("The facilitators of {community} would like to feature you in “Know Your Community”: a short profile "
              "shared with the network, so that members get to know you. I will ask you three short questions; you "
              "may skip any, and you approve the text before anyone sees it.", community=community),
            buttons=[[self.button(t("Start"), Press.START, feature.id, member.id, Style.PRIMARY),
                      self.button(t("No, thanks"), Press.DECLINE, feature.id, member.id)]]), Purpose.ANSWER,
            template=lambda t: TemplateHint(t("Know Your Community"),
                                            self.button(t("Start"), Press.START, feature.id, member.id)))
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t("Asked")
        await turn.say(turn.t("{name} is asked. You will get their profile to approve once they have approved it.",
                              name=member.name))
        log.info("feature %s: member %s asked", feature.id, member.id)

    # --- the member's answers ---------------------------------------------------------------------

    async def press_start(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.ASKED, owner=True)
        if feature is not None:
            await self._ask_next(turn, feature)

    async def press_decline(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.ASKED, FeatureState.REVIEW, owner=True)
        if feature is None or not await self.store.move(
                feature.id, [FeatureState.ASKED, FeatureState.REVIEW], FeatureState.DECLINED, turn.now):
            return
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        await turn.say(turn.t("No problem: you will not be featured this time. Thank you!"))
        name = turn.member.name
        await self.messenger.send(await self.cards.recipients(), lambda t: compose(
            t("{name} prefers not to be featured this time.", name=name)), Purpose.STATUS)

    def _question(self, t: Translator, question: str) -> str:
        return {
            "role": t("What is your role? For example: social worker, researcher, programme manager."),
            "work": t("Tell the network about your work: what do you do, and where?"),
            "help": t("What would you like help with from other members?"),
        }[question]

    async def _ask_next(self, turn: Turn, feature: Feature) -> None:
        question = feature.next_question()
        t = turn.t
        if question is not None:
            await turn.ask(Step.ANSWER, [self._question(t, question)], label=t("Your answer"),
                           buttons=[[self.button(t("Skip"), Press.SKIP, feature.id, turn.member.id)]],
                           feature=feature.id, asking=question)
            return
        text = draft_profile(t, turn.member, feature)
        await self.store.move(feature.id, [FeatureState.ASKED], FeatureState.REVIEW, turn.now, text=text)
        await turn.stop_waiting()
        await self._show_review(turn, feature.id, text)

    async def _show_review(self, turn: Turn, feature_id: int, text: str) -> None:
        t = turn.t
        await turn.say(t("Here is your profile as the network will read it:"), "\n\n", text, "\n\n",
                       t("Approve it, or press Change to write it your way."),
                       buttons=[[self.button(t("Approve"), Press.APPROVE_TEXT, feature_id, turn.member.id,
                                             Style.PRIMARY),
                                 self.button(t("Change"), Press.CHANGE_TEXT, feature_id, turn.member.id)]])

    async def answer_given(self, turn: Turn, text: str, data: dict) -> None:
        await self._answered(turn, str(data.get("feature", "")), str(data.get("asking", "")), text.strip())

    async def press_skip(self, turn: Turn, arg: str) -> None:
        conversation = await turn.waiting()
        if (conversation is None or conversation.step != Step.ANSWER
                or str(conversation.data.get("feature")) != arg):
            await turn.refuse(Refusal("That question was already answered."))
            return
        await self._answered(turn, arg, str(conversation.data.get("asking", "")), "")

    async def _answered(self, turn: Turn, arg: str, question: str, answer: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.ASKED, owner=True)
        if feature is None:
            await turn.stop_waiting()
            return
        if question != feature.next_question():
            await turn.refuse(Refusal("That question was already answered."))
            return
        if len(answer) > ANSWER_CHARS:
            await turn.refuse(Refusal("Please answer in at most {limit} characters.", {"limit": ANSWER_CHARS}))
            return
        await self.store.move(feature.id, [FeatureState.ASKED], FeatureState.ASKED, turn.now, **{question: answer})
        updated = await self.store.feature(feature.id)
        assert updated is not None, f"feature {feature.id} vanished in its own turn"
        await self._ask_next(turn, updated)

    # --- the member's approval ----------------------------------------------------------------------

    async def press_change_text(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.REVIEW, owner=True)
        if feature is None:
            return
        t = turn.t
        await turn.ask(Step.TEXT, [t("Send your profile as you would like the network to read it.")],
                       label=t("Your profile"), prefill=feature.text, feature=feature.id)

    async def text_given(self, turn: Turn, text: str, data: dict) -> None:
        feature = await self._feature(turn, str(data.get("feature", "")), FeatureState.REVIEW, owner=True)
        if feature is None:
            await turn.stop_waiting()
            return
        text = text.strip()
        if not text or len(text) > TEXT_CHARS:
            await turn.refuse(Refusal("Your profile must be 1 to {limit} characters.", {"limit": TEXT_CHARS}))
            return
        await self.store.move(feature.id, [FeatureState.REVIEW], FeatureState.REVIEW, turn.now, text=text)
        await turn.stop_waiting()
        await self._show_review(turn, feature.id, text)

    async def press_approve_text(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.REVIEW, owner=True)
        if feature is None or not await self.store.move(feature.id, [FeatureState.REVIEW], FeatureState.APPROVING,
                                                        turn.now):
            return
        await turn.stop_waiting()
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t("Thank you!")
        await turn.say(turn.t("Thank you! A facilitator will approve your profile, then it is shared with the "
                              "network."))
        name, text = turn.member.name, feature.text
        await self.messenger.send(await self.cards.recipients(), lambda t: compose(
            bold(t("Know Your Community")), "\n",
            t("{name} approved their profile:", name=name), "\n\n", text,
            buttons=[[self.button(t("Approve and send"), Press.PUBLISH, feature.id, style=Style.PRIMARY)]]),
            Purpose.CARD)

    # --- publishing ---------------------------------------------------------------------------------

    async def press_publish(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.APPROVING)
        if feature is None:
            return
        member = await self.members.get(feature.member_id) if feature.member_id is not None else None
        if member is None or not member.featured_consent or not member.name:
            await turn.refuse(Refusal("This member can no longer be featured."))
            return
        if not await self.store.move(feature.id, [FeatureState.APPROVING], FeatureState.PUBLISHED, turn.now,
                                     name=member.name, published_at=turn.now, published_by=turn.member.id):
            await turn.refuse(Refusal("This feature was already published."))
            return
        name, text = member.name, feature.text
        audience = await self.messenger.send_to_everyone(
            lambda t: feature_message(t, name, text), Purpose.BROADCAST,
            template=lambda t: TemplateHint(feature_message(t, name, text).title[:60],
                                            self.button(t("Read it"), Press.READ, feature.id)))
        await self.audit.record(turn, Action.FEATURE, member_id=member.id, detail=f"#{feature.id}")
        await turn.take_buttons_off_pressed()
        turn.notice = turn.t.plural("Shared with {count} member", "Shared with {count} members", audience)
        await turn.say(turn.notice)
        log.info("feature %s of member %s published to %s members", feature.id, member.id, audience)

    # --- past features --------------------------------------------------------------------------------

    async def list_features(self, turn: Turn, args: str) -> None:
        t = turn.t
        features = await self.store.published_features(LISTED)
        if not features:
            await turn.say(t("No member has been featured yet."))
            return
        parts: list[Part] = [bold(t("Know Your Community"))]
        rows: list[list[Button]] = []
        for feature in features:
            parts += ["\n\n", bold(feature.name or t("A member")), " · ", t.date(feature.published_at or 0.0), "\n",
                      first_words(feature.text)]
            rows.append([self.button(t("Read #{number}", number=feature.id), Press.READ, feature.id)])
        await turn.say(*parts, buttons=rows)

    async def press_read(self, turn: Turn, arg: str) -> None:
        feature = await self._feature(turn, arg, FeatureState.PUBLISHED)
        if feature is not None:
            await turn.show(feature_message(turn.t, feature.name, feature.text))


def draft_profile(t: Translator, member: Member, feature: Feature) -> str:
    """A short profile from the member's answers, their own words quoted."""
    where = ", ".join(part for part in (member.organization, member.country) if part)
    lines = [t("Meet {name}, {where}.", name=member.name, where=where) if where
             else t("Meet {name}.", name=member.name)]
    if feature.role:
        lines.append(t("Role: “{role}”", role=feature.role))
    if feature.work:
        lines.append(t("Their work: “{work}”", work=feature.work))
    if feature.help:
        lines.append(t("They would like help with: “{help}”", help=feature.help))
    return "\n".join(lines)


def feature_message(t: Translator, name: str, text: str) -> Message:
    title = t("Know Your Community: {name}", name=name or t("A member"))
    return compose(bold(title), "\n\n", text, "\n\n", t("Send /community to read past features."), title=title)
