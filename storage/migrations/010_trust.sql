-- Trust: what facilitators did (the audit log), facilitators added at run time, members
-- muted or removed by the facilitators.

CREATE TABLE audit (
    id             INTEGER PRIMARY KEY,
    at             REAL NOT NULL,
    actor_id       INTEGER REFERENCES member (id) ON DELETE SET NULL,
    actor_name     TEXT NOT NULL DEFAULT '',     -- kept as it was then
    platform       TEXT NOT NULL DEFAULT '',
    action         TEXT NOT NULL,
    discussion_id  INTEGER,
    member_id      INTEGER,                     -- the member acted on
    detail         TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_recent ON audit (id DESC);

CREATE TABLE added_facilitator (
    platform   TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    added_by   INTEGER REFERENCES member (id) ON DELETE SET NULL,
    added_at   REAL NOT NULL,
    PRIMARY KEY (platform, user_id)
);

ALTER TABLE member ADD COLUMN muted_reason TEXT;     -- set: the member may not ask or reply
ALTER TABLE member ADD COLUMN removed_reason TEXT;   -- set: removed by the facilitators
