-- Members, their platform identities, conversation state, discussions, replies, the cards
-- sent to facilitators, everything people sent (inbound) and everything the bot sends (outbox).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE member (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL DEFAULT '',
    organization     TEXT NOT NULL DEFAULT '',
    country          TEXT NOT NULL DEFAULT '',
    topics           TEXT NOT NULL DEFAULT '',      -- ';'-separated
    language         TEXT NOT NULL DEFAULT '',
    featured_consent INTEGER NOT NULL DEFAULT 0,
    role             TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('member', 'facilitator')),
    status           TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused', 'left')),
    delivery         TEXT NOT NULL DEFAULT 'instant' CHECK (delivery IN ('instant', 'daily', 'weekly')),
    joined_at        REAL NOT NULL
);

CREATE TABLE identity (
    platform        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    chat_id         TEXT NOT NULL DEFAULT '',
    member_id       INTEGER NOT NULL REFERENCES member (id) ON DELETE CASCADE,
    reachable       INTEGER NOT NULL DEFAULT 1,    -- 0 after the platform said "blocked"
    unreachable_why TEXT NOT NULL DEFAULT '',
    last_seen_at    REAL,                          -- last message from the person
    PRIMARY KEY (platform, user_id)
);
CREATE INDEX identity_member ON identity (member_id);

-- What the bot waits for from each person (a name, a question's clarification, ...).
CREATE TABLE conversation (
    member_id  INTEGER PRIMARY KEY REFERENCES member (id) ON DELETE CASCADE,
    step       TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '{}',        -- JSON
    updated_at REAL NOT NULL
);

CREATE TABLE discussion (
    id            INTEGER PRIMARY KEY,
    asker_id      INTEGER NOT NULL REFERENCES member (id),
    text          TEXT NOT NULL,
    language      TEXT NOT NULL DEFAULT '',
    anonymous     INTEGER NOT NULL DEFAULT 0,
    state         TEXT NOT NULL,
    state_by      INTEGER REFERENCES member (id),  -- who moved it to its state
    reason        TEXT NOT NULL DEFAULT '',        -- a rejection's or clarification's words
    created_at    REAL NOT NULL,
    approved_at   REAL,
    deadline_at   REAL,
    closed_at     REAL,
    published_at  REAL,
    version       INTEGER NOT NULL DEFAULT 1       -- bumps on every change: stale buttons
);
CREATE INDEX discussion_state ON discussion (state);

CREATE TABLE reply (
    id            INTEGER PRIMARY KEY,
    discussion_id INTEGER NOT NULL REFERENCES discussion (id) ON DELETE CASCADE,
    member_id     INTEGER NOT NULL REFERENCES member (id),
    text          TEXT NOT NULL,
    anonymous     INTEGER NOT NULL DEFAULT 0,
    created_at    REAL NOT NULL
);
CREATE INDEX reply_discussion ON reply (discussion_id);

-- Everything people sent, verbatim, before anything is done with it.
CREATE TABLE inbound (
    id          INTEGER PRIMARY KEY,
    platform    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    chat_id     TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,                    -- text, command, button
    body        TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE INDEX inbound_person ON inbound (platform, user_id, id);

-- One row per message per recipient, written before anything is sent.
-- priority: 0 answers to a person who is waiting, 1 facilitator cards, 2 broadcasts.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    platform        TEXT NOT NULL,
    user_id         TEXT NOT NULL,
    chat_id         TEXT NOT NULL DEFAULT '',
    member_id       INTEGER REFERENCES member (id) ON DELETE SET NULL,
    priority        INTEGER NOT NULL DEFAULT 0,
    purpose         TEXT NOT NULL DEFAULT 'answer', -- answer, card, broadcast, ...
    discussion_id   INTEGER REFERENCES discussion (id) ON DELETE SET NULL,
    body            TEXT NOT NULL,                  -- JSON of an Outgoing
    edit_of         INTEGER REFERENCES outbox (id), -- an edit of that earlier row's message
    state           TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    not_before      REAL NOT NULL DEFAULT 0,        -- Unix time; retries wait until then
    reason          TEXT NOT NULL DEFAULT '',
    message_id      TEXT,                           -- the platform's id once sent
    other_ids       TEXT NOT NULL DEFAULT '',       -- ids of further parts of a split text
    created_at      REAL NOT NULL,
    sent_at         REAL
);
CREATE INDEX outbox_queue ON outbox (platform, state, priority, id) WHERE state = 'queued';
CREATE INDEX outbox_person ON outbox (platform, user_id, id);
CREATE INDEX outbox_message ON outbox (platform, message_id);
CREATE INDEX outbox_discussion ON outbox (discussion_id, purpose);

-- The facilitator cards of a discussion, to edit them all when one facilitator acts.
CREATE TABLE card (
    discussion_id INTEGER NOT NULL REFERENCES discussion (id) ON DELETE CASCADE,
    outbox_id     INTEGER NOT NULL REFERENCES outbox (id),
    kind          TEXT NOT NULL DEFAULT 'moderation',
    language      TEXT NOT NULL DEFAULT '',      -- the card's reader's language, for its edits
    PRIMARY KEY (discussion_id, outbox_id)
);
