"""`facilitator export` writes each published consolidated reply as a file, and an index."""

import asyncio
import os
import re
import subprocess
import sys
from pathlib import Path

from bot.services.archive import ArchivedReply
from bot.services.export import export
from bot.texts.catalog import Texts
from storage.archive import SqliteArchive
from storage.opening import open_storage
from tests.storage_backend import storage_toml, storage_url

ROOT = Path(__file__).resolve().parent.parent

REPLIES = [
    ArchivedReply(2, "Indexing child benefits to inflation", "How do countries index benefits?",
                  "Automatic indexation protects value (Bola)", "Bola (Ghana): Use CPI.\n\nanonymous: Yearly.",
                  "en", 1_700_000_000.0),
    ArchivedReply(1, "<script>alert(1)</script> & cash", "Question with <b>tags</b> and [a link](javascript:alert(1))",
                  "", "x: *loud* <img src=x onerror=alert(1)>", "en", 1_600_000_000.0),
]


ENGLISH = Texts(("en",), "en").for_language("en")


def test_markdown_export_has_a_page_per_reply_and_an_index():
    files = {f.name: f.content for f in export("Child Poverty Network", REPLIES, "md", ENGLISH)}
    assert "index.md" in files and len(files) == 3
    page = files["00002-indexing-child-benefits-to-inflation.md"]
    assert page.startswith("# Indexing child benefits to inflation")
    assert "- Automatic indexation protects value (Bola)" in page
    assert "(00002-indexing-child-benefits-to-inflation.md)" in files["index.md"]


def test_markdown_export_makes_member_text_inert():
    files = {f.name: f.content for f in export("Network", REPLIES, "md", ENGLISH)}
    page = next(content for name, content in files.items() if name.startswith("00001"))
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "&lt;img src=x" in page
    assert not re.search(r"(?<!\\)\]\(javascript:", page) and "\\[a link\\](javascript:alert(1))" in page
    assert "\\*loud\\*" in page
    assert "[&lt;script&gt;alert(1)&lt;/script&gt; &amp; cash](00001" in files["index.md"]


def test_html_export_escapes_everything_members_wrote():
    files = {f.name: f.content for f in export("Network", REPLIES, "html", ENGLISH)}
    page = next(content for name, content in files.items() if name.startswith("00001"))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;tags&lt;/b&gt;" in page
    assert "<script>" not in files["index.html"]


def test_the_export_command_writes_files_from_the_database(tmp_path):
    database_path = tmp_path / "data.db"

    async def fill():
        database = await open_storage(database_path, storage_url(database_path))
        async with database.transaction() as connection:
            await connection.execute("INSERT INTO member (id, name, joined_at) VALUES (1, 'Amina', 0)")
            await connection.execute(
                "INSERT INTO discussion (id, asker_id, text, state, created_at) VALUES (2, 1, 'q', 'published', 0)")
        await SqliteArchive(database).add(REPLIES[0])
        await database.close()

    asyncio.run(fill())
    config = tmp_path / "config.toml"
    config.write_text(f'[community]\nname = "Net"\n{storage_toml(database_path)}'
                      '[webchat]\nsecret = "0123456789abcdef"\n', encoding="utf-8")
    out = tmp_path / "site"
    result = subprocess.run([sys.executable, "-m", "bot.cli", "export", "--config", str(config),
                             "--format", "html", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                            env=dict(os.environ), timeout=60)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["00002-indexing-child-benefits-to-inflation.html", "index.html"]
