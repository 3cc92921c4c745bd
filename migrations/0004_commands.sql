-- Commands for a run's owner (multi-instance mode): an edit, an impact analysis or a cancel
-- submitted to any instance is stored here, signalled to the instance that drives the run,
-- executed there, and its answer written back for the instance that took the request.

CREATE TABLE run_commands (
    id         TEXT PRIMARY KEY,
    run_id     TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    body       TEXT NOT NULL,
    status     TEXT NOT NULL,
    taken_by   TEXT,
    result     TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX run_commands_by_status ON run_commands(status, run_id);
