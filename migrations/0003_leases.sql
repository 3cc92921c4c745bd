-- Run ownership by lease (docs/ARCHITECTURE.md, "Instances and leases"): which instance drives
-- a run, the epoch that fences its writes, and until when (ms since the epoch, database clock).

ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN lease_until INTEGER;
CREATE INDEX runs_by_lease ON runs(status, lease_until);
