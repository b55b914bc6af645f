-- When a member left the network (by /leave, removed by the facilitators, or forgotten at
-- their request), so that monthly reports count members as they were at each month's end.
-- A trigger keeps it, so every way of leaving records it without each knowing; joining again
-- clears it. It follows the system clock, as the bot does when it runs.

ALTER TABLE member ADD COLUMN left_at REAL;

-- Those who left before this migration: the best time known (their removal or forgetting,
-- else the last time they wrote, else when they joined).
UPDATE member SET left_at = coalesce(
    (SELECT max(at) FROM audit WHERE audit.member_id = member.id AND audit.action IN ('remove', 'forget')),
    (SELECT max(last_seen_at) FROM identity WHERE identity.member_id = member.id),
    joined_at)
WHERE status = 'left';

CREATE TRIGGER member_left AFTER UPDATE OF status ON member
WHEN new.status = 'left' AND old.status != 'left'
BEGIN
    UPDATE member SET left_at = (julianday('now') - 2440587.5) * 86400.0 WHERE id = new.id;
END;

CREATE TRIGGER member_back AFTER UPDATE OF status ON member
WHEN old.status = 'left' AND new.status != 'left'
BEGIN
    UPDATE member SET left_at = NULL WHERE id = new.id;
END;
