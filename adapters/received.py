"""What every adapter does to what it received before the core sees it: the text is made valid
Unicode. A platform's JSON may carry a lone surrogate ("\\ud800" is a valid JSON escape) and a
mail's undecodable bytes are read as lone surrogates; SQLite, JSON and every platform refuse
them, so one would fail the core's first write. A NUL character ("\\u0000" in JSON) means
nothing in a message and PostgreSQL's text refuses it. Each becomes U+FFFD, the replacement
character, and the rest of the text is kept as it came."""

from __future__ import annotations

import dataclasses
import re
from typing import TypeVar

UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"

T = TypeVar("T")


def well_formed(text: str) -> str:
    return UNSTORABLE.sub(REPLACEMENT, text)


def well_formed_all(value: T) -> T:
    """An event, a delivery report, an address (any frozen dataclass, and the tuples in it)
    with every text in it well formed."""
    if type(value) is str:  # not an enum's member, which is a str too
        return well_formed(value)  # type: ignore[return-value]
    if type(value) is tuple:
        return tuple(well_formed_all(item) for item in value)  # type: ignore[return-value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for field in dataclasses.fields(value):
            current = getattr(value, field.name)
            cleaned = well_formed_all(current)
            if cleaned != current:
                changes[field.name] = cleaned
        return dataclasses.replace(value, **changes) if changes else value  # type: ignore[type-var]
    return value
