"""The routes table and the rules: every command, button and step is declared once, /help and
the menus come from the table, plain words work as commands without swallowing questions,
and the rules refuse in order with a reason the person can read."""

from enum import StrEnum

import pytest

from bot.domain.discussions import Discussion
from bot.domain.members import Member, Role, Status
from bot.ports import Address, Sender
from bot.services.routes import Arguments, Audience, DuplicateRoute, Routes, command, personal_button, step
from bot.services.rules import (
    IN_PRIVATE, IS_ASKER, IS_FACILITATOR, IS_OWNER, NOT_A_STRANGER_IN_A_GROUP, NOT_LEFT, SLOW_DOWN, Attempt, TooFast,
    first_refusal,
)
from tests.network import Network, settings_for


class Word(StrEnum):
    SEARCH = "search"
    HELP = "help"
    READ = "read"


class Code(StrEnum):
    ONE = "zz"


class OtherCode(StrEnum):
    SAME = "zz"


class Steps(StrEnum):
    WAIT = "test.wait"


async def nothing(*args: object) -> None:
    return None


class Feature:
    def __init__(self, *routes):  # type: ignore[no-untyped-def]
        self._routes = routes

    def routes(self):  # type: ignore[no-untyped-def]
        return self._routes


def test_a_button_code_command_or_step_declared_twice_stops_the_start():
    with pytest.raises(DuplicateRoute, match="zz"):
        Routes().include(Feature(personal_button(Code.ONE, nothing)), Feature(personal_button(OtherCode.SAME, nothing)))
    with pytest.raises(DuplicateRoute, match="/search"):
        Routes().include(Feature(command(Word.SEARCH, nothing, "a")), Feature(command(Word.SEARCH, nothing, "b")))
    with pytest.raises(DuplicateRoute, match="test.wait"):
        Routes().include(Feature(step(Steps.WAIT, nothing)), Feature(step(Steps.WAIT, nothing)))


def test_the_form_code_is_reserved():
    class Clash(StrEnum):
        FORM = "fm"

    with pytest.raises(DuplicateRoute):
        Routes().include(Feature(personal_button(Clash.FORM, nothing)))


def test_plain_words_are_commands_but_questions_are_not():
    routes = Routes().include(Feature(
        command(Word.SEARCH, nothing, "search", arguments=Arguments.TEXT),
        command(Word.HELP, nothing, "help"),
        command(Word.READ, nothing, "read", arguments=Arguments.NUMBER),
    ))

    def taken(text: str, waiting: bool = False):  # type: ignore[no-untyped-def]
        found = routes.plain_command(text, waiting)
        return (found[0].command.value, found[1]) if found else None

    assert taken("search cash transfers") == ("search", "cash transfers")
    assert taken("Search nutrition") == ("search", "nutrition")
    assert taken("help") == ("help", "") and taken("Help!") == ("help", "")
    assert taken("read 12") == ("read", "12") and taken("read #12") == ("read", "#12")
    assert taken("Help with indexing child benefits to inflation?") is None
    assert taken("Search strategies that worked for girls?") is None
    assert taken("search " + "word " * 12) is None
    assert taken("read the evaluation of the programme") is None
    assert taken("help", waiting=True) == ("help", "")
    assert taken("search nutrition", waiting=True) is None  # an answer the bot waits for is an answer


def test_a_facilitators_word_is_a_command_only_for_a_facilitator():
    class Words(StrEnum):
        REPORT = "report"

    routes = Routes().include(Feature(command(Words.REPORT, nothing, "report", arguments=Arguments.TEXT,
                                              audience=Audience.FACILITATORS)))
    assert routes.plain_command("Report on child labour in cocoa farms", waiting=False) is None
    found = routes.plain_command("report 2026-10", waiting=False, facilitator=True)
    assert found is not None and (found[0].command.value, found[1]) == ("report", "2026-10")


MEMBER = Member(1, "Amina")
PRIVATE = Sender(Address("memory", "a1", "a1"))


def test_the_first_refusal_of_a_chain_is_what_the_person_is_told():
    left = Member(1, "Amina", status=Status.LEFT)
    refused = first_refusal((NOT_LEFT, IS_FACILITATOR), Attempt(PRIVATE, left))
    assert refused is not None and refused[0] is NOT_LEFT and "left the network" in refused[1].reason
    refused = first_refusal((NOT_LEFT, IS_FACILITATOR), Attempt(PRIVATE, MEMBER))
    assert refused is not None and refused[0] is IS_FACILITATOR
    facilitator = Member(2, "Fatou", role=Role.FACILITATOR)
    assert first_refusal((NOT_LEFT, IS_FACILITATOR), Attempt(PRIVATE, facilitator)) is None


def test_each_rule_answers_its_own_question():
    group = Sender(Address("memory", "x9", "-100"), in_group=True)
    assert NOT_A_STRANGER_IN_A_GROUP.check(Attempt(group, None)) is not None
    assert NOT_A_STRANGER_IN_A_GROUP.check(Attempt(group, None, listed_facilitator=True)) is None
    assert NOT_A_STRANGER_IN_A_GROUP.check(Attempt(group, MEMBER)) is None
    assert IN_PRIVATE.check(Attempt(group, MEMBER)) is not None and IN_PRIVATE.check(Attempt(PRIVATE, MEMBER)) is None
    assert IS_OWNER.check(Attempt(PRIVATE, MEMBER, subject=2)) is not None
    assert IS_OWNER.check(Attempt(PRIVATE, MEMBER, subject=1)) is None
    mine, theirs = Discussion(5, asker_id=1, text="q"), Discussion(6, asker_id=2, text="q")
    assert IS_ASKER.check(Attempt(PRIVATE, MEMBER, discussion=mine)) is None
    assert IS_ASKER.check(Attempt(PRIVATE, MEMBER, discussion=theirs)) is not None


def test_too_fast_allows_a_burst_then_a_steady_pace():
    now = [100.0]
    rule = TooFast(per_second=2.0, burst=3, clock=lambda: now[0])
    attempt = Attempt(PRIVATE, None)
    assert [rule.check(attempt) for _ in range(4)] == [None, None, None, SLOW_DOWN]
    assert rule.should_tell(attempt) and not rule.should_tell(attempt)  # told once, not on every message
    now[0] += 0.5
    assert rule.check(attempt) is None and rule.check(attempt) == SLOW_DOWN
    other = Attempt(Sender(Address("memory", "b1", "b1")), None)
    assert rule.check(other) is None  # one person's flood does not slow another


@pytest.fixture
async def network(tmp_path):
    network = await Network(settings_for(tmp_path)).start()
    yield network
    await network.stop()


async def test_help_and_the_menu_come_from_the_routes_table(network):
    routes = network.app.routes
    menu = dict(routes.menu())
    assert {"start", "ask", "search", "read", "withdraw", "help", "home"} <= set(menu)
    assert "question" not in menu  # a facilitator's command is not in every member's menu
    amina = await network.member("a1", "Amina")
    await amina.says("/help")
    shown = await amina.receives("What I can do")
    for name, description in routes.menu():
        assert f"/{name} — {description}" in shown.text
    assert "/question" not in shown.text
    fatou = await network.member("f1", "Fatou")
    await fatou.says("help")
    assert "/question" in (await fatou.receives("What I can do")).text


async def test_a_plain_word_works_like_its_command_and_a_question_stays_a_question(network):
    amina = await network.member("a1", "Amina")
    await amina.says("whoami")
    await amina.receives("Your Memory id is a1")
    await amina.says("search nutrition")
    await amina.receives("Nothing in the archive matches “nutrition”")
    await amina.says("Search strategies that reached girls out of school?")
    draft = await amina.receives("Here is your question")
    assert "Search strategies that reached girls out of school?" in draft.text
