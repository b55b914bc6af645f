"""One step for every change a person makes to a discussion: the domain's answer is stored,
or the person is told why not, in the same words wherever they pressed or wrote: that the
question has moved on (and who moved it), that another facilitator was a moment quicker, or
what is wrong with their text."""

from __future__ import annotations

from dataclasses import dataclass
from bot.domain.discussions import Discussion, State
from bot.domain.refusal import Refusal
from bot.services.discussions import DiscussionStore
from bot.services.members import MemberStore
from bot.services.turn import Turn

CONFLICT = Refusal("Another facilitator acted on this question a moment ago: look at the updated card.")


@dataclass(eq=False)
class Changes:
    discussions: DiscussionStore
    members: MemberStore

    async def apply(self, turn: Turn, discussion: Discussion, changed: Discussion | Refusal,
                    in_step: bool = False) -> Discussion | None:
        """The stored discussion, or None when the change was refused (the person was told).

        `in_step`: the change is the text the bot waited for; a refusal because the question
        moved on ends the wait, one about the text itself keeps it, so they can send it again."""
        if isinstance(changed, Refusal):
            moved_on = changed == discussion.where_it_stands()
            if in_step and moved_on:
                await turn.stop_waiting()
            await turn.refuse(await self.explain(discussion, changed) if moved_on else changed)
            return None
        if not await self.discussions.save(changed, discussion.version):
            if in_step:
                await turn.stop_waiting()
            await turn.refuse(CONFLICT)
            return None
        if in_step:
            await turn.stop_waiting()
        return changed

    async def explain(self, discussion: Discussion, refusal: Refusal | None = None) -> Refusal:
        """Why the question is not where the person expected: who approved or rejected it,
        when someone did."""
        if discussion.state in (State.APPROVED, State.REJECTED) and discussion.state_by:
            by = await self.members.get(discussion.state_by)
            if by is not None and by.name:
                if discussion.state is State.APPROVED:
                    return Refusal("{by} already approved this question.", {"by": by.name})
                return Refusal("{by} already rejected this question.", {"by": by.name})
        return refusal or discussion.where_it_stands()
