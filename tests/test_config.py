"""Configuration: every problem is one line naming the key, exit code 2, no traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.app import load_settings
from bot.config import ConfigError
from tests.read_only import read_only_folder

ROOT = Path(__file__).resolve().parent.parent

VALID = """
[community]
name = "Test Network"
languages = ["en", "fr"]
reply_window = "90s"

[storage]
path = "x.db"

[facilitators]
telegram = [111, "222"]

[telegram]
token = "env:TG_TOKEN"
base_url = "http://127.0.0.1:9/bot"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_valid_file_gives_typed_settings(tmp_path):
    settings = load_settings(write(tmp_path, VALID), environ={"TG_TOKEN": "123:abc"})
    assert settings.community.reply_window == 90
    assert settings.community.languages == ("en", "fr")
    assert settings.storage_path == tmp_path / "x.db"
    assert settings.platform("telegram") is not None and settings.platform("telegram").token == "123:abc"
    assert settings.facilitators.lists("telegram", "111") and settings.facilitators.lists("telegram", "222")
    assert not settings.facilitators.lists("telegram", "333")


def test_a_postgresql_server_is_named_by_its_url_with_the_password_from_the_environment(tmp_path):
    url = "postgresql://bot:s3cret@db.example.org/community"
    text = VALID.replace('path = "x.db"', 'url = "env:DATABASE_URL"')
    settings = load_settings(write(tmp_path, text), environ={"TG_TOKEN": "1:x", "DATABASE_URL": url})
    assert settings.storage_url == url


def test_check_config_names_the_postgresql_server_without_its_password(tmp_path):
    text = VALID.replace('path = "x.db"', 'url = "env:DATABASE_URL"')
    result = run_cli("check-config", "--config", str(write(tmp_path, text)),
                     env={"TG_TOKEN": "1:x", "DATABASE_URL": "postgresql://bot:s3cret@db.example.org/community"})
    assert result.returncode == 0, result.stderr
    assert "storage: postgresql://bot:***@db.example.org/community" in result.stdout
    assert "s3cret" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [["backup", "--out", "copy.db"], ["restore", "copy.db"]])
def test_backup_and_restore_point_to_the_servers_tools_when_the_community_is_on_postgresql(tmp_path, command):
    text = VALID.replace('path = "x.db"', 'url = "env:DATABASE_URL"')
    result = run_cli(*command, "--config", str(write(tmp_path, text)),
                     env={"TG_TOKEN": "1:x", "DATABASE_URL": "postgresql://bot:s3cret@db.example.org/community"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pg_dump" in lines[0] and "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr


def test_the_example_configuration_is_valid():
    settings = load_settings(ROOT / "config.example.toml", environ={"TELEGRAM_BOT_TOKEN": "1:x"})
    assert settings.community.reply_window == 21 * 86400
    assert list(settings.platforms) == ["telegram"]


@pytest.mark.parametrize("change, key, problem", [
    (lambda s: s.replace('token = "env:TG_TOKEN"', 'token = "env:MISSING"'), "telegram.token", "MISSING is not set"),
    (lambda s: s.replace('reply_window = "90s"', 'reply_window = "three weeks"'), "community.reply_window", "not a duration"),
    (lambda s: s.replace('name = "Test Network"', 'name = ""'), "community.name", "must not be empty"),
    (lambda s: s.replace('name = "Test Network"', ''), "community.name", "missing"),
    (lambda s: s.replace('[storage]\npath = "x.db"', ''), "storage", "missing section"),
    (lambda s: s.replace('path = "x.db"', ''), "storage.path", "missing"),
    (lambda s: s.replace('path = "x.db"', 'url = "mysql://bot@db/community"'), "storage.url", "postgresql://"),
    (lambda s: s.replace('path = "x.db"', 'url = "env:NO_DATABASE_URL"'), "storage.url", "NO_DATABASE_URL is not set"),
    (lambda s: s + '\nmode = "push"\n', "telegram.mode", "neither"),
    (lambda s: s + '\nmode = "webhook"\n', "telegram.webhook_url", "missing"),
    (lambda s: s.replace('languages = ["en", "fr"]', 'languages = ["english"]'), "community.languages", "not a language code"),
    (lambda s: s.replace('languages = ["en", "fr"]', 'languages = ["en", "qq"]'), "community.languages", "no language Babel knows"),
    (lambda s: s.replace('[facilitators]', '[facilitators]\nunclaimed_after = "soon"'), "facilitators.unclaimed_after", "not a duration"),
    (lambda s: s.replace('reply_window = "90s"', 'reply_window = "99999999w"'), "community.reply_window", "longer than 10 years"),
    (lambda s: s.replace('reply_window = "90s"', 'reply_window = "3651d"'), "community.reply_window", "longer than 10 years"),
    (lambda s: s.replace('reply_window = "90s"', f'reply_window = "{"9" * 400}s"'), "community.reply_window", "longer than 10 years"),
    (lambda s: s.replace('[facilitators]', '[facilitators]\nunclaimed_after = "1000000h"'), "facilitators.unclaimed_after", "longer than 10 years"),
    (lambda s: s.replace('base_url = "http://127.0.0.1:9/bot"', 'base_url = "ftp://x"'), "telegram.base_url", "not an http"),
    (lambda s: s + '\ncolour = "blue"\n', "telegram.colour", "unknown setting"),
    (lambda s: s.replace('telegram = [111, "222"]', 'telegram = [true]'), "facilitators.telegram", "not a user id"),
    (lambda s: s.replace('[telegram]', '[telegram]\nenabled = false') , "telegram.enabled", "no platform is enabled"),
])
def test_each_problem_names_its_key(tmp_path, change, key, problem):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, change(VALID)), environ={"TG_TOKEN": "123:abc"})
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_broken_toml_and_missing_file_are_named(tmp_path):
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "[community\nname="), environ={})
    with pytest.raises(ConfigError, match="no file at"):
        load_settings(tmp_path / "nope.toml", environ={})


def run_cli(*arguments: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *arguments], capture_output=True, text=True, timeout=60,
        env={**os.environ, **(env or {})}, cwd=ROOT,
    )


def test_check_config_reports_one_line_and_exit_code_2(tmp_path):
    path = write(tmp_path, VALID.replace('reply_window = "90s"', 'reply_window = "soon"'))
    result = run_cli("check-config", "--config", str(path), env={"TG_TOKEN": "1:x"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "community.reply_window" in lines[0]


def test_run_with_a_missing_secret_stops_before_starting(tmp_path):
    result = run_cli("run", "--config", str(write(tmp_path, VALID)), env={"TG_TOKEN": ""})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "facilitator: configuration error: telegram.token: environment variable TG_TOKEN is not set"
    ]


def test_a_duration_of_ten_years_is_still_accepted(tmp_path):
    settings = load_settings(write(tmp_path, VALID.replace('reply_window = "90s"', 'reply_window = "3650d"')),
                             environ={"TG_TOKEN": "1:x"})
    assert settings.community.reply_window == 3650 * 86400


def test_check_config_refuses_an_absurd_duration_in_one_line(tmp_path):
    path = write(tmp_path, VALID.replace('reply_window = "90s"', 'reply_window = "99999999w"'))
    result = run_cli("check-config", "--config", str(path), env={"TG_TOKEN": "1:x"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "facilitator: configuration error: community.reply_window: '99999999w' is longer than 10 years"
    ]


@pytest.mark.parametrize("storage, problem", [
    ("blocker/data/x.db", "cannot be created"),  # a file stands where the folder should be
    ("folder", "is a folder, not a database file"),
])
def test_check_config_reports_a_storage_path_that_cannot_be_used(tmp_path, storage, problem):
    (tmp_path / "blocker").write_text("a file, not a folder", encoding="utf-8")
    (tmp_path / "folder").mkdir()
    path = write(tmp_path, VALID.replace('path = "x.db"', f'path = "{storage}"'))
    result = run_cli("check-config", "--config", str(path), env={"TG_TOKEN": "1:x"})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("facilitator: configuration error: storage.path: ")
    assert str(tmp_path / storage) in line and problem in line
    assert not (tmp_path / "blocker").is_dir()


def test_check_config_reports_a_storage_folder_that_cannot_be_written(tmp_path):
    with read_only_folder(tmp_path / "readonly"):
        path = write(tmp_path, VALID.replace('path = "x.db"', 'path = "readonly/x.db"'))
        result = run_cli("check-config", "--config", str(path), env={"TG_TOKEN": "1:x"})
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "storage.path" in line and "cannot be written" in line


def test_check_config_accepts_a_valid_file(tmp_path):
    result = run_cli("check-config", "--config", str(write(tmp_path, VALID)), env={"TG_TOKEN": "1:x"})
    assert result.returncode == 0, result.stderr
    assert "valid" in result.stdout


def test_help_lists_the_commands():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("run", "check-config"):
        assert command in result.stdout
