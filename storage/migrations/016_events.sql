-- Events (webinars, meetings) with registration, a waiting list and reminders sent once;
-- surveys attached to an event or sent on their own, with one answer per member per question.

CREATE TABLE event (
    id               INTEGER PRIMARY KEY,
    title            TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    speakers         TEXT NOT NULL DEFAULT '',
    starts_at        REAL NOT NULL,
    time_zone        TEXT NOT NULL,               -- the zone the facilitator wrote the start in
    duration         REAL NOT NULL,               -- seconds
    link             TEXT NOT NULL DEFAULT '',    -- where to join online
    place            TEXT NOT NULL DEFAULT '',    -- or where to meet
    capacity         INTEGER,                     -- NULL: no limit
    language         TEXT NOT NULL,
    created_by       INTEGER REFERENCES member (id) ON DELETE SET NULL,
    created_at       REAL NOT NULL,
    recording        TEXT NOT NULL DEFAULT '',
    -- When each reminder and the follow-up went out: set in the transaction that queues them,
    -- so a restart neither loses nor repeats one.
    day_reminder_at  REAL,
    hour_reminder_at REAL,
    followed_up_at   REAL
);
CREATE INDEX event_by_start ON event (starts_at);

CREATE TABLE registration (
    event_id      INTEGER NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE,
    state         TEXT NOT NULL,                  -- registered, waiting, cancelled
    since         REAL NOT NULL,                  -- the waiting list's order
    attended      INTEGER,                        -- NULL: not said; 1 yes; 0 no
    PRIMARY KEY (event_id, member_id)
);
CREATE INDEX registration_by_state ON registration (event_id, state, since);
CREATE INDEX registration_by_member ON registration (member_id);

CREATE TABLE survey (
    id          INTEGER PRIMARY KEY,
    title       TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'draft',    -- draft, open, closed
    event_id    INTEGER REFERENCES event (id) ON DELETE SET NULL,
    created_by  INTEGER REFERENCES member (id) ON DELETE SET NULL,
    created_at  REAL NOT NULL,
    closes_at   REAL,
    audience    TEXT NOT NULL DEFAULT ''          -- whom it was sent to, as the facilitator chose
);
CREATE UNIQUE INDEX survey_of_event ON survey (event_id) WHERE event_id IS NOT NULL;

CREATE TABLE survey_question (
    survey_id  INTEGER NOT NULL REFERENCES survey (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    kind       TEXT NOT NULL,                     -- likert, choice, text
    text       TEXT NOT NULL,
    options    TEXT NOT NULL DEFAULT '[]',        -- JSON list, for a choice
    PRIMARY KEY (survey_id, position)
);

-- `respondent` keeps one answer per person per question; once a member is forgotten their
-- answers stay, anonymous: member_id is cleared and respondent becomes a random key.
CREATE TABLE survey_answer (
    survey_id    INTEGER NOT NULL,
    position     INTEGER NOT NULL,
    respondent   TEXT NOT NULL,
    member_id    INTEGER REFERENCES member (id) ON DELETE SET NULL,
    value        INTEGER,
    text         TEXT,
    answered_at  REAL NOT NULL,
    PRIMARY KEY (survey_id, position, respondent),
    FOREIGN KEY (survey_id, position) REFERENCES survey_question (survey_id, position) ON DELETE CASCADE
);
CREATE INDEX survey_answer_by_member ON survey_answer (member_id);
