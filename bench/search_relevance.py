"""How often search finds what a member needs: our search beside plain FTS5 bm25.

    .venv/bin/python bench/search_relevance.py [--seed 7] [--fillers 1900] [--show-misses]
        [--postgresql postgresql://user@host:port/db]

Builds an archive (deterministic from the seed) from bench/relevance/topics.json: replies on
about thirty subjects, in English, French, Spanish and Portuguese, old and new, long and short,
some near-duplicates; and many replies on other things that share the network's common words
("children", "programme", "payments"), mostly newer. The questions of
bench/relevance/judgements.json are judged relevant to the replies of one subject (written
before the search was tuned). Prints nDCG@10 and success@5 (the share of questions with a
relevant reply among the first five) for:

  our search       SqliteArchive.search (stems, stopwords, bm25 over every match, ...)
  ours, PostgreSQL the same search on PostgreSQL's index (with --postgresql: in a database of its
                   own, made on that server and dropped at the end)
  plain bm25 AND   FTS5's default tokenizer over the same fields, every word, ORDER BY bm25
  plain bm25 OR    the same, any of the words (a kinder baseline: long questions find something)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.clock import Clock  # noqa: E402
from bot.services.archive import ArchivedReply  # noqa: E402
from storage.archive import SqliteArchive  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.postgres import PostgresDatabase  # noqa: E402

HERE = Path(__file__).resolve().parent / "relevance"
NOW = datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp()
YEAR = 365.25 * 86400
NAMES = ("Amina", "Kwame", "Maria", "Chen", "Sofía", "Omar", "Claire", "Aroha", "Nadia", "Juan", "Grace", "Elena",
         "Thabo", "Lucía", "João", "Fatou", "Priya", "Ahmed")
COUNTRIES = ("Nigeria", "Ghana", "Brazil", "Mexico", "Jordan", "France", "Bangladesh", "Chile", "Kenya", "Senegal",
             "Peru", "India", "Mozambique", "Colombia", "Morocco", "Nepal")
# Replies about other things, in the network's everyday words.
FILLER_THEMES = {
    "en": ["Webinar notes: {x}", "News from members in {c}", "Annual meeting: {x}", "Members' survey on {x}",
           "Call for case studies on {x}", "Report launch: {x}"],
    "fr": ["Notes du webinaire : {x}", "Nouvelles des membres au {c}", "Réunion annuelle : {x}"],
    "es": ["Notas del seminario web: {x}", "Noticias de los miembros en {c}", "Reunión anual: {x}"],
    "pt": ["Notas do webinário: {x}", "Notícias dos membros no {c}", "Reunião anual: {x}"],
}
FILLER_SUBJECTS = {
    "en": ["the network's governance", "the newsletter", "translation volunteers", "conference travel",
           "reporting templates", "research methods", "staff wellbeing", "fundraising", "our communication strategy",
           "the members' directory", "project management", "the website"],
    "fr": ["la gouvernance du réseau", "la lettre d'information", "les bénévoles traducteurs", "la collecte de fonds"],
    "es": ["la gobernanza de la red", "el boletín", "los voluntarios de traducción", "la recaudación de fondos"],
    "pt": ["a governança da rede", "o boletim", "os voluntários de tradução", "a captação de recursos"],
}
FILLER_SENTENCES = {
    "en": ["Members discussed how programmes for children and families can learn from each other.",
           "The ministry and partners shared reports on the programme's progress this year.",
           "Several members asked about school, health and payments data in their countries.",
           "Thank you to everyone who joined the call and shared their experience.",
           "The next webinar will look at evidence from cash and care programmes for children.",
           "Please send your questions about the network and its work to the facilitators.",
           "We updated the list of members working on social protection and child poverty.",
           "Government officials, researchers and NGOs took part in the discussion.",
           "A short summary of the recording is available in the library.",
           "Families, communities and children were at the centre of the conversation.",
           "The coordination team will share the slides and the list of participants.",
           "Members from twenty countries took part and many more followed online."],
    "fr": ["Les membres ont discuté de la façon dont les programmes pour les enfants et les familles apprennent.",
           "Le ministère et ses partenaires ont présenté les rapports du programme.",
           "Merci à toutes et à tous d'avoir participé à l'appel.",
           "Plusieurs membres ont posé des questions sur l'école, la santé et les paiements.",
           "Le prochain webinaire portera sur la protection sociale des enfants."],
    "es": ["Los miembros hablaron de cómo los programas para niños y familias pueden aprender unos de otros.",
           "El ministerio y sus socios presentaron informes sobre el programa.",
           "Gracias a todas las personas que participaron en la llamada.",
           "Varios miembros preguntaron por la escuela, la salud y los pagos.",
           "El próximo seminario web tratará la protección social de la infancia."],
    "pt": ["Os membros discutiram como os programas para crianças e famílias podem aprender uns com os outros.",
           "O ministério e os parceiros apresentaram relatórios sobre o programa.",
           "Obrigado a todas as pessoas que participaram da chamada.",
           "Vários membros perguntaram sobre escola, saúde e pagamentos.",
           "O próximo webinário tratará da proteção social das crianças."],
}
QUESTION_FORMS = {"en": "What has the network learned about {t}?", "fr": "Qu'a appris le réseau : {t} ?",
                  "es": "¿Qué ha aprendido la red sobre esto: {t}?", "pt": "O que a rede aprendeu sobre: {t}?"}


@dataclass(frozen=True)
class Document:
    source_id: str
    subject: str  # "" for the replies about other things
    reply: ArchivedReply


class FixedClock(Clock):
    def now(self) -> float:
        return NOW

    async def sleep(self, seconds: float) -> None:
        return None


def build(seed: int, fillers: int) -> list[Document]:
    rng = random.Random(seed)
    subjects = json.loads((HERE / "topics.json").read_text(encoding="utf-8"))["subjects"]
    documents: list[Document] = []
    for key, subject in subjects.items():
        languages = [language for language in ("en", "fr", "es", "pt") if language in subject]
        for number in range(rng.randint(5, 9)):
            language = "en" if number < 2 or rng.random() < 0.45 else rng.choice(languages)
            texts = subject[language]
            age = rng.uniform(8, 13) if subject.get("old") else rng.uniform(0.2, 11)
            if documents and documents[-1].subject == key and rng.random() < 0.25:
                # A near-duplicate: the same subject discussed again, in nearly the same words.
                previous = documents[-1].reply
                reply = ArchivedReply(0, previous.title, previous.question, previous.summary,
                                      previous.contributions + "\n\n" + _contribution(rng, FILLER_SENTENCES[previous.language], 1),
                                      previous.language, NOW - age * YEAR)
            else:
                reply = _reply(rng, texts, language, NOW - age * YEAR, long=rng.random() < 0.3)
            documents.append(Document(f"{key}:{number}", key, reply))
    for number in range(fillers):
        language = rng.choices(("en", "fr", "es", "pt"), weights=(6, 1, 1, 1))[0]
        title = rng.choice(FILLER_THEMES[language]).format(x=rng.choice(FILLER_SUBJECTS[language]),
                                                           c=rng.choice(COUNTRIES))
        texts = {"titles": [title], "sentences": FILLER_SENTENCES[language]}
        reply = _reply(rng, texts, language, NOW - rng.uniform(0.05, 6) * YEAR, long=rng.random() < 0.3)
        documents.append(Document(f"other:{number}", "", reply))
    rng.shuffle(documents)
    return documents


def _reply(rng: random.Random, texts: dict, language: str, at: float, long: bool) -> ArchivedReply:
    title = rng.choice(texts["titles"])
    sentences = list(texts["sentences"])
    rng.shuffle(sentences)
    summary = "\n".join(sentences[:rng.randint(1, min(3, len(sentences)))])
    paragraphs = rng.randint(4, 8) if long else rng.randint(1, 2)
    pool = sentences + (FILLER_SENTENCES[language] if long else [])
    contributions = "\n\n".join(_contribution(rng, pool, rng.randint(1, 3)) for _ in range(paragraphs))
    question = QUESTION_FORMS[language].format(t=title[0].lower() + title[1:].rstrip("?"))
    return ArchivedReply(0, title, question, summary, contributions, language, at)


def _contribution(rng: random.Random, sentences: list[str], count: int) -> str:
    return f"{rng.choice(NAMES)} ({rng.choice(COUNTRIES)}): " + " ".join(rng.choice(sentences) for _ in range(count))


def plain_index(documents: list[Document]) -> sqlite3.Connection:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE VIRTUAL TABLE plain USING fts5 (title, question, summary, contributions)")
    connection.executemany("INSERT INTO plain (rowid, title, question, summary, contributions) VALUES (?, ?, ?, ?, ?)",
                           [(number, d.reply.title, d.reply.question, d.reply.summary, d.reply.contributions)
                            for number, d in enumerate(documents)])
    return connection


def plain_search(connection: sqlite3.Connection, documents: list[Document], question: str, operator: str) -> list[str]:
    words = [word for word in re.findall(r"\w+", question.casefold()) if word.strip("_")]
    if not words:
        return []
    query = f" {operator} ".join('"' + word + '"' for word in words)
    rows = connection.execute("SELECT rowid FROM plain WHERE plain MATCH ? ORDER BY bm25(plain) LIMIT 10", (query,))
    return [documents[rowid].source_id for (rowid,) in rows]


async def our_search(database: Database | PostgresDatabase, documents: list[Document],
                     judgements: list[dict]) -> tuple[dict[str, list[str]], float]:
    """What our search finds for each question, and the mean time of a search in milliseconds."""
    archive = SqliteArchive(database, clock=FixedClock())
    for document in documents:
        await archive.import_reply(document.reply, document.source_id, NOW)
    await archive.search("warm up", limit=10)  # the index brought up to date, outside the timing
    found: dict[str, list[str]] = {}
    spent = 0.0
    for judgement in judgements:
        started = time.perf_counter()
        hits = await archive.search(judgement["q"], limit=10)
        spent += time.perf_counter() - started
        sources = await archive.source_ids([hit.discussion_id for hit in hits])
        found[judgement["q"]] = [sources[hit.discussion_id] for hit in hits]
    return found, 1000 * spent / max(1, len(judgements))


@asynccontextmanager
async def throwaway_postgres(url: str):  # type: ignore[no-untyped-def]
    """A database of its own on the server of `url`, dropped at the end."""
    import asyncpg
    from urllib.parse import urlsplit, urlunsplit

    name = f"search_relevance_{os.getpid()}"
    server = await asyncpg.connect(url)
    try:
        await server.execute(f"CREATE DATABASE {name}")
    finally:
        await server.close()
    try:
        database = await PostgresDatabase.open(urlunsplit(urlsplit(url)._replace(path="/" + name)))
        try:
            yield database
        finally:
            await database.close()
    finally:
        server = await asyncpg.connect(url)
        try:
            await server.execute(f"DROP DATABASE IF EXISTS {name}")
        finally:
            await server.close()


def ndcg_at_10(found: list[str], relevant: set[str]) -> float:
    gain = sum(1 / math.log2(position + 2) for position, source in enumerate(found[:10]) if source in relevant)
    ideal = sum(1 / math.log2(position + 2) for position in range(min(10, len(relevant))))
    return gain / ideal if ideal else 0.0


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fillers", type=int, default=1900)
    parser.add_argument("--show-misses", action="store_true", help="list the questions our search misses in the top 5")
    parser.add_argument("--postgresql", metavar="URL", default="",
                        help="also run our search on PostgreSQL, in a database of its own made on this server")
    arguments = parser.parse_args()
    documents = build(arguments.seed, arguments.fillers)
    judgements = json.loads((HERE / "judgements.json").read_text(encoding="utf-8"))["questions"]
    relevant = {key: {d.source_id for d in documents if d.subject == key} for key in {j["relevant"] for j in judgements}}

    with tempfile.TemporaryDirectory(prefix="relevance-") as directory:
        database = await Database.open(Path(directory) / "archive.db")
        ours, took = await our_search(database, documents, judgements)
        await database.close()
    results = {"our search": ours}
    timings = {"our search": took}
    if arguments.postgresql:
        async with throwaway_postgres(arguments.postgresql) as database:
            results["ours, PostgreSQL"], timings["ours, PostgreSQL"] = await our_search(database, documents, judgements)
    plain = plain_index(documents)
    results |= {"plain bm25 AND": {j["q"]: plain_search(plain, documents, j["q"], "AND") for j in judgements},
                "plain bm25 OR": {j["q"]: plain_search(plain, documents, j["q"], "OR") for j in judgements}}

    old = sum(1 for d in documents if d.reply.published_at < NOW - 5 * YEAR)
    print(f"archive:    {len(documents):,} replies ({sum(1 for d in documents if d.subject):,} on judged subjects, "
          f"{old:,} older than five years), seed {arguments.seed}")
    print(f"questions:  {len(judgements)}")
    print(f"{'':16} {'nDCG@10':>8} {'success@5':>10} {'ms/search':>10}")
    for name, found in results.items():
        ndcg = sum(ndcg_at_10(found[j["q"]], relevant[j["relevant"]]) for j in judgements) / len(judgements)
        success = sum(1 for j in judgements if set(found[j["q"]][:5]) & relevant[j["relevant"]]) / len(judgements)
        took = f"{timings[name]:10.1f}" if name in timings else ""
        print(f"{name:16} {ndcg:8.3f} {success:10.1%} {took}")
    if "ours, PostgreSQL" in results:
        same = sum(1 for j in judgements if results["ours, PostgreSQL"][j["q"]] == ours[j["q"]])
        print(f"PostgreSQL's first ten are SQLite's, in the same order, for {same} of {len(judgements)} questions")
    if arguments.show_misses:
        for judgement in judgements:
            if not set(ours[judgement["q"]][:5]) & relevant[judgement["relevant"]]:
                print(f"  missed: {judgement['q']!r} -> {ours[judgement['q']][:5]}")


if __name__ == "__main__":
    asyncio.run(main())
