"""The network's month in figures (issue #18): members (how many, new, left, where from,
on which platform, in which language, how many took part), questions (asked, approved,
rejected, replies, how long answers took, consolidated replies published), and searches
that found nothing. /report shows them to a facilitator in the chat, with two charts;
`facilitator report` writes them as an HTML page, a JSON file and the charts' PNGs.

Months are calendar months in UTC. The figures are computed by a repository (all SQL in
storage/reports.py); this module decides what a month is and how the figures are told."""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Protocol, Sequence

from babel.units import format_unit

from bot.domain.refusal import Refusal
from bot.ports import Document, Message, Span
from bot.services.charts import Bar, countries_chart, growth_chart
from bot.services.messaging import Part, bold
from bot.services.routes import Arguments, Audience, Route, command
from bot.services.rules import IN_PRIVATE, IS_FACILITATOR, NOT_LEFT
from bot.services.turn import Turn
from bot.texts.catalog import N_, Translator

log = logging.getLogger(__name__)

GROWTH_MONTHS = 12  # the growth chart's span, the report's month last
TOP_COUNTRIES = 10  # bars of the countries chart; the rest are "other"
SHOWN_IN_CHAT = 5  # lines of each list in the chat: it is read on a phone
SEARCHES_LISTED = 10
FIRST_YEAR, LAST_YEAR = 2000, 2999
HOUR, DAY = 3600.0, 86400.0
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")

# What a blank in the figures stands for.
NOT_GIVEN = N_("not given")
OTHER = N_("other")


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month in UTC."""

    year: int
    number: int

    @staticmethod
    def parse(text: str) -> "Month | Refusal":
        found = _MONTH.match(text)
        if found is None or not 1 <= int(found.group(2)) <= 12 or not FIRST_YEAR <= int(found.group(1)) <= LAST_YEAR:
            return Refusal("Give the month as year and month, for example 2026-10.")
        return Month(int(found.group(1)), int(found.group(2)))

    @staticmethod
    def of(timestamp: float) -> "Month":
        moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
        return Month(moment.year, moment.month)

    @staticmethod
    def last_complete(now: float) -> "Month":
        return Month.of(now).previous()

    def previous(self) -> "Month":
        return Month(self.year - 1, 12) if self.number == 1 else Month(self.year, self.number - 1)

    def following(self) -> "Month":
        return Month(self.year + 1, 1) if self.number == 12 else Month(self.year, self.number + 1)

    def back(self, count: int) -> tuple["Month", ...]:
        """`count` months ending with this one, oldest first."""
        months = [self]
        while len(months) < count:
            months.append(months[-1].previous())
        return tuple(reversed(months))

    @property
    def start(self) -> float:
        return datetime(self.year, self.number, 1, tzinfo=timezone.utc).timestamp()

    @property
    def end(self) -> float:
        """The first moment after the month."""
        return self.following().start

    @property
    def days(self) -> int:
        return calendar.monthrange(self.year, self.number)[1]

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.number:02d}"


@dataclass(frozen=True)
class Share:
    """One line of a breakdown: a country, platform or language (or the words of a search),
    and how many. An empty `name` is "not given"."""

    name: str
    count: int


@dataclass(frozen=True)
class MemberFigures:
    """Members are people with the member role (facilitators are not counted)."""

    total: int  # at the month's end (or now, for the month under way)
    new: int  # joined in the month
    left: int  # left, were removed or forgotten in the month
    active: int  # asked, replied or pressed a button in the month
    countries: int  # countries reached: distinct countries given, at the month's end
    by_country: tuple[Share, ...]  # most first
    by_platform: tuple[Share, ...]  # a member on two platforms counts on each
    by_language: tuple[Share, ...]


@dataclass(frozen=True)
class QuestionFigures:
    asked: int  # questions sent in the month...
    approved: int  # ...of which the facilitators approved (shared)
    rejected: int  # ...and rejected
    shared: int  # questions shared in the month (approved then), whose replies follow
    replies_mean: float | None  # replies per question shared in the month
    replies_median: float | None
    first_reply_median: float | None  # seconds from sharing to the first reply
    publication_median: float | None  # seconds from asking to publication, of those published in the month
    published: int  # consolidated replies published in the month


@dataclass(frozen=True)
class SearchFigures:
    recorded: bool  # False where searches are not logged (no search_log table yet)
    searches: int
    found_nothing: int
    unanswered: tuple[Share, ...]  # the words of searches that found nothing, most frequent first


@dataclass(frozen=True)
class GrowthPoint:
    month: Month
    total: int  # members at the month's end
    new: int
    left: int


@dataclass(frozen=True)
class EventFigures:
    held: int  # events that started in the month
    registered: int  # members registered for them (not those still on a waiting list)
    waiting: int  # still on a waiting list when they started
    attended: int  # who said they attended


@dataclass(frozen=True)
class SurveyFigures:
    surveys: int  # surveys answered in the month
    respondents: int  # people who answered at least one question
    scaled: int  # answers on a 1-5 scale
    agreed: int  # of those, 4 or 5

    @property
    def agreed_share(self) -> float | None:
        return self.agreed / self.scaled if self.scaled else None


@dataclass(frozen=True)
class MonthFigures:
    members: MemberFigures
    questions: QuestionFigures
    searches: SearchFigures
    events: EventFigures
    surveys: SurveyFigures


@dataclass(frozen=True)
class Report:
    month: Month
    made_at: float
    members: MemberFigures
    questions: QuestionFigures
    searches: SearchFigures
    growth: tuple[GrowthPoint, ...]  # GROWTH_MONTHS months, the report's month last
    events: EventFigures
    surveys: SurveyFigures

    @property
    def complete(self) -> bool:
        """False for the month under way: its figures are to date."""
        return self.made_at >= self.month.end


class ReportFigures(Protocol):
    async def month(self, month: Month, top_searches: int) -> MonthFigures: ...

    async def growth(self, months: Sequence[Month]) -> tuple[GrowthPoint, ...]: ...


async def make_report(figures: ReportFigures, month: Month, now: float) -> Report:
    counted = await figures.month(month, SEARCHES_LISTED)
    growth = await figures.growth(month.back(GROWTH_MONTHS))
    return Report(month, now, counted.members, counted.questions, counted.searches, growth, counted.events,
                  counted.surveys)


def month_refusal(month: Month, now: float) -> Refusal | None:
    """A month the report cannot be about: one that has not begun."""
    if month > Month.of(now):
        return Refusal("That month has not begun yet.")
    return None


# --- charts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    filename: str
    caption: str
    png: bytes


def charts(report: Report, t: Translator) -> tuple[Chart, Chart]:
    growth = growth_chart([Bar(str(point.month), point.total) for point in report.growth])
    countries = countries_chart(_top_countries(report.members.by_country, t))
    return (
        Chart(f"chart-growth-{report.month}.png",
              t("Members at the end of each month, over the last 12 months"), growth),
        Chart(f"chart-countries-{report.month}.png",
              t("Members by country, at the end of {month}", month=t.month(report.month.start)), countries),
    )


def _top_countries(shares: Sequence[Share], t: Translator) -> list[Bar]:
    given = [share for share in shares if share.name]
    bars = [Bar(share.name, share.count) for share in given[:TOP_COUNTRIES]]
    rest = sum(share.count for share in given[TOP_COUNTRIES:]) + sum(share.count for share in shares if not share.name)
    if rest:
        bars.append(Bar(t(OTHER), rest))
    return bars


# --- the chat -----------------------------------------------------------------------------


class Command(StrEnum):
    REPORT = "report"


@dataclass(eq=False)
class Reports:
    figures: ReportFigures

    def routes(self) -> Sequence[Route]:
        return (command(Command.REPORT, self.report,
                        "A month in figures, with charts: /report 2026-10 (without a month: last month)",
                        rules=(IN_PRIVATE, NOT_LEFT, IS_FACILITATOR), arguments=Arguments.TEXT,
                        audience=Audience.FACILITATORS),)

    async def report(self, turn: Turn, args: str) -> None:
        month = Month.parse(args) if args.strip() else Month.last_complete(turn.now)
        if isinstance(month, Refusal):
            log.info("/report refused: %r is not a month", args[:40])
            await turn.refuse(month)
            return
        refusal = month_refusal(month, turn.now)
        if refusal is not None:
            await turn.refuse(refusal)
            return
        report = await make_report(self.figures, month, turn.now)
        t = turn.t
        await turn.say(*chat_text(report, t))
        if not turn.capabilities.can_send_documents:
            await turn.say(t("The charts cannot be shown here: the facilitator report command on the server "
                             "writes them as files."))
            return
        for chart in charts(report, t):
            await turn.show(Message(spans=(Span(chart.caption),),
                                    document=Document(chart.filename, "image/png", chart.png)))


def chat_text(report: Report, t: Translator) -> list[Part]:
    """Short lines, a phone's width: the figures that matter, the longest lists cut short."""
    members, questions, searches = report.members, report.questions, report.searches
    month = t.month(report.month.start)
    title = t("{month} in figures", month=month) if report.complete else t("{month} to date", month=month)
    parts: list[Part] = [bold(title), "\n\n", bold(t("Members")), "\n",
                         t.plural("{count} member: {new} new, {left} left", "{count} members: {new} new, {left} left",
                                  members.total, new=t.number(members.new), left=t.number(members.left)), "\n",
                         t("Active: {count} asked, replied or pressed a button", count=t.number(members.active)),
                         "\n",
                         t.plural("{count} country reached", "{count} countries reached", members.countries)]
    for label, shares, name in ((t("Countries"), members.by_country, _as_given),
                                (t("Platforms"), members.by_platform, _as_given),
                                (t("Languages"), members.by_language, _language_name)):
        if shares:
            parts += ["\n", f"{label}: {_listing(shares, t, name)}"]
    parts += ["\n\n", bold(t("Questions")), "\n",
              t("{asked} asked: {approved} approved, {rejected} rejected", asked=t.number(questions.asked),
                approved=t.number(questions.approved), rejected=t.number(questions.rejected))]
    if questions.shared:
        parts += ["\n", t("Replies per question shared: {mean} on average, median {median}",
                          mean=t.number(round(questions.replies_mean or 0.0, 1)),
                          median=t.number(questions.replies_median or 0.0))]
    if questions.first_reply_median is not None:
        parts += ["\n", t("First reply: {time} after sharing (median)",
                          time=duration(questions.first_reply_median, t))]
    parts += ["\n", t.plural("{count} consolidated reply published", "{count} consolidated replies published",
                             questions.published)]
    if questions.publication_median is not None:
        parts += ["\n", t("Published {time} after the question was asked (median)",
                          time=duration(questions.publication_median, t))]
    parts += ["\n\n", bold(t("Searches that found nothing")), "\n"]
    if not searches.recorded:
        parts.append(t("Searches are not recorded yet."))
    elif not searches.unanswered:
        parts.append(t("None this month."))
    else:
        parts.append(", ".join(f"“{share.name}” ({t.number(share.count)})"
                               for share in searches.unanswered[:SHOWN_IN_CHAT]))
    parts += ["\n\n", bold(t("Events and surveys")), "\n", *programme_lines(report, t)]
    return parts


def programme_lines(report: Report, t: Translator) -> list[str]:
    events, surveys = report.events, report.surveys
    lines = [t.plural("{count} event held", "{count} events held", events.held)]
    if events.held:
        lines += ["\n", t("{registered} registered, {attended} said they attended, {waiting} left on a waiting list",
                          registered=t.number(events.registered), attended=t.number(events.attended),
                          waiting=t.number(events.waiting))]
    lines += ["\n", t.plural("{count} person answered a survey", "{count} people answered a survey",
                              surveys.respondents)]
    if surveys.agreed_share is not None:
        lines += ["\n", t("{share} of the answers on a 1-5 scale agreed or strongly agreed",
                          share=t.percent(surveys.agreed_share))]
    return lines


def _listing(shares: Sequence[Share], t: Translator, name) -> str:  # type: ignore[no-untyped-def]
    shown = [f"{name(share.name, t)} {t.number(share.count)}" for share in shares[:SHOWN_IN_CHAT]]
    rest = sum(share.count for share in shares[SHOWN_IN_CHAT:])
    if rest:
        shown.append(f"{t(OTHER)} {t.number(rest)}")
    return ", ".join(shown)


def _as_given(name: str, t: Translator) -> str:
    return name or t(NOT_GIVEN)


def _language_name(code: str, t: Translator) -> str:
    return t.language_name(code) if code else t(NOT_GIVEN)


def duration(seconds: float, t: Translator) -> str:
    """"40 minutes", "30 hours", "16 days", in the reader's language: hours up to two days,
    since "1 day" would say the same of 25 hours and of 35."""
    if seconds < HOUR:
        return format_unit(max(1, round(seconds / 60)), "duration-minute", locale=t.locale)
    if seconds < 2 * DAY:
        return format_unit(round(seconds / HOUR), "duration-hour", locale=t.locale)
    return format_unit(round(seconds / DAY), "duration-day", locale=t.locale)
