-- The first schema: accounts, projects with their canvas, runs with their tasks, the
-- append-only event log (per-run seq), step modifications, canvas versions and generated files.
-- JSON columns hold the contract's types as text.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,
    tier          TEXT NOT NULL DEFAULT 'free',
    created_at    TEXT NOT NULL
);

CREATE TABLE projects (
    id             TEXT PRIMARY KEY,
    owner_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name           TEXT NOT NULL,
    canvas         TEXT NOT NULL,
    canvas_version INTEGER NOT NULL DEFAULT 0,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX projects_by_owner ON projects(owner_id, created_at);

CREATE TABLE runs (
    id          TEXT PRIMARY KEY,
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
    last_seq    INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT
);
CREATE INDEX runs_by_project ON runs(project_id, created_at);
CREATE INDEX runs_by_status ON runs(status);

CREATE TABLE tasks (
    run_id             TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    id                 TEXT NOT NULL,
    position           INTEGER NOT NULL,
    spec               TEXT NOT NULL,
    status             TEXT NOT NULL,
    started_at         TEXT,
    finished_at        TEXT,
    modification_count INTEGER NOT NULL DEFAULT 0,
    attempts           INTEGER NOT NULL DEFAULT 0,
    output             TEXT,
    error              TEXT,
    PRIMARY KEY (run_id, id)
);

CREATE TABLE events (
    run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    type   TEXT NOT NULL,
    ts     TEXT NOT NULL,
    data   TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

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
    version    INTEGER NOT NULL,
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
    bytes    INTEGER NOT NULL,
    PRIMARY KEY (run_id, path)
);
