"""The `facilitator` command: run the bot, check a configuration, and the tools around them.

A bad or missing setting, and a database that cannot be used (an unwritable folder, a file
that is not a database, a full disk, another bot running on it), ends with one line naming
the key or the path and the problem and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Sequence

from bot import log_privacy
from bot.config import Settings, postgresql_address
from bot.settings_reader import ConfigError, from_environment
from storage.backup import BackupRefused
from storage.files import RunLock, StorageUnavailable, as_unavailable, reason_of, storage_problem
from storage.postgres import safe_url as _safe_url

log = logging.getLogger("facilitator")

EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    arguments = parser.parse_args(argv)
    if not getattr(arguments, "action", None):
        parser.print_help()
        return EXIT_CONFIG
    try:
        return arguments.action(arguments)
    except ConfigError as error:
        print(f"facilitator: configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except (StorageUnavailable, BackupRefused) as error:
        print(f"facilitator: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="facilitator",
        description="facilitator-bot: a moderated community of practice on Telegram, Slack, WhatsApp and the web.",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    run = commands.add_parser("run", help="run the bot with every platform the configuration enables")
    run.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    run.set_defaults(action=_run)

    check = commands.add_parser("check-config", help="check a configuration file and say what is wrong")
    check.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    check.add_argument("--online", action="store_true",
                       help="also reach each enabled platform's API (for Telegram: getMe with the token)")
    check.set_defaults(action=_check_config)

    demo = commands.add_parser("demo", help="run the bot on its built-in web chat with a demo community (no tokens)")
    demo.add_argument("--dir", type=Path, default=Path("demo"), help="where the demo keeps its config and data")
    demo.add_argument("--port", type=int, default=8080, help="the web chat's port (default 8080)")
    demo.set_defaults(action=_demo)

    members = commands.add_parser("members", help="manage the member list")
    member_commands = members.add_subparsers(title="members commands", metavar="COMMAND")
    importing = member_commands.add_parser(
        "import", help="import members from a CSV file (name,organization,country,topics,language,platform,platform_id)")
    importing.add_argument("file", type=Path, help="the CSV file, with a header row")
    importing.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    importing.set_defaults(action=_import_members)

    practices = commands.add_parser("practices", help="manage the good practices")
    practice_commands = practices.add_subparsers(title="practices commands", metavar="COMMAND")
    practices_import = practice_commands.add_parser(
        "import", help="import approved good practices from a CSV file (title,summary,countries,implementing_entities,"
                       "status,primary_sdg,secondary_sdgs,themes,source_organization,source_link,language; "
                       "an id column is optional)")
    practices_import.add_argument("file", type=Path, help="the CSV file, with a header row")
    practices_import.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    practices_import.set_defaults(action=_import_practices)

    archive = commands.add_parser("archive", help="manage the archive of consolidated replies")
    archive_commands = archive.add_subparsers(title="archive commands", metavar="COMMAND")
    archive_import = archive_commands.add_parser(
        "import", help="import consolidated replies from a JSON Lines file (one reply a line: title and body at least)")
    archive_import.add_argument("file", type=Path, help="the JSON Lines file")
    archive_import.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    archive_import.set_defaults(action=_import_archive)

    search = commands.add_parser("search", help="search the archive as a member's /search does")
    search.add_argument("words", nargs="+", help="the words to search for")
    search.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    search.add_argument("--limit", type=int, default=None, help="how many results (default: as /search, 5)")
    search.add_argument("--json", action="store_true", help="print a JSON list, best first")
    search.set_defaults(action=_search)

    export = commands.add_parser("export", help="write every published consolidated reply as a file, with an index")
    export.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    export.add_argument("--format", choices=("md", "html"), default="md", help="Markdown or HTML (default: md)")
    export.add_argument("--out", required=True, type=Path, help="the folder to write into (created if needed)")
    export.set_defaults(action=_export)

    backup = commands.add_parser("backup", help="copy the database to a file, safely, even while the bot runs")
    backup.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    backup.add_argument("--out", required=True, type=Path, help="the backup file to write (readable by you only)")
    backup.add_argument("--force", action="store_true", help="overwrite the backup file if it exists")
    backup.set_defaults(action=_backup)

    restore = commands.add_parser("restore", help="put a backup back as the database (stop the bot first)")
    restore.add_argument("file", type=Path, help="a file written by `facilitator backup`")
    restore.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    restore.set_defaults(action=_restore)

    survey = commands.add_parser("survey", help="surveys: export one's answers")
    survey_commands = survey.add_subparsers(title="survey commands", metavar="COMMAND")
    survey_export = survey_commands.add_parser("export", help="write a survey's answers as a CSV file")
    survey_export.add_argument("number", type=int, help="the survey's number, as /results shows it")
    survey_export.add_argument("--out", required=True, type=Path, help="the CSV file to write")
    survey_export.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    survey_export.set_defaults(action=_export_survey)

    report = commands.add_parser("report", help="write a month's figures: an HTML page, a JSON file and two charts")
    report.add_argument("--month", help="the month, as 2026-10 (default: the last complete month, in UTC)")
    report.add_argument("--out", type=Path, default=Path("."), help="the folder to write into (default: here)")
    report.add_argument("--config", type=Path, default=Path("config.toml"),
                        help="the TOML configuration file (default: config.toml)")
    report.set_defaults(action=_report)

    migrate = commands.add_parser(
        "migrate-storage", help="copy a community from its SQLite file into an empty PostgreSQL database")
    migrate.add_argument("--from", dest="source", required=True, metavar="sqlite:PATH",
                         help="the SQLite file (a bot may go on running on it during the copy)")
    migrate.add_argument("--to", dest="target", required=True, metavar="URL",
                         help='the PostgreSQL database, "postgresql://user:password@host/name", or "env:NAME" to '
                              "read it from the environment (a password on the command line shows in ps)")
    migrate.set_defaults(action=_migrate_storage)
    return parser


def _run(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    _configure_logging(settings)
    return asyncio.run(_serve(settings))


def _demo(arguments: argparse.Namespace) -> int:
    from bot.demo_setup import prepare_demo

    try:
        config_path = prepare_demo(arguments.dir, arguments.port)
    except OSError as error:
        print(f"facilitator: cannot write the demo's files in {arguments.dir}: {reason_of(error)}", file=sys.stderr)
        return EXIT_CONFIG
    settings = _load(config_path)
    _configure_logging(settings)
    # Seeding is one transaction and skips a community already there: a first demo stopped
    # part-way seeds again, a later one keeps its data.
    return asyncio.run(_serve(settings, seed=True, announce=True))


async def _serve(settings: Settings, seed: bool = False, announce: bool = False) -> int:
    if settings.storage_url:
        # Several workers share one PostgreSQL server: no lock on a file, they split the work.
        return await _serve_locked(settings, seed, announce)
    problem = storage_problem(settings.storage_path)
    if problem:
        raise StorageUnavailable(settings.storage_path, problem)
    # Held until the process ends: a second bot on the same database, or a restore, is refused.
    with RunLock.take(settings.storage_path):
        return await _serve_locked(settings, seed, announce)


async def _serve_locked(settings: Settings, seed: bool, announce: bool) -> int:
    from bot.app import App

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    app = await App.build(settings)
    try:
        if seed:
            await app.seed_demo()
        await app.start()
    except BaseException as error:
        # Whatever had started (the scheduler, the database's thread) would keep the process
        # alive after the error: stop it first.
        await app.stop()
        unavailable = as_unavailable(error, settings.storage_path)
        if unavailable is not None:
            raise unavailable from None
        if isinstance(error, OSError):
            # The usual cause: the port is taken. A person-readable line, not a traceback.
            print(f"facilitator: could not start: {error}", file=sys.stderr)
            return 1
        raise
    log.info("facilitator-bot for %s is running; stop it with Ctrl-C", settings.community.name)
    if announce and app.web_address:
        print(f"Open {app.web_address} in your browser", flush=True)
    if announce and app.dashboard_address:
        print(f"The facilitators' dashboard is at {app.dashboard_address.rstrip('/')}/admin", flush=True)
    await stop.wait()
    log.info("stopping")
    await app.stop()
    return 0


def _check_config(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    problem = "" if settings.storage_url else storage_problem(settings.storage_path)
    if problem:
        raise ConfigError("storage.path", f"{settings.storage_path}: {problem}")
    print(f"{arguments.config}: the configuration is valid.")
    print(f"  community: {settings.community.name} ({', '.join(settings.community.languages)})")
    print(f"  storage: {_safe_url(settings.storage_url) if settings.storage_url else settings.storage_path}")
    print(f"  platforms: {', '.join(settings.platforms)}")
    if not arguments.online:
        return 0
    problems = asyncio.run(_check_online(settings))
    for problem in problems:
        print(f"facilitator: {problem}", file=sys.stderr)
    if not problems:
        print("  online: every enabled platform answered.")
    return 1 if problems else 0


def _read_input(path: Path) -> str | None:
    """A file to import, as text; None (and why, on stderr) when it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"facilitator: cannot read {path}: {error}", file=sys.stderr)
        return None


def _import_practices(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    text = _read_input(arguments.file)
    return EXIT_CONFIG if text is None else asyncio.run(_write_practices(settings, text))


async def _write_practices(settings: Settings, text: str) -> int:
    import time

    from bot.services.language import LanguageDetector
    from bot.services.practices import Countries, Taxonomy, import_practices, read_practice_rows, status_names
    from bot.texts.catalog import Texts
    from storage.opening import open_storage
    from storage.practices import SqlitePracticeStore

    community = settings.community
    texts = Texts(community.languages, community.default_language)
    translators = [texts.for_language(language) for language in community.languages]
    taxonomy, countries = Taxonomy(settings.practices.themes, translators), Countries(community.languages)
    rows = list(read_practice_rows(text, taxonomy, countries, status_names(translators)))
    database = await open_storage(settings.storage_path, settings.storage_url)
    try:
        report = await import_practices(rows, SqlitePracticeStore(database), database, LanguageDetector(),
                                        community.languages, community.default_language, time.time())
    finally:
        await database.close()
    for line, reason in report.skipped:
        print(f"line {line}: skipped: {reason}")
    print(f"imported {report.imported}, updated {report.updated}, unchanged {report.unchanged}, "
          f"skipped {len(report.skipped)}")
    return 0


def _import_members(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    text = _read_input(arguments.file)
    return EXIT_CONFIG if text is None else asyncio.run(_write_members(settings, text))


async def _write_members(settings: Settings, text: str) -> int:
    import time

    from tqdm import tqdm

    from bot.services.importing import import_members, read_rows
    from storage.opening import open_storage
    from storage.member_import import SqliteMemberImport

    database = await open_storage(settings.storage_path, settings.storage_url)
    total = max(0, text.count("\n") - 1 + (0 if text.endswith("\n") else 1))
    try:
        with tqdm(total=total, unit=" rows", file=sys.stderr, disable=total < 200) as bar:
            report = await import_members(read_rows(text), SqliteMemberImport(database), time.time(),
                                          progress=bar.update)
    finally:
        await database.close()
    for line, reason in report.skipped:
        print(f"line {line}: skipped: {reason}")
    print(f"imported {report.imported}, updated {report.updated}, unchanged {report.unchanged}, "
          f"skipped {len(report.skipped)}")
    return 0


def _import_archive(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    text = _read_input(arguments.file)
    return EXIT_CONFIG if text is None else asyncio.run(_write_archive(settings, text))


async def _write_archive(settings: Settings, text: str) -> int:
    import time

    from tqdm import tqdm

    from bot.services.archive_import import import_archive
    from bot.services.stemming import Stemming
    from storage.archive import SqliteArchive
    from storage.opening import open_storage

    community = settings.community
    lines = text.splitlines()
    database = await open_storage(settings.storage_path, settings.storage_url)
    try:
        archive = SqliteArchive(database, Stemming(community.languages, community.default_language))
        with tqdm(total=len(lines), unit=" lines", file=sys.stderr, disable=len(lines) < 200) as bar:
            report = await import_archive(lines, archive, community.default_language, time.time(), progress=bar.update)
    finally:
        await database.close()
    for line, reason in report.errors:
        print(f"line {line}: {reason}")
    print(f"imported {report.imported}, unchanged {report.unchanged}, {len(report.errors)} lines with errors")
    return 1 if report.errors else 0


def _search(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    if arguments.limit is not None and arguments.limit < 1:
        print("facilitator: --limit must be at least 1", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_print_search(settings, " ".join(arguments.words), arguments.limit, arguments.json))


async def _print_search(settings: Settings, words: str, limit: int | None, as_json: bool) -> int:
    import json
    from datetime import datetime, timezone

    from bot.services.searching import RESULTS, find
    from bot.services.stemming import Stemming
    from storage.archive import SqliteArchive
    from storage.opening import open_storage

    if not settings.storage_url and not settings.storage_path.exists():
        print(f"facilitator: no database at {settings.storage_path}: nothing to search", file=sys.stderr)
        return 1
    community = settings.community
    database = await open_storage(settings.storage_path, settings.storage_url)
    try:
        archive = SqliteArchive(database, Stemming(community.languages, community.default_language))
        hits = await find(archive, words, limit or RESULTS)
        sources = await archive.source_ids([hit.discussion_id for hit in hits])
    finally:
        await database.close()
    if as_json:
        print(json.dumps([{"number": hit.discussion_id, "title": hit.title, "source_id": sources.get(hit.discussion_id),
                           "snippet": " ".join(hit.snippet.split())} for hit in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print(f"Nothing in the archive matches \u201c{words}\u201d.")
    for hit in hits:
        month = datetime.fromtimestamp(hit.published_at, timezone.utc).strftime("%Y-%m")
        print(f"#{hit.discussion_id} {hit.title} ({month})")
        if hit.snippet.strip():
            print(f"    {' '.join(hit.snippet.split())}")
    return 0


def _export(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    return asyncio.run(_write_export(settings, arguments.format, arguments.out))


async def _write_export(settings: Settings, format: str, out: Path) -> int:
    from bot.services.export import export, newsletter_page
    from bot.texts.catalog import Texts
    from storage.archive import SqliteArchive
    from storage.opening import open_storage
    from storage.programme import SqliteProgramme

    if not settings.storage_url and not settings.storage_path.exists():
        print(f"facilitator: no database at {settings.storage_path}: nothing to export", file=sys.stderr)
        return 1
    database = await open_storage(settings.storage_path, settings.storage_url)
    try:
        replies = await SqliteArchive(database).all_published()
        newsletters = await SqliteProgramme(database).sent_newsletters()
    finally:
        await database.close()
    try:
        out.mkdir(parents=True, exist_ok=True)
        community = settings.community
        t = Texts(community.languages, community.default_language).for_language(community.default_language)
        for exported in export(community.name, replies, format, t):
            (out / exported.name).write_text(exported.content, encoding="utf-8")
        if format == "html":
            for newsletter in newsletters:
                exported = newsletter_page(t, community.name, newsletter)
                (out / exported.name).write_text(exported.content, encoding="utf-8")
    except OSError as error:
        print(f"facilitator: cannot write to {out}: {error}", file=sys.stderr)
        return 1
    sent = f", {len(newsletters)} newsletters" if format == "html" and newsletters else ""
    print(f"Wrote {len(replies)} consolidated replies{sent} and index.{format} to {out}")
    return 0


def _report(arguments: argparse.Namespace) -> int:
    import time

    from bot.domain.refusal import Refusal
    from bot.services.reports import Month, month_refusal

    now = time.time()
    month = Month.parse(arguments.month) if arguments.month is not None else Month.last_complete(now)
    refusal = month if isinstance(month, Refusal) else month_refusal(month, now)
    if refusal is not None:
        print(f"facilitator: --month {arguments.month}: {refusal.reason.format(**refusal.params)}", file=sys.stderr)
        return EXIT_CONFIG
    assert isinstance(month, Month)
    settings = _load(arguments.config)
    return asyncio.run(_write_report(settings, month, arguments.out, now))


async def _write_report(settings: Settings, month, out: Path, now: float) -> int:  # type: ignore[no-untyped-def]
    from bot.services.reports import make_report
    from bot.services.reports_files import report_files
    from bot.texts.catalog import Texts
    from storage.opening import open_storage
    from storage.reports import SqliteReportFigures

    if not settings.storage_url and not settings.storage_path.exists():
        print(f"facilitator: no database at {settings.storage_path}: nothing to report", file=sys.stderr)
        return 1
    database = await open_storage(settings.storage_path, settings.storage_url)
    try:
        report = await make_report(SqliteReportFigures(database), month, now)
    finally:
        await database.close()
    community = settings.community
    t = Texts(community.languages, community.default_language).for_language(community.default_language)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for written in report_files(report, community.name, t):
            (out / written.name).write_bytes(written.content)
    except OSError as error:
        print(f"facilitator: cannot write to {out}: {reason_of(error)}", file=sys.stderr)
        return 1
    print(f"Wrote the report of {month} to {out}: report-{month}.html, report-{month}.json, "
          f"chart-growth-{month}.png, chart-countries-{month}.png")
    return 0


def _migrate_storage(arguments: argparse.Namespace) -> int:
    import os

    from storage.migration_copy import CopyFailed, CopyRefused, copy_community

    source = Path(arguments.source.removeprefix("sqlite:"))
    try:
        target = postgresql_address(from_environment(arguments.target.strip(), os.environ, "--to"), "--to",
                                    required=True)
    except ConfigError as error:
        print(f"facilitator: {error}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        with _CopyBars() as bars:
            report = asyncio.run(copy_community(source, target, bars))
    except CopyRefused as error:
        print(f"facilitator: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except CopyFailed as error:
        print(f"facilitator: the copy failed: {error}", file=sys.stderr)
        return 1
    width = max(len(table.name) for table in report.tables)
    print(f"{'table':<{width}}  {'SQLite':>10}  {'PostgreSQL':>10}")
    for table in sorted(report.tables, key=lambda table: table.name):
        if table.source_rows:
            print(f"{table.name:<{width}}  {table.source_rows:>10,}  {table.target_rows:>10,}")
    empty = sum(1 for table in report.tables if not table.source_rows)
    print(f"Copied {report.rows:,} rows in {len(report.tables)} tables ({empty} empty) from {report.source} "
          f"to {report.target}.")
    if report.reindexed:
        print(f"The archive's search index is rebuilt at the first search ({report.reindexed:,} consolidated replies).")
    for column in report.left_out:
        print(f"facilitator: warning: {column} has no column on PostgreSQL and was not copied", file=sys.stderr)
    print("Set [storage] url in the configuration (\"env:DATABASE_URL\") to run the bot on it.")
    return 0


class _CopyBars:
    """A progress bar on stderr for each large table being copied."""

    LARGE = 10_000

    def __init__(self) -> None:
        self._bar = None

    def table(self, name: str, rows: int) -> None:
        from tqdm import tqdm

        self.close()
        if rows >= self.LARGE:
            self._bar = tqdm(total=rows, desc=name, unit=" rows", file=sys.stderr)

    def copied(self, rows: int) -> None:
        if self._bar is not None:
            self._bar.update(rows)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> "_CopyBars":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _backup(arguments: argparse.Namespace) -> int:
    from storage.backup import backup

    settings = _load(arguments.config)
    _refuse_on_a_server(settings, "back up")
    copied = backup(settings.storage_path, arguments.out, force=arguments.force)
    print(f"Backed up {settings.storage_path} to {copied.path} ({copied.size:,} bytes)")
    return 0


def _refuse_on_a_server(settings: Settings, action: str) -> None:
    """`backup` and `restore` copy the SQLite file; a PostgreSQL server has its own tools."""
    if settings.storage_url:
        raise BackupRefused(f"the community is on PostgreSQL ({_safe_url(settings.storage_url)}): {action} it with"
                            " pg_dump and pg_restore (or your server's backups), not with this command")


def _restore(arguments: argparse.Namespace) -> int:
    from storage.backup import restore

    settings = _load(arguments.config)
    _refuse_on_a_server(settings, "restore")
    restore(arguments.file, settings.storage_path)
    print(f"Restored {settings.storage_path} from {arguments.file}")
    return 0


def _export_survey(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    return asyncio.run(_write_survey(settings, arguments.number, arguments.out))


async def _write_survey(settings: Settings, number: int, out: Path) -> int:
    from bot.services.surveys import results_csv
    from storage.opening import open_storage
    from storage.surveys import SqliteSurveyStore

    if not settings.storage_url and not settings.storage_path.exists():
        print(f"facilitator: no database at {settings.storage_path}: nothing to export", file=sys.stderr)
        return 1
    database = await open_storage(settings.storage_path, settings.storage_url)
    try:
        store = SqliteSurveyStore(database)
        survey = await store.get(number)
        answers = await store.answers(number) if survey is not None else []
    finally:
        await database.close()
    if survey is None:
        print(f"facilitator: there is no survey #{number}", file=sys.stderr)
        return 1
    try:
        out.write_text(results_csv(survey, answers), encoding="utf-8", newline="")
    except OSError as error:
        print(f"facilitator: cannot write {out}: {error}", file=sys.stderr)
        return 1
    print(f"Wrote {len(answers)} answers to survey #{number} to {out}")
    return 0


async def _check_online(settings: Settings) -> list[str]:
    from bot.app import check_online

    return await check_online(settings)


def _load(path: Path) -> Settings:
    from bot.app import load_settings

    return load_settings(path)


def _configure_logging(settings: Settings) -> None:
    log_privacy.configure(settings.log_level, log_privacy.secrets_in(settings.platforms))


if __name__ == "__main__":
    sys.exit(main())
