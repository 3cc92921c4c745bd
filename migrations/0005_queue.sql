-- The shared run queue (multi-instance mode): the last position reported to a queued run's
-- watchers ("position/length"), so a position is said once, whichever instance reports it.

ALTER TABLE runs ADD COLUMN queue_report TEXT;
