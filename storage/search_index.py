"""A full-text index of stemmed documents, ranked by relevance over every match.

Any kind of document can have one (consolidated replies today, good practices tomorrow): an
FTS5 table whose columns hold a document's fields as stems (see bot/services/stemming.py),
plus an unindexed `at` (when it was published), and a list of the words of its headings (the
first fields) by how much each says about the document, created by a migration:

    CREATE VIRTUAL TABLE name USING fts5 (field1, field2, ..., at UNINDEXED,
        tokenize = 'unicode61 remove_diacritics 2', prefix = '4 6');
    CREATE TABLE name_headings (stem TEXT NOT NULL, weight REAL NOT NULL, doc INTEGER NOT NULL,
        PRIMARY KEY (stem, weight, doc)) WITHOUT ROWID;
    CREATE INDEX name_headings_doc ON name_headings (doc);

Ranking: bm25 with a weight per field, then the best few re-ranked with what bm25 cannot see:
the search's words side by side (a phrase), the share of the words found (when any of them may
match), and a gentle boost for recent documents (never a cut-off: an old document that answers
the question stays on top).

bm25 over every match costs time in proportion to how many documents hold the words: FTS5
reads every posting of each word to weigh it, then scores each match. When that stays small
(most searches: some word is rare), FTS5 does exactly that. When it would not (every word is
common: "child poverty" in a network about child poverty), the candidates are the best matches
of the rarer words (by FTS5's bm25), else the documents whose headings hold the words the most
(the headings list, kept in that order), and those are scored by the same bm25 formula here:
common words weigh little in bm25 (nothing at all when in more than half the documents), so
what they can add is found where they count most, in a document's title and question.

The formula, the boosts and the choice of candidates are in storage/search_ranking.py, shared
with the PostgreSQL index (storage/search_index_pg.py)."""

from __future__ import annotations

from typing import Sequence

import aiosqlite

from storage.database import Database
from storage.search_headings import Headings
from storage.search_ranking import (Bm25, Ranked, Ranking, Term, best_first, boost, cost, idf,
                                    phrases, quote, rarer_terms)

_COUNTED_LIMIT = 50_000


class StemmedIndex:
    def __init__(self, database: Database, table: str, fields: Sequence[str], ranking: Ranking) -> None:
        if len(ranking.weights) != len(fields):
            raise ValueError(f"{table}: one weight per field")
        self.database = database
        self.table = table
        self.fields = tuple(fields)
        self.ranking = ranking
        self.headings = Headings(database, table, ranking)
        self._totals = b""  # FTS5's totals when the documents holding each phrase were counted
        self._counted: dict[str, int] = {}

    async def put(self, connection: aiosqlite.Connection, rowid: int, fields: Sequence[Sequence[str]],
                  at: float) -> None:
        """Index (or index again) one document, inside the caller's transaction."""
        await self.remove(connection, rowid)
        await connection.execute(
            f"INSERT INTO {self.table} (rowid, {', '.join(self.fields)}, at)"
            f" VALUES (?, {', '.join('?' * len(self.fields))}, ?)",
            (rowid, *(" ".join(stems) for stems in fields), at))
        async with connection.execute(f"SELECT block FROM {self.table}_data WHERE id = 1") as cursor:
            row = await cursor.fetchone()
        values = _varints(bytes(row[0])) if row and row[0] else []
        # The first documents have no others to compare with: each is then of average length.
        average = (sum(values[1:1 + len(self.fields)]) / values[0] if values and values[0]
                   else float(sum(len(stems) for stems in fields)))
        await self.headings.put(connection, rowid, fields, average)

    async def remove(self, connection: aiosqlite.Connection, rowid: int) -> None:
        await connection.execute(f"DELETE FROM {self.table} WHERE rowid = ?", (rowid,))
        await self.headings.remove(connection, rowid)

    async def drop_removed_words(self) -> None:
        """A removed document's words stay in FTS5's segments until they are merged: merged now
        (a forgotten member's name must not stay), in a transaction of its own."""
        async with self.database.transaction() as connection:
            await connection.execute(f"INSERT INTO {self.table} ({self.table}) VALUES ('optimize')")

    async def _rows(self, rowids: list[int]) -> dict[int, tuple[tuple[str, ...], float]]:
        if not rowids:
            return {}
        rows = await self.database.fetch_all(
            f"SELECT rowid, {', '.join(self.fields)}, at FROM {self.table}"
            f" WHERE rowid IN ({', '.join('?' * len(rowids))})", tuple(rowids))
        return {row[0]: (tuple(row[1:-1]), row[-1]) for row in rows}

    async def rank(self, terms: Sequence[Term], every: bool, limit: int, now: float,
                   within: Sequence[str] = ()) -> list[Ranked]:
        """The best `limit` documents holding every term (`every`), else any of them; only
        in the fields `within` when given."""
        if not terms:
            return []
        statistics = await self._statistics()
        if statistics is None:
            return []
        documents, lengths = statistics
        frequency = await self._frequencies(terms)
        wanted = max(limit, self.ranking.candidates)
        if cost(terms, every, frequency) <= self.ranking.exact_cost:
            scored = await self._rank_in_fts(terms, every, within, wanted)
            rows = await self._rows(list(scored))
            relevance = {rowid: (scored[rowid], fields, at) for rowid, (fields, at) in rows.items()}
        else:
            relevance = await self._rank_candidates(terms, every, within, wanted, frequency, documents, lengths)
        return best_first([Ranked(rowid, score * boost(self.ranking, terms, every, fields, at, now), at, fields)
                           for rowid, (score, fields, at) in relevance.items()], limit)

    async def _rank_in_fts(self, terms: Sequence[Term], every: bool, within: Sequence[str],
                           wanted: int) -> dict[int, float]:
        """bm25 over every match, by FTS5 itself."""
        weights = ", ".join(str(weight) for weight in self.ranking.weights)
        best = await self.database.fetch_all(
            f"SELECT rowid, bm25({self.table}, {weights}) AS relevance FROM {self.table}"
            f" WHERE {self.table} MATCH ? ORDER BY relevance LIMIT ?",
            (_match(terms, every, within), wanted))
        return {row[0]: -row[1] for row in best}

    async def _rank_candidates(self, terms: Sequence[Term], every: bool, within: Sequence[str], wanted: int,
                               frequency: dict[str, int], documents: int,
                               lengths: float) -> dict[int, tuple[float, tuple[str, ...], float]]:
        """bm25 over candidates: the best matches of the rarer words, else the documents
        whose headings hold the common words the most."""
        ranking = self.ranking
        # The rarest words, as many as FTS5 can rank every match of within its budget.
        selective = rarer_terms(terms, every, frequency, ranking.exact_cost)
        candidates: dict[int, None] = {}
        if selective:
            # bm25 of the rarer words only: the common ones would cost a read of all their postings.
            found = await self._rank_in_fts(selective, every, within, ranking.from_selective)
            candidates.update(dict.fromkeys(found))
        if not (selective and every):
            for term in terms:
                if term not in selective:
                    candidates.update(dict.fromkeys(await self.headings.headed_by(term)))
        rows = await self._rows(list(candidates))
        columns = [index for index, field in enumerate(self.fields) if not within or field in within]
        bm25 = Bm25(terms, every, columns, ranking.weights,
                    {phrase: idf(documents, count) for phrase, count in frequency.items()}, lengths / documents)
        scored = {}
        for rowid, (fields, at) in rows.items():
            score = bm25(fields)
            if score > 0:
                scored[rowid] = (score, fields, at)
        best = sorted(scored, key=lambda rowid: -scored[rowid][0])[:wanted]
        return {rowid: scored[rowid] for rowid in best}

    async def _statistics(self) -> tuple[int, float] | None:
        """How many documents, and their words in all: FTS5's own running totals."""
        row = await self.database.fetch_one(f"SELECT block FROM {self.table}_data WHERE id = 1")
        if row is None or not row[0]:
            return None
        totals = bytes(row[0])
        if totals != self._totals:  # the index changed: what was counted before may not hold
            self._totals, self._counted = totals, {}
        values = _varints(totals)
        if not values or values[0] == 0:
            return None
        return values[0], float(sum(values[1:1 + len(self.fields)])) or 1.0

    async def _frequencies(self, terms: Sequence[Term]) -> dict[str, int]:
        """How many documents hold each phrase of the terms: counted up to a bound, beyond
        which it is estimated from how far through the documents the bound was reached. (Call
        `_statistics` first: it forgets the counts when the index has changed.)"""
        uncounted = [phrase for phrase in dict.fromkeys(phrase for term in terms for phrase in phrases(term))
                     if phrase not in self._counted]
        if uncounted:
            bound = self.ranking.count_up_to
            probe = (f"SELECT count(*), max(rowid) FROM (SELECT rowid FROM {self.table}"
                     f" WHERE {self.table} MATCH ? LIMIT {bound + 1})")
            # Two statements, as SQLite finds a smallest and a largest id at once only by reading all.
            rows = await self.database.fetch_all(
                " UNION ALL ".join([probe] * len(uncounted)) +
                f" UNION ALL SELECT (SELECT min(id) FROM {self.table}_docsize),"
                f" (SELECT max(id) FROM {self.table}_docsize)",
                tuple(self._probed(phrase) for phrase in uncounted))
            first, last = rows[-1][0] or 0, rows[-1][1] or 0
            if len(self._counted) > _COUNTED_LIMIT:
                self._counted.clear()
            for phrase, (count, reached) in zip(uncounted, rows[:-1]):
                if count <= bound:
                    self._counted[phrase] = count
                else:
                    self._counted[phrase] = round(count * (last - first + 1) / max(1, reached - first + 1))
        return {phrase: self._counted[phrase] for term in terms for phrase in phrases(term)}

    def _probed(self, phrase: str) -> str:
        """A prefix as long as one FTS5 keeps an index of, at most as long as the phrase's
        (a prefix of another length makes FTS5 gather every word starting with it first):
        it may count more documents, never fewer."""
        if not phrase.endswith(" *"):
            return phrase
        prefix = phrase[1:-3].replace('""', '"')
        lengths = [length for length in self.ranking.prefix_index if length <= len(prefix)]
        return quote(prefix[:max(lengths)]) + " *" if lengths else phrase


def _match(terms: Sequence[Term], every: bool, within: Sequence[str]) -> str:
    expression = (" AND " if every else " OR ").join(_expression(term) for term in terms)
    if within:
        expression = "{" + " ".join(within) + "} : (" + expression + ")"
    return expression


def _varints(data: bytes) -> list[int]:
    """SQLite's variable-length integers, as FTS5 stores its totals."""
    values, position = [], 0
    while position < len(data):
        value = 0
        for index in range(9):
            byte = data[position]
            position += 1
            if index == 8:
                value = (value << 8) | byte
                break
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                break
        values.append(value)
    return values


def _expression(term: Term) -> str:
    return "(" + " OR ".join(phrases(term)) + ")"
