"""Words the bot says whose message is chosen at run time (a member's status, a question's
state): marked here so the catalogs have them."""

from __future__ import annotations

from bot.texts.catalog import N_

MEMBER_STATUS = {"active": N_("active"), "paused": N_("paused"), "left": N_("left")}

DISCUSSION_STATE = {
    "submitted": N_("waiting for approval"),
    "clarifying": N_("waiting for the asker's clarification"),
    "approved": N_("open for replies"),
    "closed": N_("closed"),
    "published": N_("published"),
    "rejected": N_("rejected"),
    "withdrawn": N_("withdrawn"),
}
