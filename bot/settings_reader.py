"""Reading one section of the configuration file: each value checked on its own, each problem
a `ConfigError` naming the key and what is wrong. The core's sections and every adapter's
section are read with it, so every message has the same shape."""

from __future__ import annotations

import re
from typing import Any, Mapping

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# Longer than any deadline or window a community means; "99999999w" is a typo, and a date
# that far off overflows the scheduler and the clock's arithmetic.
LONGEST_DURATION = 10 * 365 * 86400


class ConfigError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


def parse_duration(text: str) -> float | None:
    """"21d" -> seconds; None when the text is not a duration."""
    match = DURATION.match(text)
    if not match:
        return None
    return float(match.group(1)) * DURATION_UNITS[match.group(2)]


def from_environment(value: str, environ: Mapping[str, str], key: str) -> str:
    """A secret as written (`key`'s value): itself, or for "env:NAME" that variable's value."""
    if not value.startswith("env:"):
        return value
    variable = value[4:]
    if not variable:
        raise ConfigError(key, "write \"env:NAME\" with the environment variable's name")
    if variable not in environ or not environ[variable].strip():
        raise ConfigError(key, f"environment variable {variable} is not set")
    return environ[variable].strip()


class Section:
    """One section ([telegram]) of the file. Each reader takes the setting's name within the
    section; `finish` refuses any setting nobody read."""

    def __init__(self, name: str, raw: Mapping[str, Any], environ: Mapping[str, str]) -> None:
        self.name = name
        self.raw = raw
        self.environ = environ
        self._read: set[str] = set()

    def __bool__(self) -> bool:
        return bool(self.raw)

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def keys(self) -> list[str]:
        return list(self.raw)

    def key(self, name: str) -> str:
        return f"{self.name}.{name}"

    def _get(self, name: str, default: Any) -> Any:
        self._read.add(name)
        return self.raw.get(name, default)

    def finish(self) -> None:
        for key in self.raw:
            if key not in self._read:
                known = ", ".join(sorted(self._read))
                raise ConfigError(self.key(key), f"unknown setting (known: {known})")

    def string(self, name: str, default: str = "", required: bool = False) -> str:
        self._read.add(name)
        if name not in self.raw:
            if required:
                raise ConfigError(self.key(name), "missing")
            return default
        value = self.raw[name]
        if not isinstance(value, str):
            raise ConfigError(self.key(name), f"must be text in quotes, not {value!r}")
        if required and not value.strip():
            raise ConfigError(self.key(name), "must not be empty")
        return value.strip()

    def choice(self, name: str, options: tuple[str, ...], default: str) -> str:
        value = self.string(name, default=default)
        if value not in options:
            quoted = [f'"{option}"' for option in options]
            listed = f"neither {quoted[0]} nor {quoted[1]}" if len(quoted) == 2 else f"not one of {', '.join(quoted)}"
            raise ConfigError(self.key(name), f"{value!r} is {listed}")
        return value

    def secret(self, name: str, required: bool = False) -> str:
        return from_environment(self.string(name, required=required), self.environ, self.key(name))

    def url(self, name: str, default: str = "", required: bool = False) -> str:
        value = self.string(name, default=default, required=required)
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ConfigError(self.key(name), f"{value!r} is not an http(s) address")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), f"must be true or false, not {value!r}")
        return value

    def port(self, name: str, default: int, allow_zero: bool = False) -> int:
        value = self._get(name, default)
        lowest = 0 if allow_zero else 1
        if not isinstance(value, int) or isinstance(value, bool) or not lowest <= value <= 65535:
            raise ConfigError(self.key(name), f"must be a port number from {lowest} to 65535, not {value!r}")
        return value

    def positive_int(self, name: str, default: int) -> int:
        value = self._get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ConfigError(self.key(name), f"must be a whole number of at least 1, not {value!r}")
        return value

    def positive_number(self, name: str, default: float) -> float:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ConfigError(self.key(name), f"must be a number above 0, not {value!r}")
        return float(value)

    def duration(self, name: str, default: str, allow_zero: bool = False) -> float:
        text = self.string(name, default=default)
        if allow_zero and text in ("0", "off"):
            return 0.0
        seconds = parse_duration(text)
        if seconds is None or (seconds <= 0 and not allow_zero):
            raise ConfigError(self.key(name), f"{text!r} is not a duration like \"21d\", \"12h\", \"30m\" or \"90s\"")
        if seconds > LONGEST_DURATION:
            raise ConfigError(self.key(name), f"{text!r} is longer than 10 years")
        return seconds

    def string_list(self, name: str, default: list[str]) -> list[str]:
        value = self._get(name, default)
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(self.key(name), "must be a list of texts, like [\"en\", \"fr\"]")
        return [item.strip() for item in value]

    def id_list(self, name: str) -> list[str]:
        value = self._get(name, [])
        if not isinstance(value, list):
            raise ConfigError(self.key(name), "must be a list of ids, like [123456789]")
        ids = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (int, str)) or not str(item).strip():
                raise ConfigError(self.key(name), f"{item!r} is not a user id")
            ids.append(str(item).strip())
        return ids

    def identifier(self, name: str) -> str:
        value = self._get(name, "")
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ConfigError(self.key(name), f"{value!r} is not a chat id")
        return str(value).strip()

    def rate_table(self, name: str) -> dict[str, float]:
        value = self._get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(self.key(name), "must be a table like { telegram = 30 }")
        table = {}
        for platform, number in value.items():
            if isinstance(number, bool) or not isinstance(number, (int, float)) or number < 0:
                raise ConfigError(f"{self.key(name)}.{platform}", f"must be a number of at least 0, not {number!r}")
            table[platform] = float(number)
        return table
