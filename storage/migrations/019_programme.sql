-- The community programme: the monthly newsletter and "Know Your Community" features.

-- A newsletter is drafted for a month, previewed and edited by a facilitator, and sent once.
-- `content` is what it said (JSON, the month's items as they stood when drafted), so the
-- exported page shows what members received.
CREATE TABLE newsletter (
    id          INTEGER PRIMARY KEY,
    month       TEXT NOT NULL,                          -- "2026-11"
    intro       TEXT NOT NULL DEFAULT '',               -- the facilitator's introduction
    content     TEXT NOT NULL DEFAULT '{}',
    state       TEXT NOT NULL CHECK (state IN ('draft', 'sent', 'cancelled')),
    created_by  INTEGER REFERENCES member (id) ON DELETE SET NULL,
    created_at  REAL NOT NULL,
    sent_by     INTEGER REFERENCES member (id) ON DELETE SET NULL,
    sent_at     REAL,
    audience    INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX newsletter_sent_once ON newsletter (month) WHERE state = 'sent';

-- One member featured: proposed to the facilitators (or picked), asked, their answers drafted
-- into a text they approve, then a facilitator approves and it is broadcast.
-- proposed -> passed | asked -> review -> approving -> published; asked/review -> declined.
CREATE TABLE feature (
    id            INTEGER PRIMARY KEY,
    member_id     INTEGER REFERENCES member (id) ON DELETE SET NULL,  -- NULL once they are forgotten
    state         TEXT NOT NULL CHECK (state IN ('proposed', 'passed', 'asked', 'review', 'approving',
                                                 'published', 'declined')),
    role          TEXT,                                 -- their answers; NULL: not asked yet, '': skipped
    work          TEXT,
    help          TEXT,
    text          TEXT NOT NULL DEFAULT '',             -- the profile, drafted then approved
    name          TEXT NOT NULL DEFAULT '',             -- their name as published
    proposed_at   REAL NOT NULL,
    asked_at      REAL,
    published_at  REAL,
    published_by  INTEGER REFERENCES member (id) ON DELETE SET NULL
);
CREATE INDEX feature_by_member ON feature (member_id, state);
CREATE INDEX feature_published ON feature (published_at) WHERE state = 'published';

-- When each scheduled job of the programme last did its work: set in the transaction that
-- does it, so a restart neither loses nor repeats one.
CREATE TABLE programme_schedule (
    job      TEXT PRIMARY KEY,
    last_at  REAL NOT NULL
);
