-- The PostgreSQL schema: the same tables and meaning as the SQLite migrations 0001-0003
-- (migrations/*.sql), in PostgreSQL's types. Timestamps stay RFC 3339 text, as the API
-- serves them; JSON columns hold the contract's types as text. Lease times are milliseconds
-- since the epoch by the database's clock.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    tier          TEXT NOT NULL DEFAULT 'free',
    created_at    TEXT NOT NULL
);
CREATE UNIQUE INDEX users_by_email ON users (lower(email));

CREATE TABLE projects (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    canvas         TEXT NOT NULL,
    canvas_version BIGINT NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX projects_by_owner ON projects(owner_id, created_at);

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
    -- Insertion order: the tie-break between runs created in the same millisecond.
    ord         BIGSERIAL NOT NULL,
    project_id  TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    owner_id    TEXT NOT NULL,
    prompt      TEXT NOT NULL,
    status      TEXT NOT NULL,
    intent      TEXT,
    path        TEXT,
    path_reason TEXT,
    context     TEXT,
    summary     TEXT,
    error       TEXT,
    last_seq    BIGINT NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    lease_owner TEXT,
    lease_epoch BIGINT NOT NULL DEFAULT 0,
    lease_until BIGINT
);
CREATE INDEX runs_by_project ON runs(project_id, created_at);
CREATE INDEX runs_by_status ON runs(status);
CREATE INDEX runs_by_owner ON runs(owner_id, created_at);
CREATE INDEX runs_by_lease ON runs(status, lease_until);

CREATE TABLE tasks (
    run_id             TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    position           BIGINT NOT NULL,
    spec               TEXT NOT NULL,
    status             TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    modification_count BIGINT NOT NULL DEFAULT 0,
    attempts           BIGINT NOT NULL DEFAULT 0,
    output             TEXT,
    error              TEXT,
    PRIMARY KEY (run_id, id)
);

CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    BIGINT NOT NULL,
    type   TEXT NOT NULL,
    ts     TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE modifications (
    id      TEXT PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    task_id TEXT NOT NULL,
    ts      TEXT NOT NULL,
    body    TEXT NOT NULL
);
CREATE INDEX modifications_by_run ON modifications(run_id, task_id, ts);

CREATE TABLE canvas_versions (
    project_id TEXT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    run_id     TEXT,
    canvas     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (project_id, version)
);

CREATE TABLE files (
    run_id   TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    path     TEXT NOT NULL,
    language TEXT NOT NULL,
    task_id  TEXT NOT NULL,
    content  TEXT NOT NULL,
    bytes    BIGINT NOT NULL,
    PRIMARY KEY (run_id, path)
);

CREATE TABLE revoked_sessions (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_sessions_by_expiry ON revoked_sessions(expires_at);
