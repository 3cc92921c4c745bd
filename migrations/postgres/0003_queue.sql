-- The shared run queue (as migrations/0005_queue.sql): the last position reported to a queued
-- run's watchers.

ALTER TABLE runs ADD COLUMN queue_report TEXT;
CREATE INDEX runs_queued ON runs(created_at, ord) WHERE status = 'queued';
