-- Accounts and authorization: revoked sessions (so logout ends a token before it expires) and
-- the index the per-day run quota counts with.

CREATE TABLE revoked_sessions (
    jti        TEXT PRIMARY KEY,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions(expires_at);

CREATE INDEX runs_by_owner ON runs(owner_id, created_at);
