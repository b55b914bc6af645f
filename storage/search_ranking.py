"""What both full-text indexes of stemmed documents share (storage/search_index.py on SQLite's
FTS5, storage/search_index_pg.py on PostgreSQL): the terms of a search, bm25 over a document's
stems with a weight per field (FTS5's own formula and constants, so that scores computed here
rank as FTS5's do), and the boosts bm25 cannot see. Pure functions: no database.

A phrase is written as FTS5 reads it (`"cash transfer"`, or `"educ" *` for a prefix): that is
also how the indexes name it when they count the documents that hold it."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

YEAR = 365.25 * 86400

# FTS5's bm25 constants (fts5_aux.c).
K1, B = 1.2, 0.75
# What scoring one match costs beside reading one posting.
SCORE_COST = 25


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
    # What the index may spend ranking every match itself, in postings read (each word's postings
    # to weigh it) plus 25 per match scored (what scoring one costs beside reading one posting).
    exact_cost: int = 60_000
    count_up_to: int = 3_000  # documents holding a word are counted up to this, then estimated
    from_selective: int = 60  # candidates from bm25 of the rarer words
    from_headings: int = 30  # per common word, candidates from the headings list
    prefix_index: tuple[int, ...] = (4, 6)  # FTS5's `prefix` option (SQLite only)


def phrases(term: Term) -> list[str]:
    """The term's phrases as FTS5 sees them (each weighed by bm25 on its own)."""
    found = [quote(" ".join(form)) for form in term.forms]
    if term.prefix:
        found.append(quote(term.prefix) + " *")
    return found


def quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def unquoted(phrase: str) -> tuple[str, bool]:
    """A phrase's stems (space-separated), and whether it is a prefix."""
    if phrase.endswith(" *"):
        return phrase[1:-3].replace('""', '"'), True
    return phrase[1:-1].replace('""', '"'), False


def idf(documents: int, count: int) -> float:
    count = min(count, documents)  # an estimated count may be over
    value = math.log((documents - count + 0.5) / (count + 0.5))
    return value if value > 0 else 1e-6  # as FTS5 does: a word in most documents says almost nothing


def postings(term: Term, frequency: dict[str, int]) -> int:
    return sum(frequency[phrase] for phrase in phrases(term))


def cost(terms: Sequence[Term], every: bool, frequency: dict[str, int]) -> int:
    """What ranking every match costs, in postings read plus matches scored."""
    per_term = [postings(term, frequency) for term in terms]
    matches = min(per_term) if every else sum(per_term)
    return sum(per_term) + SCORE_COST * matches


def rarer_terms(terms: Sequence[Term], every: bool, frequency: dict[str, int], budget: int) -> list[Term]:
    """The rarest terms, as many as every match of them can be ranked within the budget."""
    selective: list[Term] = []
    reads = matches = 0
    by_rarity = sorted(((postings(term, frequency), term) for term in terms), key=lambda pair: pair[0])
    for count, term in by_rarity:
        matches = (matches or count) if every else matches + count
        reads += count
        if reads + SCORE_COST * matches > budget:
            break
        selective.append(term)
    return selective


class Bm25:
    """bm25 of documents for the terms of one search (each phrase weighed on its own), counting
    the fields `columns` only: 0 for a document that does not hold every term (`every`) or none."""

    def __init__(self, terms: Sequence[Term], every: bool, columns: Sequence[int], weights: Sequence[float],
                 idfs: dict[str, float], average: float) -> None:
        # Each phrase as it is found in a field's stems with a space on each side ("educ" of a
        # prefix starts a stem), once; and per term, its phrases' places in that list, with their idf.
        self._needles: list[str] = []
        self._terms: list[list[tuple[int, float]]] = []
        for term in terms:
            self._terms.append([])
            for phrase in phrases(term):
                self._terms[-1].append((len(self._needles), idfs[phrase]))
                self._needles.append(_needle(phrase))
        self._columns = list(columns)
        self._weights = [weights[column] for column in columns]
        self._every = every
        self._average = average

    def __call__(self, fields: Sequence[str]) -> float:
        padded = [f" {field} " for field in fields]
        whole = "".join(padded)  # most phrases are in none of a document's fields: seen at once
        # How often each needle is in each column (None: in none of the fields).
        counts = [[padded[column].count(needle) for column in self._columns] if needle in whole else None
                  for needle in self._needles]
        length = sum(field.count(" ") + 1 for field in fields if field)
        norm = K1 * (1 - B + B * length / self._average)
        score, held = 0.0, 0
        for term in self._terms:
            found = False
            for needle, rarity in term:
                found_in = counts[needle]
                if found_in is None:
                    continue
                weighted = sum(weight * count for weight, count in zip(self._weights, found_in))
                if weighted:
                    found = True
                    score += rarity * weighted * (K1 + 1) / (weighted + norm)
            held += found
        if score > 0 and (held == len(self._terms) or not self._every):
            return score
        return 0.0


def _needle(phrase: str) -> str:
    text, prefix = unquoted(phrase)
    return " " + text if prefix else " " + text + " "


def heading_weights(ranking: Ranking, fields: Sequence[Sequence[str]], average: float) -> dict[str, float]:
    """Each stem of the headings, with its bm25 weight in the whole document (without its
    rarity, which changes as documents come and go)."""
    counts = [Counter(stems) for stems in fields]
    norm = K1 * (1 - B + B * sum(len(stems) for stems in fields) / max(average, 1.0))
    weights = {}
    for stem in {stem for stems in fields[:ranking.headings] for stem in stems}:
        weighted = sum(weight * count[stem] for weight, count in zip(ranking.weights, counts))
        weights[stem] = weighted * (K1 + 1) / (weighted + norm)
    return weights


def boost(ranking: Ranking, terms: Sequence[Term], every: bool, fields: tuple[str, ...], at: float,
          now: float) -> float:
    """What bm25 cannot see: recency, words side by side, and (any word may match) the share found."""
    text = " " + " ".join(fields) + " "
    age = max(0.0, now - at) / YEAR
    factor = 1.0 + ranking.recency * 0.5 ** (age / ranking.half_life_years)
    side_by_side = sum(1 for first, second in zip(terms, terms[1:]) if _neighbours(first, second, fields))
    factor *= 1.0 + ranking.phrase * side_by_side
    if not every:
        found = sum(1 for term in terms if _found(term, text))
        # Any word may match, but a document with more of them answers more of the question.
        factor *= math.pow(found / len(terms), 1.5)
    return factor


def best_first(ranked: list[Ranked], limit: int) -> list[Ranked]:
    return sorted(ranked, key=lambda document: (-document.score, -document.at, -document.rowid))[:limit]


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
