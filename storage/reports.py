"""The figures of a month, for reports: read-only queries over members, discussions,
replies, the inbound log and (where it exists) the search log."""

from __future__ import annotations

import statistics
from typing import Sequence

from bot.services.reports import (
    EventFigures, GrowthPoint, MemberFigures, Month, MonthFigures, QuestionFigures, SearchFigures, Share, SurveyFigures,
)
from storage.database import Database

# Members are those with the member role; when a member left (a row from before left_at was
# kept, or written without it, counts as left when it joined: the earliest it can have).
# People: not the placeholder that asks the discussions of an imported archive.
_PERSON = ("m.role = 'member' AND m.id NOT IN (SELECT d.asker_id FROM discussion d"
           " JOIN consolidated_reply r ON r.discussion_id = d.id WHERE r.source_id IS NOT NULL)")
_LEFT_AT = "coalesce(m.left_at, CASE WHEN m.status = 'left' THEN m.joined_at END)"
# Members at a moment (:at): joined before it and not gone by then.
_MEMBER_AT = f"{_PERSON} AND m.joined_at < :at AND ({_LEFT_AT} IS NULL OR {_LEFT_AT} >= :at)"
# Inbound events that are pressing something: a button, a form sent.
_PRESSES = "e.kind IN ('button', 'form')"


class SqliteReportFigures:
    def __init__(self, database: Database) -> None:
        self.database = database

    async def month(self, month: Month, top_searches: int) -> MonthFigures:
        span = {"start": month.start, "end": month.end, "at": month.end}
        return MonthFigures(await self._members(span), await self._questions(span),
                            await self._searches(span, top_searches), await self._events(span),
                            await self._surveys(span))

    # --- the programme ----------------------------------------------------------------------

    async def _events(self, span: dict) -> EventFigures:
        row = await self.database.fetch_one(
            "SELECT count(DISTINCT e.id) AS held,"
            " count(r.member_id) FILTER (WHERE r.state = 'registered') AS registered,"
            " count(r.member_id) FILTER (WHERE r.state = 'waiting') AS waiting,"
            " count(r.member_id) FILTER (WHERE r.state = 'registered' AND r.attended = 1) AS attended"
            " FROM event e LEFT JOIN registration r ON r.event_id = e.id"
            " WHERE e.starts_at >= :start AND e.starts_at < :end", span)
        assert row is not None
        return EventFigures(row["held"], row["registered"], row["waiting"], row["attended"])

    async def _surveys(self, span: dict) -> SurveyFigures:
        row = await self.database.fetch_one(
            "SELECT count(DISTINCT a.survey_id) AS surveys, count(DISTINCT a.respondent) AS respondents,"
            " count(*) FILTER (WHERE q.kind = 'likert' AND a.value IS NOT NULL) AS scaled,"
            " count(*) FILTER (WHERE q.kind = 'likert' AND a.value >= 4) AS agreed"
            " FROM survey_answer a JOIN survey_question q ON q.survey_id = a.survey_id AND q.position = a.position"
            " WHERE a.answered_at >= :start AND a.answered_at < :end", span)
        assert row is not None
        return SurveyFigures(row["surveys"], row["respondents"], row["scaled"], row["agreed"])

    async def growth(self, months: Sequence[Month]) -> tuple[GrowthPoint, ...]:
        points = []
        for month in months:
            span = {"start": month.start, "end": month.end, "at": month.end}
            total, new, left = await self._movement(span)
            points.append(GrowthPoint(month, total, new, left))
        return tuple(points)

    # --- members ------------------------------------------------------------------------------

    async def _movement(self, span: dict) -> tuple[int, int, int]:
        row = await self.database.fetch_one(
            f"SELECT (SELECT count(*) FROM member m WHERE {_MEMBER_AT}) AS total,"
            f" (SELECT count(*) FROM member m WHERE {_PERSON}"
            "  AND m.joined_at >= :start AND m.joined_at < :end) AS joined,"
            f" (SELECT count(*) FROM member m WHERE {_PERSON}"
            f"  AND {_LEFT_AT} >= :start AND {_LEFT_AT} < :end) AS gone", span)
        assert row is not None
        return row["total"], row["joined"], row["gone"]

    async def _members(self, span: dict) -> MemberFigures:
        total, new, left = await self._movement(span)
        # Countries as members wrote them, counted without regard to case or spaces.
        countries = await self.database.fetch_all(
            f"SELECT min(trim(m.country)) AS name, count(*) AS n FROM member m WHERE {_MEMBER_AT}"
            " GROUP BY lower(trim(m.country)) ORDER BY n DESC, name", span)
        platforms = await self.database.fetch_all(
            f"SELECT i.platform AS name, count(DISTINCT m.id) AS n FROM member m"
            f" JOIN identity i ON i.member_id = m.id WHERE {_MEMBER_AT}"
            " GROUP BY i.platform ORDER BY n DESC, name", span)
        languages = await self.database.fetch_all(
            f"SELECT m.language AS name, count(*) AS n FROM member m WHERE {_MEMBER_AT}"
            " GROUP BY m.language ORDER BY n DESC, name", span)
        active = await self.database.fetch_one(
            "SELECT count(*) AS n FROM member m WHERE m.role = 'member' AND m.id IN ("
            " SELECT asker_id FROM discussion WHERE created_at >= :start AND created_at < :end"
            " UNION SELECT member_id FROM reply WHERE created_at >= :start AND created_at < :end"
            " UNION SELECT i.member_id FROM inbound e JOIN identity i ON i.platform = e.platform"
            "  AND i.user_id = e.user_id"
            f"  WHERE e.received_at >= :start AND e.received_at < :end AND {_PRESSES})", span)
        assert active is not None
        by_country = _shares(countries)
        return MemberFigures(
            total=total, new=new, left=left, active=active["n"],
            countries=sum(1 for share in by_country if share.name),
            by_country=by_country, by_platform=_shares(platforms), by_language=_shares(languages))

    # --- questions ----------------------------------------------------------------------------

    async def _questions(self, span: dict) -> QuestionFigures:
        asked = await self.database.fetch_one(
            "SELECT count(*) AS asked, count(approved_at) AS approved,"
            " count(*) FILTER (WHERE state = 'rejected') AS rejected"
            " FROM discussion WHERE created_at >= :start AND created_at < :end", span)
        assert asked is not None
        shared = await self.database.fetch_all(
            "SELECT d.approved_at, count(r.id) AS replies, min(r.created_at) AS first_reply"
            " FROM discussion d LEFT JOIN reply r ON r.discussion_id = d.id"
            " WHERE d.approved_at >= :start AND d.approved_at < :end GROUP BY d.id", span)
        published = await self.database.fetch_all(
            "SELECT c.published_at - d.created_at AS waited FROM consolidated_reply c"
            " JOIN discussion d ON d.id = c.discussion_id"
            " WHERE c.published_at >= :start AND c.published_at < :end", span)
        replies = [row["replies"] for row in shared]
        first_replies = [row["first_reply"] - row["approved_at"] for row in shared if row["first_reply"] is not None]
        return QuestionFigures(
            asked=asked["asked"], approved=asked["approved"], rejected=asked["rejected"], shared=len(shared),
            replies_mean=statistics.fmean(replies) if replies else None,
            replies_median=statistics.median(replies) if replies else None,
            first_reply_median=statistics.median(first_replies) if first_replies else None,
            publication_median=statistics.median([row["waited"] for row in published]) if published else None,
            published=len(published))

    # --- searches -----------------------------------------------------------------------------

    async def _searches(self, span: dict, top: int) -> SearchFigures:
        # The search log comes with its own migration; before it, nothing is known. (PostgreSQL's
        # schema begins with it.)
        if self.database.dialect == "sqlite" and await self.database.fetch_one(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'search_log'") is None:
            return SearchFigures(recorded=False, searches=0, found_nothing=0, unanswered=())
        counts = await self.database.fetch_one(
            "SELECT count(*) AS searches, count(*) FILTER (WHERE results = 0) AS found_nothing FROM search_log"
            " WHERE at >= :start AND at < :end", span)
        assert counts is not None
        rows = await self.database.fetch_all(
            "SELECT lower(trim(words)) AS words, count(*) AS n FROM search_log"
            " WHERE at >= :start AND at < :end AND results = 0 GROUP BY lower(trim(words))", span)
        # The same words with other spacing are one search.
        merged: dict[str, int] = {}
        for row in rows:
            words = " ".join(str(row["words"] or "").split())
            if words:
                merged[words] = merged.get(words, 0) + row["n"]
        unanswered = sorted(merged.items(), key=lambda item: (-item[1], item[0]))[:top]
        return SearchFigures(recorded=True, searches=counts["searches"], found_nothing=counts["found_nothing"],
                             unanswered=tuple(Share(words, n) for words, n in unanswered))


def _shares(rows: Sequence) -> tuple[Share, ...]:
    return tuple(Share(str(row["name"] or ""), row["n"]) for row in rows)
