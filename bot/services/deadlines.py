"""Deadlines: each open discussion closes when its reply window ends, and its members get
one reminder before that. APScheduler runs the jobs; the deadlines themselves live in the
database and are scheduled again at every start, so a restart, or a deadline that passed
while the bot was down, still closes the discussion (exactly once: closing is a state
change that only one caller can win)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Awaitable, Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.domain.discussions import Discussion

log = logging.getLogger(__name__)

DiscussionJob = Callable[[int], Awaitable[None]]


class Deadlines:
    def __init__(self, clock: Clock, reminder_before: float, leads: Callable[[], bool] = lambda: True) -> None:
        self.clock = clock
        self.reminder_before = reminder_before
        # Whether this worker leads (see bot/services/leadership.py): only the leader runs the
        # repeated jobs. A discussion's own jobs run wherever they were planned: each is a
        # state change that only one worker can win.
        self.leads = leads
        self._scheduler = AsyncIOScheduler(timezone=timezone.utc)
        self._on_deadline: DiscussionJob | None = None
        self._on_reminder: DiscussionJob | None = None
        self._running: set[asyncio.Task] = set()

    def connect(self, on_deadline: DiscussionJob, on_reminder: DiscussionJob) -> None:
        self._on_deadline = on_deadline
        self._on_reminder = on_reminder

    def start(self) -> None:
        if not self._scheduler.running:
            self._scheduler.start()

    async def stop(self, timeout: float = 3.0) -> None:
        """No new job starts; those running finish (or are cancelled after `timeout`, their
        transaction rolled back, to run again at the next start)."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        running = list(self._running)
        if running:
            _, late = await asyncio.wait(running, timeout=timeout)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    def every(self, seconds: float, job: Callable[[], Awaitable[None]], name: str, now_too: bool = False) -> None:
        """A job repeated while the bot runs (progress reports, digests); with `now_too`, also
        once at start, which catches up what was missed while the bot was down."""
        async def guarded() -> None:
            if self.leads():
                await self._tracked(job(), f"the {name} job failed; it runs again next time")

        self._scheduler.add_job(guarded, "interval", seconds=seconds, id=name, replace_existing=True,
                                coalesce=True, max_instances=1,
                                **({"next_run_time": datetime.now(timezone.utc)} if now_too else {}))

    def schedule(self, discussion: Discussion) -> None:
        """(Re)plan the close and the reminder of an open discussion."""
        if not discussion.is_open or discussion.deadline_at is None:
            self.cancel(discussion.id)
            return
        self._plan(f"close:{discussion.id}", discussion.deadline_at, self._deadline, discussion.id)
        remind_at = discussion.deadline_at - self.reminder_before
        if self.reminder_before > 0 and discussion.reminded_at is None and remind_at > (discussion.approved_at or 0):
            self._plan(f"remind:{discussion.id}", remind_at, self._reminder, discussion.id)

    def cancel(self, discussion_id: int) -> None:
        for job_id in (f"close:{discussion_id}", f"remind:{discussion_id}"):
            if self._scheduler.get_job(job_id):
                self._scheduler.remove_job(job_id)

    def _plan(self, job_id: str, at: float, job: DiscussionJob, discussion_id: int) -> None:
        # The delay is measured on our clock, so a controllable clock in tests moves deadlines.
        delay = max(0.0, at - self.clock.now())
        run_date = datetime.now(timezone.utc) + timedelta(seconds=delay)
        self._scheduler.add_job(
            job, "date", run_date=run_date, args=[discussion_id], id=job_id, replace_existing=True,
            misfire_grace_time=None, coalesce=True,
        )

    async def _deadline(self, discussion_id: int) -> None:
        assert self._on_deadline is not None
        await self._tracked(self._on_deadline(discussion_id), f"closing discussion {discussion_id} at its deadline failed")

    async def _reminder(self, discussion_id: int) -> None:
        assert self._on_reminder is not None
        await self._tracked(self._on_reminder(discussion_id), f"the reminder for discussion {discussion_id} failed")

    async def _tracked(self, work: Awaitable[None], failure: str) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            await work
        except asyncio.CancelledError:
            log.info("a scheduled job was stopped with the bot; it runs again at the next start")
        except Exception:
            log.exception(failure)
        finally:
            self._running.discard(task)
