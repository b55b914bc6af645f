"""The files of `facilitator demo`: a config for the web chat only, written once and kept,
so a second run finds the first run's data."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

OWNER_ONLY = 0o600

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

[dashboard]
# The facilitators' dashboard, at /admin on the web chat's address.
enabled = true
host = "127.0.0.1"
port = {port}
secret = "{dashboard_secret}"
demo = true

[telegram]
enabled = false

[logging]
level = "INFO"
"""


def prepare_demo(directory: Path, port: int) -> Path:
    """The demo's config file, written the first time. Whether to seed is the seeding's own
    question: the database may exist and be empty after a first run stopped part-way."""
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "config.toml"
    if not config.exists():
        # It holds the web chat's signing secret: readable by its owner only, from the start.
        descriptor = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, OWNER_ONLY)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(CONFIG.format(port=port, secret=secrets.token_urlsafe(32),
                                     dashboard_secret=secrets.token_urlsafe(32)))
    return config
