"""The consolidated reply's summary: a few key sentences chosen from the replies, each
credited to its author. Extractive, offline and deterministic: TF-IDF vectors of the
sentences, scored by closeness to the replies' centroid and to the question, then chosen
one by one with maximal marginal relevance so the points differ and cover several authors."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Sequence

MIN_POINTS, MAX_POINTS = 3, 7
MIN_WORDS = 4
NEAR_DUPLICATE = 0.8
_WORD = re.compile(r"\w+", re.UNICODE)
# Sentence ends: Latin, Arabic, CJK; not after common abbreviations (handled below).
_END = re.compile(r"(?<=[.!?؟۔。！？])[\"'”’)\]]*\s+|(?<=[。！？])")
_ABBREVIATIONS = {"e.g.", "i.e.", "dr.", "mr.", "mrs.", "ms.", "etc.", "vs.", "no.", "p.", "fig.", "approx.",
                  "p.ex.", "ex.", "cf.", "sr.", "sra.", "st."}
_STOPWORDS = frozenset("""
a an and are as at be been but by can could do does for from had has have he her his how i if in into is it its
of on or our she so that the their them there these they this those to was we were what when where which who
why will with would you your also more most other some such than then very just about all any not no
de des du la le les un une et en est que qui dans pour par sur au aux avec ce ces il elle ils nous vous on pas
ne se sa son ses leur leurs mais ou
el los las del y en por para con como una unos se es al lo le su sus pero más
o os as um uma com em do da dos das no na nos nas ao aos pelo pela
في من على إلى عن مع هذا هذه ذلك التي الذي أن إن كان و أو ما لا
""".split())


@dataclass(frozen=True)
class KeyPoint:
    sentence: str
    author: str


@dataclass(frozen=True)
class _Sentence:
    text: str
    author: str
    order: int
    terms: Counter


def summarize(question: str, contributions: Sequence[tuple[str, str]], most: int = MAX_POINTS) -> list[KeyPoint]:
    """Key points of the contributions, (author, text) pairs, in the order they were chosen."""
    sentences = [s for s in _sentences(contributions) if sum(s.terms.values()) >= 1]
    if not sentences:
        return []
    usable = [s for s in sentences if len(_WORD.findall(s.text)) >= MIN_WORDS] or sentences
    wanted = min(most, max(MIN_POINTS, round(math.sqrt(len(usable)) + 1)), len(usable))
    idf = _idf(usable)
    vectors = [_vector(s.terms, idf) for s in usable]
    centroid = _normalise(_add(vectors))
    question_vector = _vector(Counter(_terms(question)), idf)
    relevance = [0.7 * _cosine(v, centroid) + 0.3 * _cosine(v, question_vector) for v in vectors]

    candidates = set(range(len(usable)))
    chosen: list[int] = []
    authors: Counter = Counter()

    def redundancy(index: int) -> float:
        return max((_cosine(vectors[index], vectors[other]) for other in chosen), default=0.0)

    def score(index: int) -> tuple[float, int]:
        # A small nudge towards authors not yet quoted, so the points cover the discussion;
        # ties go to the earlier sentence, so the result never depends on set order.
        value = 0.7 * relevance[index] - 0.3 * redundancy(index) - 0.05 * authors[usable[index].author]
        return round(value, 12), -index

    while candidates and len(chosen) < wanted:
        best = max(candidates, key=score)
        candidates.discard(best)
        if redundancy(best) > NEAR_DUPLICATE:
            continue
        chosen.append(best)
        authors[usable[best].author] += 1
    return [KeyPoint(usable[index].text, usable[index].author) for index in chosen]


def covers(summary: str, text: str) -> bool:
    """Whether every sentence of the text is in the summary, whatever the credits added to
    them: a short reply taken whole need not be repeated in full under the key points."""
    held = " ".join(summary.split())
    return all(sentence.rstrip(".。۔").strip() in held for sentence in _split(text))


def _sentences(contributions: Sequence[tuple[str, str]]) -> list[_Sentence]:
    found = []
    for author, text in contributions:
        for piece in _split(text):
            terms = Counter(_terms(piece))
            if terms:
                found.append(_Sentence(piece, author, len(found), terms))
    return found


def _split(text: str) -> list[str]:
    pieces: list[str] = []
    for paragraph in re.split(r"\n\s*\n|\n(?=\s*[-•*]\s)", text):
        paragraph = " ".join(paragraph.split()).lstrip("-•* ")
        if not paragraph:
            continue
        start = 0
        for match in _END.finditer(paragraph):
            candidate = paragraph[start:match.start()].strip()
            last_word = candidate.rsplit(" ", 1)[-1].casefold() if candidate else ""
            if last_word in _ABBREVIATIONS or re.fullmatch(r"\w\.", last_word):
                continue
            if candidate:
                pieces.append(candidate)
            start = match.end()
        rest = paragraph[start:].strip()
        if rest:
            pieces.append(rest)
    return pieces


def _terms(text: str) -> list[str]:
    return [w for w in (m.casefold() for m in _WORD.findall(text)) if w not in _STOPWORDS and not w.isdigit()]


def _idf(sentences: Sequence[_Sentence]) -> dict[str, float]:
    frequency: Counter = Counter()
    for sentence in sentences:
        frequency.update(set(sentence.terms))
    count = len(sentences)
    return {term: math.log((1 + count) / (1 + n)) + 1.0 for term, n in frequency.items()}


def _vector(terms: Counter, idf: dict[str, float]) -> dict[str, float]:
    return _normalise({term: n * idf.get(term, 1.0) for term, n in terms.items()})


def _add(vectors: Sequence[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for vector in vectors:
        for term, weight in vector.items():
            total[term] = total.get(term, 0.0) + weight
    return total


def _normalise(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {term: w / norm for term, w in vector.items()} if norm else {}


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(term, 0.0) for term, w in a.items())
