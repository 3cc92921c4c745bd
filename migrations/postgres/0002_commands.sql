-- Commands for a run's owner (the same table as migrations/0004_commands.sql): stored by the
-- instance that took the request, executed by the run's owner, answered through `result`.

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
