"""Search time of the archive at 100,000 published consolidated replies.

    .venv/bin/python bench/archive_search.py [--rows 100000] [--queries 500] [--db PATH]

Fills a fresh SQLite file with synthetic consolidated replies (deterministic, from a seed),
then times `SqliteArchive.search` (stemmed, bm25; see storage/search_index.py) end to end and prints the
median and 95th percentile, the database's size, and PASS or FAIL against the 20 ms target at the
95th percentile. `--db PATH` keeps the filled database, and a second run with it only searches.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services.archive import ArchivedReply  # noqa: E402
from storage.archive import SqliteArchive  # noqa: E402
from storage.database import Database  # noqa: E402

TARGET_P95_MS = 20.0
TOPICS = ("cash transfers", "child poverty", "social protection", "nutrition", "education", "disability",
          "refugee children", "early childhood", "child labour", "birth registration", "inflation", "adolescents",
          "universal child benefit", "graduation programmes", "school feeding", "health insurance", "violence",
          "parenting", "climate shocks", "urban poverty", "indigenous communities", "girls' education")
WORDS = ("programme ministry household payment targeting registry eligibility coverage evaluation evidence "
         "district community rural urban mobile money agent outreach enrolment benefit allowance conditional "
         "unconditional grant pilot scale budget financing indexation poverty line multidimensional survey "
         "deprivation monitoring case management referral caseworker school clinic stunting wasting vaccination "
         "attendance dropout labour protection shock drought flood resilience gender mothers fathers caregivers "
         "disability assessment transport fees uniforms meals counselling nutrition supplement inflation adjustment "
         "legal framework parliament advocacy coalition report indicator dashboard data privacy consent").split()
NAMES = ("Amina", "Kwame", "Maria", "Chen", "Sofía", "Omar", "Claire", "Aroha", "Nadia", "Juan", "Grace", "Elena")
COUNTRIES = ("Nigeria", "Ghana", "Brazil", "China", "Mexico", "Jordan", "France", "New Zealand", "Bangladesh",
             "Chile", "Kenya", "Romania", "Nepal", "Peru", "India")


SYLLABLES = ("ka", "lo", "mi", "ra", "te", "su", "no", "vi", "de", "pa", "ri", "an", "el", "or", "um", "is")


def vocabulary(rng: random.Random, size: int = 6000) -> list[str]:
    """Real text is Zipfian: a few words everywhere, most words rare. The project's own
    vocabulary comes first (the most frequent), then made-up words for the long tail."""
    words = list(WORDS)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in words:
            words.append(word)
    return words


def zipf_weights(size: int, exponent: float = 1.07) -> list[float]:
    return [1.0 / (rank ** exponent) for rank in range(1, size + 1)]


class Text:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.words = vocabulary(rng)
        self.cumulative = list(__import__("itertools").accumulate(zipf_weights(len(self.words))))

    def word(self) -> str:
        return self.rng.choices(self.words, cum_weights=self.cumulative)[0]

    def sentence(self) -> str:
        # One draw of many words takes the same random numbers as many draws of one.
        words = self.rng.choices(self.words, cum_weights=self.cumulative, k=self.rng.randint(8, 16))
        words.insert(self.rng.randrange(len(words)), self.rng.choice(TOPICS))
        return " ".join(words).capitalize() + "."


def reply(text: Text, number: int, now: float) -> ArchivedReply:
    rng = text.rng
    topic = rng.choice(TOPICS)
    question = f"How do countries handle {topic} in {text.word()} {text.word()}? " + text.sentence()
    contributions = "\n\n".join(
        f"{rng.choice(NAMES)} ({rng.choice(COUNTRIES)}): " + " ".join(text.sentence() for _ in range(rng.randint(2, 6)))
        for _ in range(rng.randint(2, 6))
    )
    summary = "\n".join(text.sentence() for _ in range(rng.randint(3, 7)))
    return ArchivedReply(number, question.split("?")[0] + "?", question, summary, contributions, "en",
                         now - rng.uniform(0, 5 * 365 * 86400))


def queries(text: Text, count: int) -> list[str]:
    """What members type: topics, a few words (common ones as often as they occur),
    punctuation and operators, and words still being typed."""
    rng, made = text.rng, []
    for _ in range(count):
        kind = rng.random()
        if kind < 0.3:
            made.append(rng.choice(TOPICS))
        elif kind < 0.8:
            made.append(" ".join(text.word() for _ in range(rng.randint(1, 3))))
        elif kind < 0.9:
            made.append(f'"{text.word()}" AND ({text.word()}*) -- {rng.choice(NAMES)}?')
        else:
            made.append(text.word()[:5])  # a word still being typed
    return made


async def fill(archive: SqliteArchive, database: Database, rows: int, text: Text) -> float:
    started = time.perf_counter()
    now = time.time()
    await database.connection.execute("INSERT INTO member (id, name, joined_at) VALUES (1, 'Bench', 0)")
    batch = 10_000
    for first in range(1, rows + 1, batch):
        numbers = range(first, min(rows, first + batch - 1) + 1)
        async with database.transaction() as connection:
            await connection.executemany(
                "INSERT INTO discussion (id, asker_id, text, state, created_at) VALUES (?, 1, 'q', 'published', 0)",
                [(number,) for number in numbers])
        await archive.add_many([reply(text, number, now) for number in numbers])
    await database.connection.execute("INSERT INTO archive_search (archive_search) VALUES ('optimize')")
    return time.perf_counter() - started


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--db", type=Path, help="keep the database there; an existing one is reused, not refilled")
    arguments = parser.parse_args()
    text = Text(random.Random(20261123))
    directory = tempfile.mkdtemp(prefix="archive-bench-")
    path = arguments.db or Path(directory) / "archive.db"
    reuse = path.exists()
    database = await Database.open(path)
    archive = SqliteArchive(database)
    if reuse:
        fill_seconds = 0.0
        for _ in range(arguments.rows):  # the query stream follows the fill's random draws
            reply(text, 0, 0.0)
    else:
        fill_seconds = await fill(archive, database, arguments.rows, text)
    await database.connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size_mb = sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1e6

    times, found = [], 0
    for query in queries(text, arguments.queries):
        started = time.perf_counter()
        hits = await archive.search(query)
        times.append((time.perf_counter() - started) * 1000)
        found += bool(hits)
    await database.close()
    times.sort()
    p50 = statistics.median(times)
    p95 = times[int(len(times) * 0.95) - 1]
    print(f"rows:              {arguments.rows:,}")
    print(f"fill time:         {fill_seconds:.1f} s" + (" (reused the database)" if reuse else ""))
    print(f"database size:     {size_mb:.1f} MB")
    print(f"queries:           {len(times)} ({found} with results)")
    print(f"search median:     {p50:.2f} ms")
    print(f"search p95:        {p95:.2f} ms")
    print(f"search max:        {times[-1]:.2f} ms")
    print(f"target p95 < {TARGET_P95_MS:.0f} ms: {'PASS' if p95 < TARGET_P95_MS else 'FAIL'}")
    if not arguments.db:
        for leftover in Path(directory).iterdir():
            os.unlink(leftover)
        os.rmdir(directory)


if __name__ == "__main__":
    asyncio.run(main())
