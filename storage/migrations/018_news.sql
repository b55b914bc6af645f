-- News shared by members (approved by a facilitator like a question), and the facilitators'
-- briefs and alerts, each for everyone or for the members of some countries, topics or
-- languages; and the facilitators' cards about news waiting for them.

CREATE TABLE news (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('workshop', 'publication', 'job', 'resource', 'other', 'brief',
                                                  'alert')),
    title           TEXT NOT NULL,
    text            TEXT NOT NULL,
    link            TEXT NOT NULL DEFAULT '',
    submitted_by    INTEGER REFERENCES member (id) ON DELETE SET NULL,  -- NULL once forgotten
    state           TEXT NOT NULL CHECK (state IN ('submitted', 'approved', 'rejected')),
    state_by        INTEGER REFERENCES member (id) ON DELETE SET NULL,
    reason          TEXT NOT NULL DEFAULT '',                           -- a rejection's words
    audience        TEXT NOT NULL DEFAULT 'everyone' CHECK (audience IN ('everyone', 'country', 'topic', 'language')),
    audience_values TEXT NOT NULL DEFAULT '',                           -- ';'-separated
    created_at      REAL NOT NULL,
    decided_at      REAL                                                -- approved (and sent) or rejected
);
CREATE INDEX news_sent ON news (state, decided_at);
CREATE INDEX news_submitter ON news (submitted_by);

CREATE TABLE news_card (
    news_id   INTEGER NOT NULL REFERENCES news (id) ON DELETE CASCADE,
    outbox_id INTEGER NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    language  TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (news_id, outbox_id)
);
