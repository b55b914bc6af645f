"""The network's memory: /search WORDS finds published consolidated replies, /read N opens
one, and a new question is first compared with what was already discussed (in asking)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, Sequence

from bot.domain.discussions import Discussion
from bot.domain.refusal import Refusal
from bot.services.archive import Archive, ArchivedReply, SearchHit, search_terms
from bot.ports import Button
from bot.services.messaging import Part, bold
from bot.services.routes import Arguments, Route, command, discussion_button
from bot.services.rules import NOT_LEFT
from bot.services.translating import in_reader_language
from bot.services.turn import Turn
from bot.texts.catalog import Translator

RESULTS = 5
# What a member searched for is kept to this length in the search log.
LOGGED_CHARS = 200


PRACTICES_SHOWN = 3  # good practices shown after the consolidated replies a search finds


class FoundPractice(Protocol):
    number: int
    title: str
    snippet: str


class PracticeFinder(Protocol):
    """The repository of good practices, as a search shows them beside consolidated replies."""

    async def search(self, words: str, limit: int = 5) -> Sequence[FoundPractice]: ...

    def read_button(self, turn: Turn, number: int) -> Button: ...


class SearchLog(Protocol):
    async def record(self, words: str, results: int, member_id: int | None, at: float) -> None: ...


async def find(archive: Archive, words: str, limit: int = RESULTS) -> list[SearchHit]:
    """What /search shows for these words, best first: `facilitator search` shows the same."""
    if not search_terms(words):
        return []
    return await archive.search(words, limit=limit)


class Press(StrEnum):
    READ = "rd"


class Command(StrEnum):
    SEARCH = "search"
    READ = "read"


@dataclass(eq=False)
class Searching:
    archive: Archive
    search_log: SearchLog | None = None
    practices: PracticeFinder | None = None

    def routes(self) -> Sequence[Route]:
        # Searching works in groups too: a facilitators' group looks things up together.
        return (
            command(Command.SEARCH, self.search, "Search what the network has discussed", rules=(NOT_LEFT,),
                    arguments=Arguments.TEXT),
            command(Command.READ, self.read, "Read a consolidated reply: /read 12", rules=(NOT_LEFT,),
                    arguments=Arguments.NUMBER),
            discussion_button(Press.READ, self.press_read),
        )

    async def search(self, turn: Turn, words: str) -> None:
        t = turn.t
        if not search_terms(words):
            await turn.say(t("Send /search followed by a few words, for example: /search cash transfers disability"))
            return
        hits = await find(self.archive, words)
        practices = await self.practices.search(words, PRACTICES_SHOWN) if self.practices is not None else []
        if self.search_log is not None:
            await self.search_log.record(" ".join(words.split())[:LOGGED_CHARS], len(hits) + len(practices),
                                         turn.member.id, turn.now)
        if not hits and not practices:
            await turn.say(t("Nothing in the archive matches “{words}”. Try other or fewer words.",
                             words=words.strip()[:100]))
            return
        parts: list[Part] = [bold(t("What the network has discussed about “{words}”:", words=words.strip()[:100]))]
        buttons = []
        # Each result goes by the number /read takes, and has its own button to open it.
        for hit in hits:
            parts += ["\n\n", bold(f"#{hit.discussion_id} {hit.title}"), f" ({t.month(hit.published_at)})"]
            snippet = _plain_snippet(hit)
            if snippet:
                parts += ["\n", snippet]
            buttons.append([turn.button(t("Read #{number}", number=hit.discussion_id), Press.READ, hit.discussion_id)])
        if practices and self.practices is not None:
            parts += ["\n\n", bold(t("Good practices:"))]
            for practice in practices:
                parts += ["\n\n", bold(f"#{practice.number} {practice.title}")]
                if practice.snippet.strip():
                    parts += ["\n", " ".join(practice.snippet.split())]
                buttons.append([self.practices.read_button(turn, practice.number)])
        await turn.say(*parts, buttons=buttons)

    async def read(self, turn: Turn, argument: str) -> None:
        number = argument.strip().lstrip("#")
        if not number.isdigit():
            await turn.refuse(Refusal("Send /read and the number of a consolidated reply, for example: /read 12"))
            return
        await self.show(turn, int(number))

    async def press_read(self, turn: Turn, discussion: Discussion, arg: str) -> None:
        await self.show(turn, discussion.id)

    async def show(self, turn: Turn, discussion_id: int) -> None:
        reply = await self.archive.get(discussion_id)
        if reply is None:
            await turn.refuse(Refusal("There is no published consolidated reply with that number. /search finds them."))
            return
        await turn.say(*in_reader_language(turn.t, render(turn.t, reply), reply.language, reply.translations))


def render(t: Translator, reply: ArchivedReply) -> list[Part]:
    parts: list[Part] = [bold(reply.title), f" ({t.month(reply.published_at)})", "\n\n",
                         bold(t("The question")), "\n", reply.question, "\n\n"]
    if reply.summary.strip():
        parts += [bold(t("Key points")), "\n", reply.summary, "\n\n"]
    parts += [bold(t("Contributions")), "\n", reply.contributions]
    return parts


def _plain_snippet(hit: SearchHit) -> str:
    return " ".join(hit.snippet.split())
