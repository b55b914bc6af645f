"""Routes in one table. Each feature declares its commands, buttons and conversation steps as
enums in its own module and hands its routes to the registry here, which builds the dispatch,
/help and the platforms' command menus, and refuses at start a code used twice.

A command works as `/search nutrition` and, since Slack clients keep a leading "/" for
themselves, as the plain word at the start of a message: `search nutrition`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Awaitable, Callable, Protocol, Sequence

from bot.domain.discussions import Discussion
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, IS_OWNER, NOT_LEFT, Rule
from bot.services.turn import Form, Turn


class Arguments(StrEnum):
    """What a command takes, which decides when a plain word is taken for it."""

    NONE = "none"  # the word alone: "help"
    NUMBER = "number"  # the word, and perhaps a number: "read 12"
    TEXT = "text"  # the word, and perhaps a few words: "search cash transfers"


class Audience(StrEnum):
    EVERYONE = "everyone"
    FACILITATORS = "facilitators"


class About(StrEnum):
    """What a button's or step's subject is."""

    DISCUSSION = "discussion"
    MEMBER = "member"  # the member the button was made for, or nothing


CommandHandler = Callable[[Turn, str], Awaitable[None]]
DiscussionHandler = Callable[[Turn, Discussion, str], Awaitable[None]]
PersonalHandler = Callable[[Turn, str], Awaitable[None]]


@dataclass(frozen=True)
class CommandRoute:
    command: StrEnum
    handler: CommandHandler
    description: str  # for /help and the menus; translated when shown
    rules: tuple[Rule, ...] = (IN_PRIVATE, NOT_LEFT)
    arguments: Arguments = Arguments.NONE
    audience: Audience = Audience.EVERYONE


@dataclass(frozen=True)
class ButtonRoute:
    code: StrEnum
    # handler(turn, discussion, arg) when about a discussion; handler(turn, arg) otherwise
    handler: Callable[..., Awaitable[None]]
    about: About
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class StepRoute:
    """A text the bot waits for. handler(turn, discussion, text, data) when about a
    discussion (its number in the conversation's data), handler(turn, text, data) otherwise."""

    step: StrEnum
    handler: Callable[..., Awaitable[None]]
    about: About
    rules: tuple[Rule, ...] = (NOT_LEFT,)


Route = CommandRoute | ButtonRoute | StepRoute


def command(name: StrEnum, handler: CommandHandler, description: str, *, rules: Sequence[Rule] = (IN_PRIVATE, NOT_LEFT),
            arguments: Arguments = Arguments.NONE, audience: Audience = Audience.EVERYONE) -> CommandRoute:
    return CommandRoute(name, handler, description, tuple(rules), arguments, audience)


def facilitator_button(code: StrEnum, handler: DiscussionHandler) -> ButtonRoute:
    return ButtonRoute(code, handler, About.DISCUSSION, (NOT_LEFT, IS_FACILITATOR))


def discussion_button(code: StrEnum, handler: DiscussionHandler, rules: Sequence[Rule] = (NOT_LEFT,)) -> ButtonRoute:
    return ButtonRoute(code, handler, About.DISCUSSION, tuple(rules))


def personal_button(code: StrEnum, handler: PersonalHandler, rules: Sequence[Rule] = (NOT_LEFT, IS_OWNER)) -> ButtonRoute:
    return ButtonRoute(code, handler, About.MEMBER, tuple(rules))


def step(name: StrEnum, handler: Callable[[Turn, str, dict], Awaitable[None]],
         rules: Sequence[Rule] = (NOT_LEFT,)) -> StepRoute:
    return StepRoute(name, handler, About.MEMBER, tuple(rules))


def discussion_step(name: StrEnum, handler: Callable[[Turn, Discussion, str, dict], Awaitable[None]],
                    rules: Sequence[Rule] = (NOT_LEFT,)) -> StepRoute:
    return StepRoute(name, handler, About.DISCUSSION, tuple(rules))


class Feature(Protocol):
    def routes(self) -> Sequence[Route]: ...


class DuplicateRoute(Exception):
    """Two routes claim the same command, button code or step: a bug, found at start."""


_COMMAND = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_CODE = re.compile(r"^[a-z0-9]{1,4}$")
PLAIN_TEXT_WORDS = 8
_PLAIN = re.compile(r"^\s*([A-Za-z]+)[!.?]*(?:\s+(.*))?$", re.DOTALL)


class Routes:
    """The registry. Features are included once, at start; /help reads it when asked."""

    def __init__(self) -> None:
        self.commands: dict[str, CommandRoute] = {}
        self.buttons: dict[str, ButtonRoute] = {}
        self.steps: dict[str, StepRoute] = {}

    def include(self, *features: Feature) -> "Routes":
        reserved = {code.value for code in Form}
        for feature in features:
            for route in feature.routes():
                self._add(route, reserved)
        return self

    def _add(self, route: Route, reserved: set[str]) -> None:
        handler = getattr(route.handler, "func", route.handler)  # a functools.partial's own function
        owner = type(handler.__self__).__name__ if hasattr(handler, "__self__") else "?"
        if isinstance(route, CommandRoute):
            name = route.command.value
            if not _COMMAND.match(name):
                raise DuplicateRoute(f"/{name} ({owner}): a command is 1 to 32 lower-case letters, digits or _")
            if name in self.commands:
                raise DuplicateRoute(f"/{name} is declared twice ({owner})")
            self.commands[name] = route
        elif isinstance(route, ButtonRoute):
            code = route.code.value
            if not _CODE.match(code):
                raise DuplicateRoute(f"button code {code!r} ({owner}): 1 to 4 lower-case letters or digits")
            if code in self.buttons or code in reserved:
                raise DuplicateRoute(f"button code {code!r} is declared twice ({owner})")
            self.buttons[code] = route
        else:
            if route.step.value in self.steps:
                raise DuplicateRoute(f"step {route.step.value!r} is declared twice ({owner})")
            self.steps[route.step.value] = route

    def command(self, name: str) -> CommandRoute | None:
        return self.commands.get(name.casefold())

    def plain_command(self, text: str, waiting: bool, facilitator: bool = False) -> tuple[CommandRoute, str] | None:
        """A message that starts with a command's word, shaped as that command takes it.

        A question must never be taken for a command: a word with text after it counts only
        when the text is short and no question ("search cash transfers", not "Search
        strategies that worked for girls?"), while the bot waits for an answer only a word
        alone ("cancel") counts, and a facilitators' word ("report", "remove") is a command only
        for a facilitator: a member's "Report on child labour in cocoa farms" is their text."""
        match = _PLAIN.match(text)
        if not match:
            return None
        route = self.commands.get(match.group(1).casefold())
        if route is None or (route.audience is Audience.FACILITATORS and not facilitator):
            return None
        args = (match.group(2) or "").strip()
        if not args:
            return route, ""
        if route.arguments is Arguments.NONE or waiting:
            return None
        if route.arguments is Arguments.NUMBER:
            return (route, args) if re.fullmatch(r"#?\d{1,9}", args) else None
        if args.endswith("?") or len(args.split()) > PLAIN_TEXT_WORDS:
            return None
        return route, args

    def listed(self, facilitator: bool) -> list[CommandRoute]:
        """The commands this person may use, in the order the features declared them."""
        return [route for route in self.commands.values()
                if route.audience is Audience.EVERYONE or facilitator]

    def menu(self) -> list[tuple[str, str]]:
        """(command, description) for the platforms' command menus."""
        return [(route.command.value, route.description) for route in self.listed(facilitator=False)]
