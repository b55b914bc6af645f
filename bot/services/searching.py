"""The network's memory: /search WORDS finds published consolidated replies, /read N opens
one, and a new question is first compared with what was already discussed."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.domain.refusal import Refusal
from bot.services.archive import ArchivedReply, SearchHit, search_terms
from bot.services.turn import Turn, bold

RESULTS = 5
READ = "rd"


async def search(turn: Turn, words: str) -> None:
    t = turn.t
    if not search_terms(words):
        await turn.say(t("Send /search followed by a few words, for example: /search cash transfers disability"))
        return
    hits = await turn.services.archive.search(words, limit=RESULTS)
    if not hits:
        await turn.say(t("Nothing in the archive matches “{words}”. Try other or fewer words.", words=words.strip()[:100]))
        return
    parts: list[object] = [bold(t("What the network has discussed about “{words}”:", words=words.strip()[:100]))]
    for number, hit in enumerate(hits, start=1):
        parts += ["\n\n", bold(f"{number}. {hit.title}"), f" ({month_of(hit.published_at)})\n",
                  _plain_snippet(hit), "\n", f"/read {hit.discussion_id}"]
    await turn.say(*parts)  # type: ignore[arg-type]


async def read(turn: Turn, argument: str) -> None:
    number = argument.strip().lstrip("#")
    if not number.isdigit():
        await turn.refuse(Refusal("Send /read and the number of a consolidated reply, for example: /read 12"))
        return
    await show(turn, int(number))


async def show(turn: Turn, discussion_id: int) -> None:
    reply = await turn.services.archive.get(discussion_id)
    if reply is None:
        await turn.refuse(Refusal("There is no published consolidated reply with that number. /search finds them."))
        return
    await turn.say(*render(turn, reply))


def render(turn: Turn, reply: ArchivedReply) -> list[object]:
    t = turn.t
    parts: list[object] = [bold(reply.title), f" ({month_of(reply.published_at)})", "\n\n",
                           bold(t("The question")), "\n", reply.question, "\n\n"]
    if reply.summary.strip():
        parts += [bold(t("Key points")), "\n", reply.summary, "\n\n"]
    parts += [bold(t("Contributions")), "\n", reply.contributions]
    return parts


def month_of(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%B %Y")


def _plain_snippet(hit: SearchHit) -> str:
    return " ".join(hit.snippet.split())
