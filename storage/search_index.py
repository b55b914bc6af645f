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
what they can add is found where they count most, in a document's title and question."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

import aiosqlite

from storage.database import Database

YEAR = 365.25 * 86400


@dataclass(frozen=True)
class Term:
    """What one word (or quoted phrase) of a search may match: any of its forms (a form of
    several stems is a phrase), or, when `prefix` is set, any stem starting with it."""
    forms: tuple[tuple[str, ...], ...]
    prefix: str = ""


@dataclass(frozen=True)
class Ranked:
    rowid: int
    score: float  # higher is better
    at: float
    fields: tuple[str, ...]  # the document's stems, per field


@dataclass(frozen=True)
class Ranking:
    weights: tuple[float, ...]  # bm25's, per field
    candidates: int = 40  # how many of bm25's best are re-ranked
    recency: float = 0.12  # at most this share added to a brand-new document's score...
    half_life_years: float = 2.0  # ...halved every this many years
    phrase: float = 0.3  # added for each pair of neighbouring words found side by side
    headings: int = 2  # the first this many fields are the document's headings
    # What FTS5 may spend ranking every match itself, in postings read (each word's postings
    # to weigh it) plus 25 per match scored (what scoring one costs beside reading one posting).
    exact_cost: int = 60_000
    count_up_to: int = 3_000  # documents holding a word are counted up to this, then estimated
    from_selective: int = 60  # candidates from FTS5's bm25 of the rarer words
    from_headings: int = 30  # per common word, candidates from the headings list
    prefix_index: tuple[int, ...] = (4, 6)  # the table's `prefix` option


# FTS5's bm25 constants (fts5_aux.c), so that scores computed here rank like its own.
_K1, _B = 1.2, 0.75
_SCORE_COST = 25
# How far a prefix ("educa") is spelled out into the stems of the headings that start with it.
_PREFIX_STEMS = 12
_COUNTED_LIMIT = 50_000


class StemmedIndex:
    def __init__(self, database: Database, table: str, fields: Sequence[str], ranking: Ranking) -> None:
        if len(ranking.weights) != len(fields):
            raise ValueError(f"{table}: one weight per field")
        self.database = database
        self.table = table
        self.fields = tuple(fields)
        self.ranking = ranking
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
        await connection.executemany(
            f"INSERT INTO {self.table}_headings (stem, weight, doc) VALUES (?, ?, ?)",
            [(stem, weight, rowid) for stem, weight in self._heading_weights(fields, average).items()])

    def _heading_weights(self, fields: Sequence[Sequence[str]], average: float) -> dict[str, float]:
        """Each stem of the headings, with its bm25 weight in the whole document (without its
        rarity, which changes as documents come and go)."""
        counts = [Counter(stems) for stems in fields]
        norm = _K1 * (1 - _B + _B * sum(len(stems) for stems in fields) / max(average, 1.0))
        weights = {}
        for stem in {stem for stems in fields[:self.ranking.headings] for stem in stems}:
            weighted = sum(weight * count[stem] for weight, count in zip(self.ranking.weights, counts))
            weights[stem] = weighted * (_K1 + 1) / (weighted + norm)
        return weights

    async def remove(self, connection: aiosqlite.Connection, rowid: int) -> None:
        await connection.execute(f"DELETE FROM {self.table} WHERE rowid = ?", (rowid,))
        await connection.execute(f"DELETE FROM {self.table}_headings WHERE doc = ?", (rowid,))

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
        if self._cost(terms, every, frequency) <= self.ranking.exact_cost:
            scored = await self._rank_in_fts(terms, every, within, wanted)
            rows = await self._rows(list(scored))
            relevance = {rowid: (scored[rowid], fields, at) for rowid, (fields, at) in rows.items()}
        else:
            relevance = await self._rank_candidates(terms, every, within, wanted, frequency, documents, lengths)
        ranked = [Ranked(rowid, score * self._boost(terms, every, fields, at, now), at, fields)
                  for rowid, (score, fields, at) in relevance.items()]
        ranked.sort(key=lambda document: (-document.score, -document.at, -document.rowid))
        return ranked[:limit]

    @staticmethod
    def _postings(term: Term, frequency: dict[str, int]) -> int:
        return sum(frequency[phrase] for phrase in _phrases(term))

    def _cost(self, terms: Sequence[Term], every: bool, frequency: dict[str, int]) -> int:
        per_term = [self._postings(term, frequency) for term in terms]
        matches = min(per_term) if every else sum(per_term)
        return sum(per_term) + _SCORE_COST * matches

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
        selective: list[Term] = []
        reads = matches = 0
        by_rarity = sorted(((self._postings(term, frequency), term) for term in terms), key=lambda pair: pair[0])
        for count, term in by_rarity:
            matches = (matches or count) if every else matches + count
            reads += count
            if reads + _SCORE_COST * matches > ranking.exact_cost:
                break
            selective.append(term)
        candidates: dict[int, None] = {}
        if selective:
            # bm25 of the rarer words only: the common ones would cost a read of all their postings.
            found = await self._rank_in_fts(selective, every, within, ranking.from_selective)
            candidates.update(dict.fromkeys(found))
        if not (selective and every):
            for term in terms:
                if term not in selective:
                    candidates.update(dict.fromkeys(await self._headed_by(term)))
        rows = await self._rows(list(candidates))
        columns = [index for index, field in enumerate(self.fields) if not within or field in within]
        idf = {phrase: _idf(documents, count) for phrase, count in frequency.items()}
        average = lengths / documents
        scored = {}
        for rowid, (fields, at) in rows.items():
            padded = [f" {field} " for field in fields]
            length = sum(field.count(" ") + 1 for field in fields if field)
            norm = _K1 * (1 - _B + _B * length / average)
            score, held = 0.0, 0
            for term in terms:
                found = False
                for phrase in _phrases(term):
                    weighted = sum(ranking.weights[column] * _occurrences(phrase, padded[column])
                                   for column in columns)
                    if weighted:
                        found = True
                        score += idf[phrase] * weighted * (_K1 + 1) / (weighted + norm)
                held += found
            if score > 0 and (held == len(terms) or not every):
                scored[rowid] = (score, fields, at)
        best = sorted(scored, key=lambda rowid: -scored[rowid][0])[:wanted]
        return {rowid: scored[rowid] for rowid in best}

    async def _headed_by(self, term: Term) -> list[int]:
        """The documents whose headings hold the term's stems the most."""
        # A phrase's documents hold its first word; a prefix's, one of the stems it starts.
        stems = list(dict.fromkeys([form[0] for form in term.forms] + await self._spelled_out(term.prefix)))
        best = f"SELECT doc, weight FROM (SELECT doc, weight FROM {self.table}_headings WHERE stem = ?" \
               " ORDER BY weight DESC LIMIT ?)"
        rows = await self.database.fetch_all(
            " UNION ALL ".join([best] * len(stems)) + " ORDER BY weight DESC LIMIT ?",
            (*(value for stem in stems for value in (stem, self.ranking.from_headings)), self.ranking.from_headings))
        return list(dict.fromkeys(row[0] for row in rows))

    async def _spelled_out(self, prefix: str) -> list[str]:
        """The first stems of the headings that start with the prefix, one index step each."""
        if not prefix:
            return []
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = await self.database.fetch_all(
            f"WITH RECURSIVE found (stem) AS (SELECT min(stem) FROM {self.table}_headings"
            f" WHERE stem >= :prefix AND stem < :end UNION ALL SELECT (SELECT min(stem) FROM {self.table}_headings"
            f" WHERE stem > found.stem AND stem < :end) FROM found WHERE found.stem IS NOT NULL LIMIT :most)"
            f" SELECT stem FROM found WHERE stem IS NOT NULL", {"prefix": prefix, "end": end, "most": _PREFIX_STEMS})
        return [row[0] for row in rows]

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
        phrases = [phrase for phrase in dict.fromkeys(phrase for term in terms for phrase in _phrases(term))
                   if phrase not in self._counted]
        if phrases:
            bound = self.ranking.count_up_to
            probe = (f"SELECT count(*), max(rowid) FROM (SELECT rowid FROM {self.table}"
                     f" WHERE {self.table} MATCH ? LIMIT {bound + 1})")
            # Two statements, as SQLite finds a smallest and a largest id at once only by reading all.
            rows = await self.database.fetch_all(
                " UNION ALL ".join([probe] * len(phrases)) +
                f" UNION ALL SELECT (SELECT min(id) FROM {self.table}_docsize),"
                f" (SELECT max(id) FROM {self.table}_docsize)",
                tuple(self._probed(phrase) for phrase in phrases))
            first, last = rows[-1][0] or 0, rows[-1][1] or 0
            if len(self._counted) > _COUNTED_LIMIT:
                self._counted.clear()
            for phrase, (count, reached) in zip(phrases, rows[:-1]):
                if count <= bound:
                    self._counted[phrase] = count
                else:
                    self._counted[phrase] = round(count * (last - first + 1) / max(1, reached - first + 1))
        return {phrase: self._counted[phrase] for term in terms for phrase in _phrases(term)}

    def _probed(self, phrase: str) -> str:
        """A prefix as long as one FTS5 keeps an index of, at most as long as the phrase's
        (a prefix of another length makes FTS5 gather every word starting with it first):
        it may count more documents, never fewer."""
        if not phrase.endswith(" *"):
            return phrase
        prefix = phrase[1:-3].replace('""', '"')
        lengths = [length for length in self.ranking.prefix_index if length <= len(prefix)]
        return _quote(prefix[:max(lengths)]) + " *" if lengths else phrase

    def _boost(self, terms: Sequence[Term], every: bool, fields: tuple[str, ...], at: float, now: float) -> float:
        ranking = self.ranking
        text = " " + " ".join(fields) + " "
        age = max(0.0, now - at) / YEAR
        boost = 1.0 + ranking.recency * 0.5 ** (age / ranking.half_life_years)
        side_by_side = sum(1 for first, second in zip(terms, terms[1:]) if _neighbours(first, second, fields))
        boost *= 1.0 + ranking.phrase * side_by_side
        if not every:
            found = sum(1 for term in terms if _found(term, text))
            # Any word may match, but a document with more of them answers more of the question.
            boost *= math.pow(found / len(terms), 1.5)
        return boost


def _match(terms: Sequence[Term], every: bool, within: Sequence[str]) -> str:
    expression = (" AND " if every else " OR ").join(_expression(term) for term in terms)
    if within:
        expression = "{" + " ".join(within) + "} : (" + expression + ")"
    return expression


def _phrases(term: Term) -> list[str]:
    """The term's phrases as FTS5 sees them (each weighed by bm25 on its own)."""
    phrases = [_quote(" ".join(form)) for form in term.forms]
    if term.prefix:
        phrases.append(_quote(term.prefix) + " *")
    return phrases


def _occurrences(phrase: str, padded: str) -> int:
    if phrase.endswith(" *"):
        return len(re.findall(r"(?<= )" + re.escape(phrase[1:-3].replace('""', '"')), padded))
    return padded.count(" " + phrase[1:-1].replace('""', '"') + " ")


def _idf(documents: int, count: int) -> float:
    idf = math.log((documents - count + 0.5) / (count + 0.5))
    return idf if idf > 0 else 1e-6  # as FTS5 does: a word in most documents says almost nothing


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
    return "(" + " OR ".join(_phrases(term)) + ")"


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _found(term: Term, text: str) -> bool:
    if any(f" {' '.join(form)} " in text for form in term.forms):
        return True
    return bool(term.prefix) and f" {term.prefix}" in text


def _neighbours(first: Term, second: Term, fields: tuple[str, ...]) -> bool:
    for left in first.forms:
        for right in second.forms:
            pair = f" {' '.join(left)} {' '.join(right)} "
            if any(pair in f" {field} " for field in fields):
                return True
    return False
