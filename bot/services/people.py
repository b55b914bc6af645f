"""Who is writing: a person's member record, found by their platform identity or made on
their first private message, with the role the configuration gives them."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Protocol

from bot.clock import Clock
from bot.domain.members import Identity, Member, Role, Status, is_time_zone
from bot.ports import Address, PersonCard, Sender
from bot.services.conversation import UnitOfWork
from bot.services.members import MemberStore


class FacilitatorList(Protocol):
    """The facilitators named in the configuration or added at run time, per platform."""

    def lists(self, platform: str, user_id: str) -> bool: ...

    def has_list_for(self, platform: str) -> bool: ...

    def everyone(self) -> dict[str, set[str]]: ...


@dataclass(eq=False)
class People:
    members: MemberStore
    facilitators: FacilitatorList
    database: UnitOfWork
    clock: Clock
    languages: tuple[str, ...] = ("en",)

    def listed(self, sender: Sender) -> bool:
        address = sender.address
        return self.facilitators.lists(address.platform, address.user_id)

    async def find(self, sender: Sender) -> Member | None:
        return await self.members.find_by_identity(sender.address.platform, sender.address.user_id)

    @staticmethod
    def first_time(sender: Sender, known: Member | None) -> bool:
        """Whether this is the first the bot hears from the person here: unknown, or enrolled
        before they ever wrote (a listed facilitator, an imported member)."""
        if known is None:
            return True
        address = sender.address
        identity = next((i for i in known.identities
                         if i.platform == address.platform and i.user_id == address.user_id), None)
        return identity is not None and identity.last_seen_at is None

    async def greet(self, sender: Sender, known: Member | None) -> Member:
        """The sender's member record, made now for a newcomer, marked as seen (and reachable
        again) and with the role the configuration gives."""
        address = sender.address
        now = self.clock.now()
        private_chat = None if sender.in_group else (address.chat_id or address.user_id)
        if known is None:
            role = Role.FACILITATOR if self.listed(sender) else Role.MEMBER
            identity = Identity(address.platform, address.user_id, private_chat or "", last_seen_at=now)
            member = await self.members.create(identity, sender.name.strip()[:80], role, now)
            # What their app says of them (its language, their time zone) is the first guess.
            language = self._offered(sender.locale)
            zone = sender.timezone if sender.timezone and is_time_zone(sender.timezone) else member.timezone
            if language or zone != member.timezone:
                member = replace(member, language=language or member.language, timezone=zone)
                await self.members.save(member)
            return member
        await self.members.touch(address.platform, address.user_id, private_chat, now)
        # Enrolled before they ever wrote (a listed facilitator, an imported member): what their
        # app says of them fills what is still empty.
        language = self._offered(sender.locale) if not known.language else ""
        name = sender.name.strip()[:80] if not known.name else ""
        if language or name:
            known = replace(known, language=language or known.language, name=name or known.name)
            await self.members.save(known)
        return await self._with_role(known)

    async def _with_role(self, member: Member) -> Member:
        """Facilitators are who the configuration says, on the platforms it lists."""
        facilitators = self.facilitators
        listed = [facilitators.lists(i.platform, i.user_id) for i in member.identities
                  if facilitators.has_list_for(i.platform)]
        if not listed:
            return member
        role = Role.FACILITATOR if any(listed) else Role.MEMBER
        if role is not member.role:
            member = replace(member, role=role)
            await self.members.save(member)
        return member

    def _offered(self, locale: str) -> str:
        """The community's language closest to an app's locale ("pt-BR" -> "pt"), or ""."""
        wanted = locale.replace("_", "-").casefold()
        for candidate in (wanted, wanted.split("-")[0]):
            for code in self.languages:
                if code.casefold() == candidate:
                    return code
        return ""

    async def unreachable(self, address: Address, reason: str) -> None:
        await self.members.mark_unreachable(address, reason)

    async def enrol_facilitators(self) -> None:
        """At start: every facilitator named in the configuration or added at run time is
        known, so that cards reach them even before they have written to the bot."""
        now = self.clock.now()
        for platform, user_ids in self.facilitators.everyone().items():
            for user_id in sorted(user_ids):
                async with self.database.transaction():
                    member = await self.members.find_by_identity(platform, user_id)
                    if member is None:
                        await self.members.create(Identity(platform, user_id, user_id), "", Role.FACILITATOR, now)
                    elif not member.is_facilitator:
                        await self.members.save(replace(member, role=Role.FACILITATOR))

    async def on(self, platform: str) -> list[PersonCard]:
        """The people on a platform, for pages that let a visitor pick a demo identity."""
        people = []
        for member in await self.members.on_platform(platform):
            if member.status is Status.LEFT:
                continue
            identity = next(i for i in member.identities if i.platform == platform)
            role = "facilitator" if member.is_facilitator else "member"
            where = ", ".join(part for part in (member.organization, member.country) if part)
            people.append(PersonCard(
                address=Address(platform, identity.user_id, identity.chat_id),
                name=member.name or identity.user_id,
                description=f"{role}, {where}" if where else role,
                is_facilitator=member.is_facilitator,
            ))
        return people
