"""The facilitators' workspace as the dashboard reads it: the moderation queue, the open
discussions, the drafts to publish, the archive and the members, each in the facilitator's
language; and the /dashboard command that sends a one-time sign-in link.

The dashboard acts only through the core's own buttons and commands (its presses and texts
come in as events from the facilitator's dashboard identity), so its actions follow the same
rules and land in the same audit log as on any chat."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Callable, Mapping, Protocol, Sequence

from bot.clock import Clock
from bot.domain.discussions import Discussion, State
from bot.domain.members import Identity, Member, Status
from bot.domain.refusal import Refusal
from bot.ports import (
    Button, DraftDesk, Found, Message, OpenDiscussion, Profile, QueueItem, ReplySeen, Rows, Span, Viewer,
)
from bot.services.archive import Archive
from bot.services.buttons import ButtonCodec
from bot.services.cards import Cards
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore
from bot.services.messaging import Messenger, compose
from bot.services.progress import BroadcastProgress
from bot.services.publishing import DraftStore, Press as DraftPress, Publishing, consolidated_body
from bot.services.routes import Audience, Route, command
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.searching import Press as SearchPress
from bot.services.turn import Turn
from bot.services.watch import Watch
from bot.services.moderation import Press as ModerationPress
from bot.texts.catalog import N_, Translator
from bot.texts.words import MEMBER_STATUS

LINK_VALID = 600.0  # seconds a sign-in link can be used (once)
SIMILAR_SHOWN = 3
ARCHIVE_SHOWN = 20
MEMBERS_SHOWN = 500
# The reasons a facilitator picks from when rejecting in the dashboard (or writes their own).
REJECT_REASONS = (
    N_("It is not about the network's topics."),
    N_("It was already answered in the archive: see /search."),
    N_("It names or identifies a child or a family."),
    N_("It advertises a product, a service or an event."),
    N_("It is not a question for the network: please write to the facilitators directly."),
)


class SignInLinks(Protocol):
    async def add(self, token_hash: str, member_id: int, expires_at: float, now: float) -> None: ...

    async def redeem(self, token_hash: str, now: float) -> int | None: ...


class Command(StrEnum):
    DASHBOARD = "dashboard"


@dataclass(eq=False)
class Workspace:
    member_store: MemberStore
    discussion_store: DiscussionStore
    draft_store: DraftStore
    archive_store: Archive
    cards: Cards
    publishing: Publishing
    progress: BroadcastProgress
    codec: ButtonCodec
    messenger: Messenger
    links: SignInLinks
    watcher: Watch
    clock: Clock
    # The dashboard's address once it is served (None: no dashboard in this network).
    address: Callable[[], str | None]
    # The platform name under which facilitators act from the dashboard.
    platform: Callable[[], str | None]

    def routes(self) -> Sequence[Route]:
        return (command(Command.DASHBOARD, self.send_link, "Open the facilitators' dashboard (a one-time link)",
                        rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), audience=Audience.FACILITATORS),)

    async def send_link(self, turn: Turn, args: str) -> None:
        address = self.address()
        if address is None:
            await turn.refuse(Refusal("This network has no dashboard: it is enabled in the configuration file."))
            return
        token = secrets.token_urlsafe(24)
        await self.links.add(_hash(token), turn.member.id, turn.now + LINK_VALID, turn.now)
        link = f"{address.rstrip('/')}/admin/sign-in?token={token}"
        t = turn.t
        await turn.say(t("Your link to the dashboard, for the next 10 minutes and for one use:"), "\n",
                       Span(link, link=link))

    # --- who is looking ---------------------------------------------------------------------

    async def redeem(self, token: str, now: float) -> Viewer | None:
        if not token or len(token) > 100:
            return None
        member_id = await self.links.redeem(_hash(token), now)
        return await self.viewer(member_id) if member_id is not None else None

    async def viewer(self, member_id: int) -> Viewer | None:
        """The facilitator, checked now: a facilitator taken off, or who left, sees nothing."""
        member = await self.member_store.get(member_id)
        if member is None or not member.is_facilitator or member.status is Status.LEFT:
            return None
        platform = self.platform()
        if platform and not any(i.platform == platform for i in member.identities):
            # Their presses and texts from the dashboard come from this identity.
            await self.member_store.add_identity(member.id, Identity(platform, str(member.id), str(member.id),
                                                                     last_seen_at=self.clock.now()))
        return Viewer(member.id, member.name or f"#{member.id}", member.language or self.messenger.texts.default_language)

    async def demo_viewers(self) -> list[Viewer]:
        viewers = [await self.viewer(member.id) for member in await self.member_store.facilitators()]
        return [viewer for viewer in viewers if viewer is not None]

    def watch(self, changed: Callable[[], None]) -> None:
        self.watcher.listen(changed)

    # --- pages --------------------------------------------------------------------------------

    async def queue(self, viewer: Viewer) -> list[QueueItem]:
        t = self.messenger.translator(viewer.language)
        waiting = await self.discussion_store.in_state(State.SUBMITTED)
        items = []
        for discussion in sorted(waiting, key=lambda d: d.created_at):
            asker = await self._asker(discussion)
            similar = await self.archive_store.similar(discussion.text, SIMILAR_SHOWN)
            items.append(QueueItem(
                number=discussion.id, card=self.cards.moderation_card(t, discussion, asker, None),
                asker=await self._profile(t, asker), waiting=t.moment(discussion.created_at),
                similar=tuple(Found(hit.discussion_id, hit.title, hit.snippet, t.date(hit.published_at))
                              for hit in similar),
                reject=self.codec.encode(ModerationPress.REJECT, discussion.id),
                reasons=tuple(t(reason) for reason in REJECT_REASONS),
            ))
        return items

    async def discussions(self, viewer: Viewer) -> list[OpenDiscussion]:
        t = self.messenger.translator(viewer.language)
        under_way = await self.progress.under_way()
        shown = []
        for discussion in sorted(await self.discussion_store.in_state(State.APPROVED),
                                 key=lambda d: d.deadline_at or 0.0):
            asker = await self._asker(discussion)
            by = await self.member_store.get(discussion.state_by) if discussion.state_by else None
            audience, line = await self.progress.line(discussion.id, finished=discussion.id not in under_way)
            card = self.cards.moderation_card(t, discussion, asker, by, audience or None, line if audience else None)
            replies = []
            for reply in await self.discussion_store.replies(discussion.id):
                author = await self.member_store.get(reply.member_id)
                name = author.attribution() if author else t("a former member")
                replies.append(ReplySeen(t("{who}, to be shared anonymously", who=name) if reply.anonymous else name,
                                         reply.text, t.moment(reply.created_at)))
            deadline = t.moment(discussion.deadline_at) if discussion.deadline_at else ""
            reminder = (t("Reminder sent {when}", when=t.moment(discussion.reminded_at)) if discussion.reminded_at
                        else t("No reminder sent yet"))
            shown.append(OpenDiscussion(discussion.id, card, tuple(replies), deadline, reminder))
        return shown

    async def drafts(self, viewer: Viewer) -> list[DraftDesk]:
        t = self.messenger.translator(viewer.language)
        desks = []
        for discussion in sorted(await self.discussion_store.in_state(State.CLOSED), key=lambda d: d.closed_at or 0.0):
            draft = await self.draft_store.get(discussion.id)
            if draft is None or draft.discarded:
                continue
            contributions = await self.publishing.contributions_of(discussion)
            whole = draft.full_text or compose(*consolidated_body(t, discussion, draft, contributions)).text
            preview = compose(*consolidated_body(t, discussion, draft, contributions))
            desks.append(DraftDesk(
                number=discussion.id, card=self.publishing.draft_card(t, discussion, draft, contributions),
                key_points=draft.summary, whole_text=whole,
                preview=Message(spans=preview.spans, title=t("Consolidated reply")),
                edit_key_points=self.codec.encode(DraftPress.EDIT_DRAFT, discussion.id),
                edit_whole_text=self.codec.encode(DraftPress.WHOLE_TEXT, discussion.id),
            ))
        return desks

    async def archive(self, viewer: Viewer, query: str) -> list[tuple[Found, Rows]]:
        t = self.messenger.translator(viewer.language)
        if query.strip():
            hits = await self.archive_store.search(query, ARCHIVE_SHOWN)
            found = [Found(h.discussion_id, h.title, h.snippet, t.date(h.published_at)) for h in hits]
        else:
            latest = sorted(await self.discussion_store.in_state(State.PUBLISHED), key=lambda d: d.published_at or 0.0,
                            reverse=True)[:ARCHIVE_SHOWN]
            found = [Found(reply.discussion_id, reply.title, _first_line(reply.summary or reply.question),
                           t.date(reply.published_at))
                     for d in latest if (reply := await self.archive_store.get(d.id)) is not None]
        return [(entry, self._archive_buttons(t, entry.number)) for entry in found]

    def _archive_buttons(self, t: Translator, number: int) -> Rows:
        return ((Button(t("Read it"), self.codec.encode(SearchPress.READ, number)),
                 Button(t("Share it again"), self.codec.encode(DraftPress.SHARE_PUBLISHED, number))),)

    async def members(self, viewer: Viewer, filters: Mapping[str, str]) -> list[Profile]:
        t = self.messenger.translator(viewer.language)
        listed = await self.member_store.listing(
            country=filters.get("country", ""), platform=filters.get("platform", ""),
            language=filters.get("language", ""), topic=filters.get("topic", ""), status=filters.get("status", ""),
            limit=MEMBERS_SHOWN)
        dashboard = self.platform()
        return [await self._profile(t, member, counts=False, hide=dashboard) for member in listed]

    # --- helpers ------------------------------------------------------------------------------

    async def _asker(self, discussion: Discussion) -> Member:
        asker = await self.member_store.get(discussion.asker_id)
        assert asker is not None, f"discussion {discussion.id} has no asker"
        return asker

    async def _profile(self, t: Translator, member: Member, counts: bool = True, hide: str | None = None) -> Profile:
        asked = len(await self.discussion_store.asked_by(member.id)) if counts else 0
        hide = hide or self.platform()
        return Profile(
            number=member.id, name=member.name, organization=member.organization, country=member.country,
            topics=member.topics, language=t.language_name(member.language) if member.language else "",
            platforms=tuple(sorted({i.platform for i in member.identities if i.platform != hide})),
            joined=t.date(member.joined_at), status=t(MEMBER_STATUS[member.status.value]),
            muted=member.muted_reason is not None, asked=asked,
        )


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:200] if text.strip() else ""
