-- SQLite twin of Migrations/0301_files_batches.sql (types as in 0001_identity.sql; bytea is BLOB).

CREATE TABLE broker_files (
    id          TEXT PRIMARY KEY,
    owner       TEXT    NOT NULL,
    purpose     TEXT    NOT NULL,
    filename    TEXT    NOT NULL,
    bytes       INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT    NOT NULL,
    status      TEXT    NOT NULL DEFAULT 'processed'
);
CREATE INDEX ix_broker_files_owner ON broker_files (owner, created_at DESC, id DESC);

CREATE TABLE broker_file_chunks (
    file_id   TEXT    NOT NULL REFERENCES broker_files (id) ON DELETE CASCADE,
    chunk_no  INTEGER NOT NULL,
    data      BLOB    NOT NULL,
    PRIMARY KEY (file_id, chunk_no)
);

CREATE TABLE broker_batches (
    id                TEXT PRIMARY KEY,
    owner             TEXT    NOT NULL,
    caller            TEXT,
    endpoint          TEXT    NOT NULL,
    input_file_id     TEXT    NOT NULL,
    completion_window TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    created_at        TEXT    NOT NULL,
    expires_at        TEXT    NOT NULL,
    in_progress_at    TEXT,
    finalizing_at     TEXT,
    completed_at      TEXT,
    failed_at         TEXT,
    expired_at        TEXT,
    cancelling_at     TEXT,
    cancelled_at      TEXT,
    total             INTEGER NOT NULL DEFAULT 0,
    completed         INTEGER NOT NULL DEFAULT 0,
    failed            INTEGER NOT NULL DEFAULT 0,
    metadata          TEXT,
    output_file_id    TEXT,
    error_file_id     TEXT,
    errors            TEXT
);
CREATE INDEX ix_broker_batches_owner ON broker_batches (owner, created_at DESC, id DESC);
CREATE INDEX ix_broker_batches_active ON broker_batches (status) WHERE status IN ('validating', 'in_progress', 'cancelling', 'finalizing');

CREATE TABLE broker_batch_lines (
    batch_id        TEXT    NOT NULL REFERENCES broker_batches (id) ON DELETE CASCADE,
    line_no         INTEGER NOT NULL,
    custom_id       TEXT    NOT NULL,
    model_group     TEXT    NOT NULL,
    requested_model TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    lease_until     TEXT,
    request_id      TEXT,
    result          TEXT,
    finished_at     TEXT,
    PRIMARY KEY (batch_id, line_no)
);
CREATE INDEX ix_broker_batch_lines_pending ON broker_batch_lines (model_group, batch_id, line_no) WHERE status = 'pending';
CREATE INDEX ix_broker_batch_lines_open ON broker_batch_lines (batch_id) WHERE status IN ('pending', 'in_flight');
CREATE INDEX ix_broker_batch_lines_leased ON broker_batch_lines (lease_until) WHERE status = 'in_flight';
