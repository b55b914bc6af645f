"""The files of `facilitator demo`: a config for the web chat only, written once and kept,
so a second run finds the first run's data."""

from __future__ import annotations

import secrets
from pathlib import Path

CONFIG = """# Written by `make demo`: the built-in web chat only, with a demo community.
[community]
name = "Child Poverty Network (demo)"
languages = ["en", "fr", "es"]
default_language = "en"
reply_window = "21d"
reminder_before = "2d"

[storage]
path = "facilitator.db"

[webchat]
enabled = true
host = "127.0.0.1"
port = {port}
secret = "{secret}"
demo = true

[telegram]
enabled = false

[logging]
level = "INFO"
"""


def prepare_demo(directory: Path, port: int) -> tuple[Path, bool]:
    """The demo's config file, and whether its database is new (to be seeded)."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    if not config.exists():
        config.write_text(CONFIG.format(port=port, secret=secrets.token_urlsafe(32)), encoding="utf-8")
    return config, not (directory / "facilitator.db").exists()
