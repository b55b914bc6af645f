"""The `facilitator` command: run the bot, check a configuration, and the tools around them.

A bad or missing setting ends with one line naming the key and the problem and exit code 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import Sequence

from bot.config import Settings
from bot.settings_reader import ConfigError

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

    export = commands.add_parser("export", help="write every published consolidated reply as a file, with an index")
    export.add_argument("--config", required=True, type=Path, help="the TOML configuration file")
    export.add_argument("--format", choices=("md", "html"), default="md", help="Markdown or HTML (default: md)")
    export.add_argument("--out", required=True, type=Path, help="the folder to write into (created if needed)")
    export.set_defaults(action=_export)
    return parser


def _run(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    _configure_logging(settings.log_level)
    return asyncio.run(_serve(settings))


def _demo(arguments: argparse.Namespace) -> int:
    from bot.demo_setup import prepare_demo

    config_path, fresh = prepare_demo(arguments.dir, arguments.port)
    settings = _load(config_path)
    _configure_logging(settings.log_level)
    return asyncio.run(_serve(settings, seed=fresh, announce=True))


async def _serve(settings: Settings, seed: bool = False, announce: bool = False) -> int:
    from bot.app import App

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    app = await App.build(settings)
    if seed:
        await app.seed_demo()
    try:
        await app.start()
    except OSError as error:
        # The usual cause: the port is taken. A person-readable line, not a traceback.
        print(f"facilitator: could not start: {error}", file=sys.stderr)
        await app.stop()
        return 1
    log.info("facilitator-bot for %s is running; stop it with Ctrl-C", settings.community.name)
    if announce and app.web_address:
        print(f"Open {app.web_address} in your browser", flush=True)
    await stop.wait()
    log.info("stopping")
    await app.stop()
    return 0


def _check_config(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    print(f"{arguments.config}: the configuration is valid.")
    print(f"  community: {settings.community.name} ({', '.join(settings.community.languages)})")
    print(f"  storage: {settings.storage_path}")
    print(f"  platforms: {', '.join(settings.platforms)}")
    if not arguments.online:
        return 0
    problems = asyncio.run(_check_online(settings))
    for problem in problems:
        print(f"facilitator: {problem}", file=sys.stderr)
    if not problems:
        print("  online: every enabled platform answered.")
    return 1 if problems else 0


def _import_members(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    try:
        text = arguments.file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        print(f"facilitator: cannot read {arguments.file}: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return asyncio.run(_write_members(settings, text))


async def _write_members(settings: Settings, text: str) -> int:
    import time

    from tqdm import tqdm

    from bot.services.importing import import_members, read_rows
    from storage.database import Database
    from storage.members import SqliteMemberStore

    database = await Database.open(settings.storage_path)
    total = max(0, text.count("\n") - 1 + (0 if text.endswith("\n") else 1))
    try:
        with tqdm(total=total, unit=" rows", file=sys.stderr, disable=total < 200) as bar:
            report = await import_members(read_rows(text), SqliteMemberStore(database), database, time.time(),
                                          progress=bar.update)
    finally:
        await database.close()
    for line, reason in report.skipped:
        print(f"line {line}: skipped: {reason}")
    print(f"imported {report.imported}, updated {report.updated}, unchanged {report.unchanged}, "
          f"skipped {len(report.skipped)}")
    return 0


def _export(arguments: argparse.Namespace) -> int:
    settings = _load(arguments.config)
    return asyncio.run(_write_export(settings, arguments.format, arguments.out))


async def _write_export(settings: Settings, format: str, out: Path) -> int:
    from bot.services.export import export
    from bot.texts.catalog import Texts
    from storage.archive import SqliteArchive
    from storage.database import Database

    if not settings.storage_path.exists():
        print(f"facilitator: no database at {settings.storage_path}: nothing to export", file=sys.stderr)
        return 1
    database = await Database.open(settings.storage_path)
    try:
        replies = await SqliteArchive(database).all_published()
    finally:
        await database.close()
    try:
        out.mkdir(parents=True, exist_ok=True)
        community = settings.community
        t = Texts(community.languages, community.default_language).for_language(community.default_language)
        for exported in export(community.name, replies, format, t):
            (out / exported.name).write_text(exported.content, encoding="utf-8")
    except OSError as error:
        print(f"facilitator: cannot write to {out}: {error}", file=sys.stderr)
        return 1
    print(f"Wrote {len(replies)} consolidated replies and index.{format} to {out}")
    return 0


async def _check_online(settings: Settings) -> list[str]:
    from bot.app import check_online

    return await check_online(settings)


def _load(path: Path) -> Settings:
    from bot.app import load_settings

    return load_settings(path)


def _configure_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The HTTP clients log every request at INFO; that drowns what matters.
    for noisy in ("httpx", "aiohttp.access", "apscheduler", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


if __name__ == "__main__":
    sys.exit(main())
