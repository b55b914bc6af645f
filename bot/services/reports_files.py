"""A month's report as files: a self-contained HTML page (the charts inside it as data:
addresses, the figures as tables) in the community's language, and the figures as JSON
with stable English keys, for spreadsheets and other tools."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from typing import Any, Sequence

from bot.services.reports import NOT_GIVEN, Chart, Report, Share, charts, duration
from bot.texts.catalog import Translator


@dataclass(frozen=True)
class ReportFile:
    name: str
    content: bytes


def report_files(report: Report, community: str, t: Translator) -> list[ReportFile]:
    """report-YYYY-MM.html, report-YYYY-MM.json and the two charts' PNGs."""
    growth, countries = charts(report, t)
    return [
        ReportFile(f"report-{report.month}.html", page(report, community, t, (growth, countries)).encode("utf-8")),
        ReportFile(f"report-{report.month}.json",
                   json.dumps(as_json(report, community), ensure_ascii=False, indent=2).encode("utf-8")),
        ReportFile(growth.filename, growth.png),
        ReportFile(countries.filename, countries.png),
    ]


# --- JSON ---------------------------------------------------------------------------------


def as_json(report: Report, community: str) -> dict[str, Any]:
    members, questions, searches = report.members, report.questions, report.searches
    return {
        "community": community,
        "month": str(report.month),
        "complete": report.complete,
        "made_at": _iso(report.made_at),
        "members": {
            "total": members.total, "new": members.new, "left": members.left, "active": members.active,
            "countries_reached": members.countries,
            "by_country": _pairs(members.by_country, "country"),
            "by_platform": _pairs(members.by_platform, "platform"),
            "by_language": _pairs(members.by_language, "language"),
        },
        "questions": {
            "asked": questions.asked, "approved": questions.approved, "rejected": questions.rejected,
            "shared": questions.shared,
            "replies_per_shared_question_mean": questions.replies_mean,
            "replies_per_shared_question_median": questions.replies_median,
            "first_reply_after_sharing_median_seconds": questions.first_reply_median,
            "publication_after_asking_median_seconds": questions.publication_median,
            "consolidated_replies_published": questions.published,
        },
        "searches": {
            "recorded": searches.recorded, "searches": searches.searches, "found_nothing": searches.found_nothing,
            "unanswered": _pairs(searches.unanswered, "words"),
        },
        "growth": [{"month": str(point.month), "total": point.total, "new": point.new, "left": point.left}
                   for point in report.growth],
        "events": {"held": report.events.held, "registered": report.events.registered,
                   "waiting": report.events.waiting, "attended": report.events.attended},
        "surveys": {"surveys": report.surveys.surveys, "respondents": report.surveys.respondents,
                    "answers_on_a_scale": report.surveys.scaled, "agreed": report.surveys.agreed},
    }


def _pairs(shares: Sequence[Share], key: str) -> list[dict[str, Any]]:
    return [{key: share.name, "members" if key != "words" else "times": share.count} for share in shares]


def _iso(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat(timespec="seconds")


# --- HTML ---------------------------------------------------------------------------------

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 56rem;
       padding: 0 1rem; color: #1d2733; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.made { color: #5c6b7a; margin-top: 0; }
table { border-collapse: collapse; margin: .5rem 0 1rem; min-width: 18rem; }
th, td { border-bottom: 1px solid #d9e0e6; padding: .3rem .8rem; text-align: start; }
td.n { text-align: end; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; }
figure { margin: 1rem 0; } figcaption { color: #5c6b7a; }
"""


def page(report: Report, community: str, t: Translator, drawn: Sequence[Chart]) -> str:
    members, questions, searches = report.members, report.questions, report.searches
    month = t.month(report.month.start)
    title = t("{month} in figures", month=month) if report.complete else t("{month} to date", month=month)
    maybe = (lambda seconds: duration(seconds, t) if seconds is not None else "—")
    sections = [
        f"<h1>{escape(community)}: {escape(title)}</h1>",
        _paragraph(t("Made on {date}", date=t.moment(report.made_at)), "made"),
        _heading(t("Members")),
        _figures(t, [
            (t("Members at the end of the month"), t.number(members.total)),
            (t("New members"), t.number(members.new)),
            (t("Members who left"), t.number(members.left)),
            (t("Active members (asked, replied or pressed a button)"), t.number(members.active)),
            (t("Countries reached"), t.number(members.countries)),
        ]),
        _chart(drawn[0]),
        _chart(drawn[1]),
        _breakdown(t("Country"), members.by_country, t),
        _breakdown(t("Platform"), members.by_platform, t),
        _breakdown(t("Language"), members.by_language, t, name=lambda code: t.language_name(code)),
        _heading(t("Questions")),
        _figures(t, [
            (t("Questions asked"), t.number(questions.asked)),
            (t("Of those, approved"), t.number(questions.approved)),
            (t("Of those, rejected"), t.number(questions.rejected)),
            (t("Questions shared"), t.number(questions.shared)),
            (t("Replies per question shared, on average"),
             t.number(round(questions.replies_mean, 1)) if questions.replies_mean is not None else "—"),
            (t("Replies per question shared, median"),
             t.number(questions.replies_median) if questions.replies_median is not None else "—"),
            (t("First reply after sharing, median"), maybe(questions.first_reply_median)),
            (t("Publication after the question was asked, median"), maybe(questions.publication_median)),
            (t("Consolidated replies published"), t.number(questions.published)),
        ]),
        _heading(t("Searches that found nothing")),
        _searches(report, t),
        _heading(t("Members over the last 12 months")),
        _growth(report, t),
        _heading(t("Events and surveys")),
        _figures(t, [
            (t("Events held"), t.number(report.events.held)),
            (t("Registered for them"), t.number(report.events.registered)),
            (t("Said they attended"), t.number(report.events.attended)),
            (t("Left on a waiting list"), t.number(report.events.waiting)),
            (t("People who answered a survey"), t.number(report.surveys.respondents)),
            (t("Answers on a 1-5 scale that agreed or strongly agreed"),
             t.percent(report.surveys.agreed_share) if report.surveys.agreed_share is not None else "—"),
        ]),
    ]
    direction = "rtl" if t.right_to_left else "ltr"
    return (f'<!DOCTYPE html>\n<html lang="{escape(t.language)}" dir="{direction}">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(community)}: {escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
            + "\n".join(section for section in sections if section) + "\n</body>\n</html>\n")


def _figures(t: Translator, rows: Sequence[tuple[str, str]]) -> str:
    lines = "".join(f'<tr><th scope="row">{escape(label)}</th><td class="n">{escape(value)}</td></tr>'
                    for label, value in rows)
    return f"<table>{lines}</table>"


def _breakdown(heading: str, shares: Sequence[Share], t: Translator, name=None) -> str:  # type: ignore[no-untyped-def]
    if not shares:
        return ""
    rows = "".join(
        f'<tr><td>{escape((name(share.name) if name else share.name) if share.name else t(NOT_GIVEN))}</td>'
        f'<td class="n">{escape(t.number(share.count))}</td></tr>' for share in shares)
    return _table((heading, t("Members")), rows)


def _searches(report: Report, t: Translator) -> str:
    searches = report.searches
    if not searches.recorded:
        return _paragraph(t("Searches are not recorded yet."))
    if not searches.unanswered:
        return _paragraph(t("None this month."))
    rows = "".join(f'<tr><td>{escape(share.name)}</td><td class="n">{escape(t.number(share.count))}</td></tr>'
                   for share in searches.unanswered)
    return _table((t("Words searched"), t("Times")), rows)


def _growth(report: Report, t: Translator) -> str:
    rows = "".join(
        f'<tr><td>{escape(t.month(point.month.start))}</td><td class="n">{escape(t.number(point.total))}</td>'
        f'<td class="n">{escape(t.number(point.new))}</td><td class="n">{escape(t.number(point.left))}</td></tr>'
        for point in report.growth)
    return _table((t("Month"), t("Members"), t("New members"), t("Members who left")), rows)


def _table(headings: Sequence[str], rows: str) -> str:
    heads = "".join(f'<th scope="col">{escape(text)}</th>' for text in headings)
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{rows}</tbody></table>"


def _heading(text: str) -> str:
    return f"<h2>{escape(text)}</h2>"


def _paragraph(text: str, kind: str = "") -> str:
    return f'<p class="{kind}">{escape(text)}</p>' if kind else f"<p>{escape(text)}</p>"


def _chart(chart: Chart) -> str:
    source = "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")
    return (f'<figure><img src="{source}" alt="{escape(chart.caption)}" width="800" height="450">'
            f"<figcaption>{escape(chart.caption)}</figcaption></figure>")
