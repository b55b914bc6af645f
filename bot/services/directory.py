"""The member directory: /members and a few words finds the members who said yes to being
found, by topic, country, organization, language, name, or what they offer or look for, and
shows each in their own words with their member number, for /connect. No one who said no (or
never answered) is ever listed, and no contact is shown: that takes an introduction."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.members import Member
from bot.services.messaging import Part, bold
from bot.services.routes import Arguments, Route, command
from bot.services.rules import IN_PRIVATE, NOT_LEFT, NOT_REMOVED
from bot.services.turn import Turn
from bot.texts.catalog import Translator, native_name

SHOWN = 10
SHORTEST_WORD = 2


class DirectoryListing(Protocol):
    async def listed(self) -> list[Member]:
        """Members who said yes to the directory and are still in the network, by number:
        their profile only, without identities."""
        ...


class Command(StrEnum):
    MEMBERS = "members"


@dataclass(frozen=True)
class Found:
    member: Member
    matched: int  # how many of the searched words the member matches


def folded(text: str) -> str:
    """Lower case without accents: "Côte d'Ivoire" is found as "cote"."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(character for character in decomposed if not unicodedata.combining(character))


def words_of(text: str) -> list[str]:
    return [word for word in re.findall(r"\w+", folded(text)) if len(word) >= SHORTEST_WORD]


def searchable_words(member: Member, t: Translator) -> set[str]:
    """Every word a member can be found by; a language by its code and its names."""
    language = (member.language, native_name(member.language), t.language_name(member.language)) \
        if member.language else ()
    texts = (member.name, member.organization, member.country, *member.topics, member.offers, member.seeks, *language)
    return {word for text in texts for word in words_of(text)}


def search(members: Sequence[Member], query: str, t: Translator) -> list[Found]:
    """Members matching the most searched words first (a word matches the start of one of
    theirs: "educ" finds "education"), then by number; those matching none left out."""
    wanted = list(dict.fromkeys(words_of(query)))
    found = []
    for member in members:
        theirs = searchable_words(member, t)
        matched = sum(1 for word in wanted if any(each.startswith(word) for each in theirs))
        if matched:
            found.append(Found(member, matched))
    return sorted(found, key=lambda each: (-each.matched, each.member.id))


@dataclass(eq=False)
class Directory:
    listing: DirectoryListing

    def routes(self) -> Sequence[Route]:
        return (
            command(Command.MEMBERS, self.members_command,
                    "Find members by topic, country, organization or language: /members nutrition Kenya",
                    rules=(IN_PRIVATE, NOT_LEFT, NOT_REMOVED), arguments=Arguments.TEXT),
        )

    async def members_command(self, turn: Turn, args: str) -> None:
        t = turn.t
        others = [member for member in await self.listing.listed() if member.id != turn.member.id]
        if not words_of(args):
            await turn.say(
                t.plural("{count} member can be found in the directory.", "{count} members can be found in the "
                         "directory.", len(others)), " ",
                t("Send /members and a few words: a topic, a country, an organization, a language, or what "
                  "people offer or look for. For example: /members nutrition Kenya"), "\n\n",
                t("You are in the directory.") if turn.member.in_directory
                else t("You are not in the directory: to be found, say yes under Directory in /profile."),
            )
            return
        found = search(others, args, t)
        if not found:
            await turn.say(t("No member in the directory matches “{words}”. Try other or fewer words: a topic, a "
                             "country, an organization or a language.", words=" ".join(args.split())[:80]))
            return
        wanted = len(set(words_of(args)))
        best = [each for each in found if each.matched == wanted] or found
        parts: list[Part] = []
        if best[0].matched < wanted:
            parts += [t("No member matches all of these words; here are those who match some of them."), "\n\n"]
        for index, each in enumerate(best[:SHOWN]):
            parts += (["\n\n"] if index else []) + entry(t, each.member)
        more = len(best) - SHOWN
        if more > 0:
            parts += ["\n\n", t.plural("And {count} more: add a word to narrow the search.",
                                       "And {count} more: add a word to narrow the search.", more)]
        parts += ["\n\n", t("To ask a member for an introduction, send /connect and their number, with a few words "
                            "about why, for example: /connect {number} I work on this too.",
                            number=best[0].member.id)]
        await turn.say(*parts)


def entry(t: Translator, member: Member) -> list[Part]:
    """One member as the directory shows them: number, name, where they work, in their words."""
    where = ", ".join(part for part in (member.organization, member.country) if part)
    parts: list[Part] = [f"#{member.id} ", bold(member.name or t("(not given)"))]
    if where:
        parts.append(f" — {where}")
    if member.topics:
        parts += ["\n", t("Topics: {value}", value=", ".join(member.topics))]
    if member.language:
        parts += ["\n", t("Language: {value}", value=native_name(member.language))]
    if member.offers:
        parts += ["\n", t("Offers: {value}", value=member.offers)]
    if member.seeks:
        parts += ["\n", t("Looking for: {value}", value=member.seeks)]
    return parts
