"""`facilitator archive import` and `facilitator search`, run as a person runs them: lines with
errors are reported by number and the rest imported; importing again changes nothing; the
command-line search shows what /search shows, in the same order."""

import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

from bot.services.searching import find
from bot.services.stemming import Stemming
from storage.archive import SqliteArchive
from storage.opening import open_storage
from tests import storage_backend

ROOT = Path(__file__).resolve().parent.parent

LINES = [
    {"id": "cpn-101", "title": "Cash transfers and child nutrition", "question": "Do cash transfers reduce stunting?",
     "summary": "Cash with counselling reduced stunting.\nTiming with the first thousand days mattered.",
     "body": "Nadia (Jordan): cash with counselling worked.", "published": "2016-03-04", "language": "en",
     "tags": ["nutrition", "cash"]},
    {"id": 102, "title": "Transferencias y nutrición", "body": "Las transferencias mejoraron la dieta de los niños.",
     "language": "es", "published": "2019-11-20"},
    "this is not json",
    {"id": "cpn-104", "body": "A body without a title."},
    {"id": "cpn-105", "title": "Bad date", "body": "Text.", "published": "04/03/2016"},
    {"title": "Mobile money payments for cash transfers", "body": "Agents paid recipients of the transfers."},
    {"id": "cpn-107", "title": "No body"},
]


def jsonl(lines: list) -> str:
    return "\n".join(line if isinstance(line, str) else json.dumps(line, ensure_ascii=False) for line in lines) + "\n"


def facilitator(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    config = tmp_path / "config.toml"
    config.write_text(f'[community]\nname = "Net"\nlanguages = ["en", "fr", "es", "pt"]\n'
                      f'{storage_backend.storage_toml(tmp_path / "net.db")}'
                      '[webchat]\nsecret = "0123456789abcdef"\n', encoding="utf-8")
    return subprocess.run([sys.executable, "-m", "bot.cli", *arguments, "--config", str(config)],
                          capture_output=True, text=True, cwd=ROOT, env=dict(os.environ), timeout=120)


def rows(tmp_path: Path, sql: str) -> list[tuple]:
    return storage_backend.rows(tmp_path / "net.db", sql)


def day(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")


def test_lines_with_errors_are_reported_by_number_and_the_rest_imported_once(tmp_path):
    (tmp_path / "archive.jsonl").write_text(jsonl(LINES), encoding="utf-8")
    first = facilitator(tmp_path, "archive", "import", str(tmp_path / "archive.jsonl"))
    assert first.returncode != 0, first.stderr
    out = first.stdout.splitlines()
    assert out[:4] == ["line 3: bad JSON (Expecting value at column 1)", "line 4: missing title",
                       "line 5: bad date '04/03/2016' (expected YYYY-MM-DD)", "line 7: missing body"]
    assert out[-1] == "imported 3, unchanged 0, 4 lines with errors"
    assert [(*row[:4], day(row[4])) for row in rows(
        tmp_path, "SELECT r.source_id, r.title, r.language, d.state, r.published_at"
                  " FROM consolidated_reply r JOIN discussion d ON d.id = r.discussion_id ORDER BY d.id")][:2] == [
        ("cpn-101", "Cash transfers and child nutrition", "en", "published", "2016-03-04"),
        ("102", "Transferencias y nutrición", "es", "published", "2019-11-20")]

    again = facilitator(tmp_path, "archive", "import", str(tmp_path / "archive.jsonl"))
    assert again.stdout.splitlines()[-1] == "imported 0, unchanged 3, 4 lines with errors"
    assert rows(tmp_path, "SELECT count(*) FROM consolidated_reply") == [(3,)]
    assert rows(tmp_path, "SELECT count(*) FROM discussion") == [(3,)]


def test_a_clean_file_imports_with_success(tmp_path):
    (tmp_path / "clean.jsonl").write_text(jsonl([LINES[0], "", LINES[1]]), encoding="utf-8")
    result = facilitator(tmp_path, "archive", "import", str(tmp_path / "clean.jsonl"))
    assert result.returncode == 0 and result.stdout.splitlines() == ["imported 2, unchanged 0, 0 lines with errors"]


async def test_the_command_line_search_shows_what_search_shows_in_the_same_order(tmp_path):
    (tmp_path / "archive.jsonl").write_text(jsonl(LINES), encoding="utf-8")
    facilitator(tmp_path, "archive", "import", str(tmp_path / "archive.jsonl"))
    result = facilitator(tmp_path, "search", "cash", "transfers", "--json")
    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)

    database = await open_storage(tmp_path / "net.db", storage_backend.storage_url(tmp_path / "net.db"))
    try:
        hits = await find(SqliteArchive(database, Stemming(("en", "fr", "es", "pt"), "en")), "cash transfers")
    finally:
        await database.close()
    assert [entry["number"] for entry in printed] == [hit.discussion_id for hit in hits]
    assert len(printed) == 2 and {entry["title"] for entry in printed} == {
        "Cash transfers and child nutrition", "Mobile money payments for cash transfers"}
    sources = {entry["title"]: entry["source_id"] for entry in printed}
    assert sources["Cash transfers and child nutrition"] == "cpn-101"
    assert sources["Mobile money payments for cash transfers"].startswith("sha256:")
    assert printed[0]["snippet"] and list(printed[0]) == ["number", "title", "source_id", "snippet"]

    limited = json.loads(facilitator(tmp_path, "search", "cash", "transfers", "--json", "--limit", "1").stdout)
    assert limited == printed[:1]
    plain = facilitator(tmp_path, "search", "transferencia")
    assert plain.stdout.splitlines()[0] == "#2 Transferencias y nutrición (2019-11)"
