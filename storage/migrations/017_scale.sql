-- A network of 100,000 members on one machine.

-- A message sent to many people is stored once; their rows refer to it (body left '').
CREATE TABLE outbox_body (
    id   INTEGER PRIMARY KEY,
    body TEXT NOT NULL
);
ALTER TABLE outbox ADD COLUMN body_id INTEGER REFERENCES outbox_body (id);
CREATE INDEX outbox_shared_body ON outbox (body_id) WHERE body_id IS NOT NULL;

-- A broadcast to the whole network is planned in the transaction that decided it, then its
-- rows are written in short batches, member by member in id order (after_member is the
-- cursor), so approving never holds the database for long and a restart resumes the plan.
CREATE TABLE broadcast_plan (
    id               INTEGER PRIMARY KEY,
    discussion_id    INTEGER REFERENCES discussion (id) ON DELETE SET NULL,
    purpose          TEXT NOT NULL,
    priority         INTEGER NOT NULL,
    default_language TEXT NOT NULL,
    exclude          TEXT NOT NULL DEFAULT '',  -- member ids, comma-separated
    platforms        TEXT NOT NULL DEFAULT '',  -- platforms served, comma-separated; '' for all
    after_member     INTEGER NOT NULL DEFAULT 0,
    planned          INTEGER NOT NULL,          -- members it was for when planned
    written          INTEGER NOT NULL DEFAULT 0,
    created_at       REAL NOT NULL,
    done_at          REAL
);
CREATE INDEX broadcast_plan_open ON broadcast_plan (id) WHERE done_at IS NULL;

CREATE TABLE broadcast_plan_body (
    plan_id  INTEGER NOT NULL REFERENCES broadcast_plan (id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    platform TEXT NOT NULL,
    body_id  INTEGER NOT NULL REFERENCES outbox_body (id),
    PRIMARY KEY (plan_id, platform, language)
) WITHOUT ROWID;

-- A discussion's messages counted as their rows change state, so a progress line reads a
-- few rows instead of counting a whole broadcast every few seconds. Only originals count
-- (not edits); 'waiting' is a row queued until its person writes again; 'delivered' and
-- 'read' count the platforms' confirmations.
CREATE TABLE outbox_tally (
    discussion_id INTEGER NOT NULL,
    purpose       TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    n             INTEGER NOT NULL,
    PRIMARY KEY (discussion_id, purpose, state, reason)
) WITHOUT ROWID;

INSERT INTO outbox_tally (discussion_id, purpose, state, reason, n)
SELECT discussion_id, purpose,
       CASE WHEN state = 'queued' AND not_before >= 1e18 THEN 'waiting' ELSE state END,
       CASE WHEN state = 'failed' THEN reason ELSE '' END, count(*)
FROM outbox WHERE discussion_id IS NOT NULL AND edit_of IS NULL GROUP BY 1, 2, 3, 4;
INSERT INTO outbox_tally (discussion_id, purpose, state, reason, n)
SELECT discussion_id, purpose, 'delivered', '', count(*) FROM outbox
WHERE discussion_id IS NOT NULL AND edit_of IS NULL AND delivered_at IS NOT NULL GROUP BY 1, 2;
INSERT INTO outbox_tally (discussion_id, purpose, state, reason, n)
SELECT discussion_id, purpose, 'read', '', count(*) FROM outbox
WHERE discussion_id IS NOT NULL AND edit_of IS NULL AND read_at IS NOT NULL GROUP BY 1, 2;

CREATE TRIGGER outbox_tally_added AFTER INSERT ON outbox
WHEN new.discussion_id IS NOT NULL AND new.edit_of IS NULL
BEGIN
    INSERT INTO outbox_tally (discussion_id, purpose, state, reason, n)
    VALUES (new.discussion_id, new.purpose,
            CASE WHEN new.state = 'queued' AND new.not_before >= 1e18 THEN 'waiting' ELSE new.state END,
            CASE WHEN new.state = 'failed' THEN new.reason ELSE '' END, 1)
    ON CONFLICT (discussion_id, purpose, state, reason) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_tally_moved AFTER UPDATE OF state, not_before, reason, discussion_id ON outbox
WHEN new.edit_of IS NULL
 AND (old.discussion_id IS NOT new.discussion_id
      OR (CASE WHEN old.state = 'queued' AND old.not_before >= 1e18 THEN 'waiting' ELSE old.state END)
         != (CASE WHEN new.state = 'queued' AND new.not_before >= 1e18 THEN 'waiting' ELSE new.state END)
      OR (CASE WHEN old.state = 'failed' THEN old.reason ELSE '' END)
         != (CASE WHEN new.state = 'failed' THEN new.reason ELSE '' END))
BEGIN
    UPDATE outbox_tally SET n = n - 1
    WHERE old.discussion_id IS NOT NULL AND discussion_id = old.discussion_id AND purpose = old.purpose
      AND state = (CASE WHEN old.state = 'queued' AND old.not_before >= 1e18 THEN 'waiting' ELSE old.state END)
      AND reason = (CASE WHEN old.state = 'failed' THEN old.reason ELSE '' END);
    INSERT INTO outbox_tally (discussion_id, purpose, state, reason, n)
    SELECT new.discussion_id, new.purpose,
           CASE WHEN new.state = 'queued' AND new.not_before >= 1e18 THEN 'waiting' ELSE new.state END,
           CASE WHEN new.state = 'failed' THEN new.reason ELSE '' END, 1
    WHERE new.discussion_id IS NOT NULL
    ON CONFLICT (discussion_id, purpose, state, reason) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_tally_confirmed AFTER UPDATE OF delivered_at ON outbox
WHEN new.edit_of IS NULL AND new.discussion_id IS NOT NULL AND old.delivered_at IS NULL AND new.delivered_at IS NOT NULL
BEGIN
    INSERT INTO outbox_tally (discussion_id, purpose, state, reason, n)
    VALUES (new.discussion_id, new.purpose, 'delivered', '', 1)
    ON CONFLICT (discussion_id, purpose, state, reason) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_tally_read AFTER UPDATE OF read_at ON outbox
WHEN new.edit_of IS NULL AND new.discussion_id IS NOT NULL AND old.read_at IS NULL AND new.read_at IS NOT NULL
BEGIN
    INSERT INTO outbox_tally (discussion_id, purpose, state, reason, n)
    VALUES (new.discussion_id, new.purpose, 'read', '', 1)
    ON CONFLICT (discussion_id, purpose, state, reason) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER outbox_tally_removed AFTER DELETE ON outbox
WHEN old.discussion_id IS NOT NULL AND old.edit_of IS NULL
BEGIN
    UPDATE outbox_tally SET n = n - 1
    WHERE discussion_id = old.discussion_id AND purpose = old.purpose
      AND (state = (CASE WHEN old.state = 'queued' AND old.not_before >= 1e18 THEN 'waiting' ELSE old.state END)
           AND reason = (CASE WHEN old.state = 'failed' THEN old.reason ELSE '' END)
           OR state = 'delivered' AND old.delivered_at IS NOT NULL
           OR state = 'read' AND old.read_at IS NOT NULL);
END;

-- Who a broadcast goes to, read in member order with the reachable identity of each.
CREATE INDEX identity_reachable ON identity (member_id, reachable, platform, last_seen_at);
