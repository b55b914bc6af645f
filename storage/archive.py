"""The archive of published consolidated replies, and its search: relevance over every match,
on stems (see storage/search_index.py and bot/services/stemming.py)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Sequence

import aiosqlite

from bot.clock import Clock, SystemClock
from bot.services.archive import ArchivedReply, SearchHit
from bot.services.stemming import Stemming, Word, words_of
from storage.opening import AnyDatabase
from storage.search_index import StemmedIndex
from storage.search_index_pg import PostgresStemmedIndex
from storage.search_ranking import Ranked, Ranking, Term

_COLUMNS = "discussion_id, title, question, summary, contributions, language, published_at"
_FIELDS = ("title", "question", "summary", "contributions", "translations")
# bm25's weight per field: a word in the title says most about what a reply is about.
_RANKING = Ranking(weights=(8.0, 4.0, 2.0, 1.0, 1.5))
# A search of this many meaningful words or fewer needs every one; a longer one, the best of any.
EVERY_WORD_UP_TO = 3
# A search result shows at most this many key points, in at most this many characters.
SNIPPET_POINTS, SNIPPET_CHARS, SNIPPET_WORDS = 2, 240, 24
# "educa" may be "education", whose stem ("educ") is shorter than what was typed.
_PREFIX_FROM = 4
# A longer word is not one still being typed (and its every start, as a search, would be huge).
_UNFINISHED_UP_TO = 60
_QUOTED = re.compile(r"[\"“”«»]([^\"“”«»]+)[\"“”«»]")
_REINDEX_BATCH = 500


class SqliteArchive:
    def __init__(self, database: AnyDatabase, stemming: Stemming | None = None, clock: Clock | None = None) -> None:
        self.database = database
        self.stemming = stemming or Stemming()
        self.clock = clock or SystemClock()
        # The same search on both: FTS5 on SQLite, a tsvector with a GIN index on PostgreSQL.
        self.index: StemmedIndex | PostgresStemmedIndex = (
            PostgresStemmedIndex(database, "archive_search", _FIELDS, _RANKING) if database.dialect == "postgresql"
            else StemmedIndex(database, "archive_search", _FIELDS, _RANKING))  # type: ignore[arg-type]

    async def add(self, reply: ArchivedReply) -> None:
        await self.add_many([reply])

    async def add_many(self, replies: Sequence[ArchivedReply]) -> None:
        async with self.database.transaction() as connection:
            await connection.executemany(
                f"INSERT INTO consolidated_reply ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (discussion_id) DO UPDATE SET title = excluded.title, question = excluded.question,"
                " summary = excluded.summary, contributions = excluded.contributions,"
                " language = excluded.language, published_at = excluded.published_at",
                [(r.discussion_id, r.title, r.question, r.summary, r.contributions, r.language, r.published_at)
                 for r in replies],
            )
            await self._index(connection, [reply.discussion_id for reply in replies])

    async def import_reply(self, reply: ArchivedReply, source_id: str, now: float) -> int | None:
        """Add a reply from another archive as a published discussion of its own; its number,
        or None when one with that source id is there already (importing again changes nothing).
        Such discussions are asked by a placeholder member who has left: nobody is ever sent anything."""
        async with self.database.transaction() as connection:
            async with connection.execute("SELECT 1 FROM consolidated_reply WHERE source_id = ?", (source_id,)) as rows:
                if await rows.fetchone() is not None:
                    return None
            asker = await _imported_asker(connection, now)
            cursor = await connection.execute(
                "INSERT INTO discussion (asker_id, text, language, anonymous, state, created_at, approved_at,"
                " closed_at, published_at) VALUES (?, ?, ?, 1, 'published', ?, ?, ?, ?)",
                (asker, reply.question, reply.language, *[reply.published_at] * 4))
            number = int(cursor.lastrowid or 0)
            await connection.execute(
                f"INSERT INTO consolidated_reply ({_COLUMNS}, source_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (number, reply.title, reply.question, reply.summary, reply.contributions, reply.language,
                 reply.published_at, source_id))
            await self._index(connection, [number])
            return number

    async def source_ids(self, discussion_ids: Sequence[int]) -> dict[int, str]:
        """The ids in the archive they were imported from, of those that were imported."""
        if not discussion_ids:
            return {}
        rows = await self.database.fetch_all(
            "SELECT discussion_id, source_id FROM consolidated_reply WHERE source_id IS NOT NULL"
            f" AND discussion_id IN ({', '.join('?' * len(discussion_ids))})", tuple(discussion_ids))
        return {row[0]: row[1] for row in rows}

    async def search(self, words: str, limit: int = 5) -> list[SearchHit]:
        """Every meaningful word when there are few (the last one may be unfinished: "educa"
        finds "education"), then, or when there are many, the best of any of them; a quoted
        phrase as a phrase."""
        terms = self._terms(words)
        if not terms or limit < 1:
            return []
        await self.bring_index_up_to_date()
        now = self.clock.now()
        if len(terms) > EVERY_WORD_UP_TO:
            ranked = await self.index.rank(terms, False, limit, now)
        else:
            ranked = await self.index.rank(terms, True, limit, now)
            if not ranked and (unfinished := self._unfinished(words, terms)):
                ranked = await self.index.rank([*terms[:-1], unfinished], True, limit, now)
            if len(ranked) < limit and len(terms) > 1:
                # Fewer replies hold every word than were asked for: those first, then the best of any.
                shown = {document.rowid for document in ranked}
                ranked += [document for document in await self.index.rank(terms, False, limit, now)
                           if document.rowid not in shown][:limit - len(ranked)]
        return await self._hits(ranked, terms)

    async def similar(self, text: str, limit: int = 3) -> list[SearchHit]:
        """Published replies whose title and question are about the same thing; the score is
        the share (0 to 1) of the text's meaningful words found there, in any of their forms."""
        words = [word for word in self.stemming.search_words(text) if len(word.text) > 2 and not word.text.isdigit()]
        if not words:
            return []
        await self.bring_index_up_to_date()
        # A stem stands for its longer relatives too ("regist" for "registr"): a paraphrase
        # uses other forms of the same words.
        terms = [Term(tuple((form,) for form in word.forms), prefix=_shortest(word.forms)) for word in words]
        ranked = await self.index.rank(terms, False, max(limit * 5, 10), self.clock.now(), within=("title", "question"))
        hits = []
        for document in ranked:
            heading = set(f"{document.fields[0]} {document.fields[1]}".split())
            score = sum(1 for word in words if _related(word, heading)) / len(words)
            hits.append(SearchHit(document.rowid, "", document.at, "", score))
        hits.sort(key=lambda hit: (-hit.score, -hit.published_at))
        hits = hits[:limit]
        titles = await self._titles([hit.discussion_id for hit in hits])
        return [replace(hit, title=titles.get(hit.discussion_id, "")) for hit in hits]

    async def get(self, discussion_id: int) -> ArchivedReply | None:
        row = await self.database.fetch_one(
            f"SELECT {_COLUMNS} FROM consolidated_reply WHERE discussion_id = ?", (discussion_id,)
        )
        if row is None:
            return None
        versions = await self.database.fetch_all(
            "SELECT language, text FROM translation WHERE discussion_id = ? AND kind = 'consolidated'",
            (discussion_id,))
        return replace(_reply(row), translations={version["language"]: version["text"] for version in versions})

    async def all_published(self) -> list[ArchivedReply]:
        rows = await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM consolidated_reply ORDER BY published_at DESC, discussion_id DESC"
        )
        return [_reply(row) for row in rows]

    async def count(self) -> int:
        row = await self.database.fetch_one("SELECT count(*) FROM consolidated_reply")
        return int(row[0]) if row else 0

    async def bring_index_up_to_date(self) -> None:
        """Index what was written round the archive (a member forgotten, a translation saved,
        replies published before this index existed). Cheap when nothing is waiting."""
        if await self.database.fetch_one("SELECT 1 FROM archive_search_stale LIMIT 1") is None:
            return
        changed = False
        while True:
            async with self.database.transaction() as connection:
                async with connection.execute("SELECT discussion_id, changed FROM archive_search_stale LIMIT ?",
                                              (_REINDEX_BATCH,)) as cursor:
                    stale = list(await cursor.fetchall())
                if not stale:
                    break
                changed = changed or any(row[1] for row in stale)
                await self._index(connection, [row[0] for row in stale])
        if changed:
            # A forgotten member's name must not stay in the index's storage either.
            await self.index.drop_removed_words()

    async def _index(self, connection: aiosqlite.Connection, discussion_ids: Sequence[int]) -> None:
        """Stem the replies (and their translations) into the index, inside the caller's transaction."""
        wanted = list(dict.fromkeys(discussion_ids))
        for start in range(0, len(wanted), _REINDEX_BATCH):
            batch = wanted[start:start + _REINDEX_BATCH]
            marks = ", ".join("?" * len(batch))
            async with connection.execute(f"SELECT {_COLUMNS} FROM consolidated_reply WHERE discussion_id IN ({marks})",
                                          batch) as cursor:
                replies = {row[0]: _reply(row) for row in await cursor.fetchall()}
            translations: dict[int, list[tuple[str, str]]] = {}
            async with connection.execute(
                    "SELECT discussion_id, language, text FROM translation WHERE kind = 'consolidated'"
                    f" AND discussion_id IN ({marks})", batch) as cursor:
                for row in await cursor.fetchall():
                    translations.setdefault(row[0], []).append((row[1], row[2]))
            for discussion_id in batch:
                reply = replies.get(discussion_id)
                if reply is None:
                    await self.index.remove(connection, discussion_id)
                    continue
                stem = self.stemming.stems
                fields = [stem(text, reply.language) for text in
                          (reply.title, reply.question, reply.summary, reply.contributions)]
                fields.append([word for language, text in translations.get(discussion_id, ())
                               for word in stem(text, language)])
                await self.index.put(connection, discussion_id, fields, reply.published_at)
            await connection.execute(f"DELETE FROM archive_search_stale WHERE discussion_id IN ({marks})", batch)

    def _terms(self, words: str) -> list[Term]:
        """Quoted phrases, then the other words, each with its forms in every community language."""
        terms: list[Term] = []
        for quoted in _QUOTED.findall(words):
            phrase = self.stemming.search_words(quoted)
            if len(phrase) > 1:
                languages = range(max(len(word.forms) for word in phrase))
                forms = {tuple(word.forms[min(i, len(word.forms) - 1)] for word in phrase) for i in languages}
                terms.append(Term(tuple(sorted(forms))))
        rest = self.stemming.search_words(_QUOTED.sub(lambda match: match.group(1) if len(
            self.stemming.search_words(match.group(1))) < 2 else " ", words))
        terms += [Term(tuple((form,) for form in word.forms)) for word in rest]
        return terms[:12]

    def _unfinished(self, words: str, terms: list[Term]) -> Term | None:
        """The last word as typed so far, when it may be the start of a longer one."""
        typed = words_of(words)
        if not typed or words.rstrip().endswith(('"', "”", "»")):
            return None
        last = typed[-1]
        own = self._terms(last)
        if not _PREFIX_FROM <= len(last) <= _UNFINISHED_UP_TO or not own or own[0] != terms[-1]:
            return None
        # Its stem may be shorter than what was typed ("educa" / "educ" of "education").
        shorter = {(last[:length],) for length in range(_PREFIX_FROM, len(last))}
        return Term(tuple(sorted({*terms[-1].forms, *shorter})), prefix=last)

    async def _hits(self, ranked: list[Ranked], terms: list[Term]) -> list[SearchHit]:
        if not ranked:
            return []
        ids = [document.rowid for document in ranked]
        marks = ", ".join("?" * len(ids))
        rows = {row[0]: _reply(row) for row in await self.database.fetch_all(
            f"SELECT {_COLUMNS} FROM consolidated_reply WHERE discussion_id IN ({marks})", tuple(ids))}
        versions: dict[int, list[tuple[str, str]]] = {}
        for row in await self.database.fetch_all(
                "SELECT discussion_id, language, text FROM translation WHERE kind = 'consolidated'"
                f" AND discussion_id IN ({marks}) ORDER BY language", tuple(ids)):
            versions.setdefault(row[0], []).append((row[1], row[2]))
        stems = {stem for term in terms for form in term.forms for stem in form}
        prefixes = [term.prefix for term in terms if term.prefix]
        hits = []
        for document in ranked:
            reply = rows.get(document.rowid)
            if reply is None:
                continue
            snippet = self._snippet(reply, versions.get(reply.discussion_id, []), document, stems, prefixes)
            hits.append(SearchHit(reply.discussion_id, reply.title, reply.published_at, snippet, document.score))
        return hits

    def _snippet(self, reply: ArchivedReply, versions: list[tuple[str, str]], document: Ranked,
                 stems: set[str], prefixes: list[str]) -> str:
        """The key points (one per line) holding the words, else the first one; with no key
        points, a few words of the contributions round the first word found; for a reply found
        only by one of its translations, a few words of that."""
        def holds(text: str, language: str) -> bool:
            found = self.stemming.stems(text, language)
            return any(word in stems or any(word.startswith(prefix) for prefix in prefixes) for word in found)

        found_in_original = any(word in stems or any(word.startswith(prefix) for prefix in prefixes)
                                for field in document.fields[:4] for word in field.split())
        if not found_in_original:
            for language, text in versions:
                if holds(text, language):
                    return _around(text, lambda word: holds(word, language))
        points = [line.strip() for line in reply.summary.splitlines() if line.strip()]
        if points:
            chosen = [point for point in points if holds(point, reply.language)][:SNIPPET_POINTS] or points[:1]
            return _cut(" ".join(chosen))
        return _around(reply.contributions, lambda word: holds(word, reply.language))

    async def _titles(self, discussion_ids: list[int]) -> dict[int, str]:
        if not discussion_ids:
            return {}
        rows = await self.database.fetch_all(
            f"SELECT discussion_id, title FROM consolidated_reply WHERE discussion_id IN"
            f" ({', '.join('?' * len(discussion_ids))})", tuple(discussion_ids))
        return {row[0]: row[1] for row in rows}


async def _imported_asker(connection: aiosqlite.Connection, now: float) -> int:
    async with connection.execute("SELECT value FROM meta WHERE key = 'imported_archive_asker'") as cursor:
        row = await cursor.fetchone()
    if row is not None:
        return int(row[0])
    cursor = await connection.execute(
        "INSERT INTO member (name, status, joined_at) VALUES ('', 'left', ?)", (now,))
    asker = int(cursor.lastrowid or 0)
    await connection.execute("INSERT INTO meta (key, value) VALUES ('imported_archive_asker', ?)", (str(asker),))
    return asker


def _related(word: Word, heading: set[str]) -> bool:
    """Whether one of the word's forms is in the heading, or a stem that starts like it (at
    least five letters in common: "regist" and "registr", of "registering" and "registration")."""
    for form in word.forms:
        if form in heading:
            return True
        if len(form) >= 5 and any(stem.startswith(form) or (len(stem) >= 5 and form.startswith(stem))
                                  for stem in heading):
            return True
    return False


def _shortest(forms: tuple[str, ...]) -> str:
    shortest = min(forms, key=len)
    return shortest if len(shortest) >= 5 else ""


def _around(text: str, holds) -> str:  # type: ignore[no-untyped-def]
    words = text.split()
    first = next((index for index, word in enumerate(words) if holds(word)), 0)
    start = max(0, first - SNIPPET_WORDS // 3)
    chosen = words[start:start + SNIPPET_WORDS]
    return ("…" if start else "") + " ".join(chosen) + ("…" if start + SNIPPET_WORDS < len(words) else "")


def _cut(text: str) -> str:
    if len(text) <= SNIPPET_CHARS:
        return text
    return text[:SNIPPET_CHARS].rsplit(" ", 1)[0].rstrip(" ,;:") + "…"


def _reply(row) -> ArchivedReply:  # type: ignore[no-untyped-def]
    return ArchivedReply(row["discussion_id"], row["title"], row["question"], row["summary"],
                         row["contributions"], row["language"], row["published_at"])
