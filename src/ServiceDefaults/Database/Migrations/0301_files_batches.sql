-- Files and batches (OpenAI's Files + Batches API). Written by the Ingress role: the files/batches endpoints and
-- the batch dispatcher. A file's content is stored in chunks (bytea), written and read as a stream.

CREATE TABLE broker_files (
    id          text PRIMARY KEY,                 -- file-...
    owner       text        NOT NULL,             -- the creating key's hash, or 'master'
    purpose     text        NOT NULL,             -- batch, batch_output, ...
    filename    text        NOT NULL,
    bytes       bigint      NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL,
    status      text        NOT NULL DEFAULT 'processed'
);
CREATE INDEX ix_broker_files_owner ON broker_files (owner, created_at DESC, id DESC);

CREATE TABLE broker_file_chunks (
    file_id   text    NOT NULL REFERENCES broker_files (id) ON DELETE CASCADE,
    chunk_no  integer NOT NULL,
    data      bytea   NOT NULL,
    PRIMARY KEY (file_id, chunk_no)
);

CREATE TABLE broker_batches (
    id                text PRIMARY KEY,           -- batch_...
    owner             text        NOT NULL,
    caller            jsonb,                      -- the submitting Caller (billed per line); null = master key / open
    endpoint          text        NOT NULL,
    input_file_id     text        NOT NULL,
    completion_window text        NOT NULL,
    status            text        NOT NULL,       -- validating, failed, in_progress, finalizing, completed, expired, cancelling, cancelled
    created_at        timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    in_progress_at    timestamptz,
    finalizing_at     timestamptz,
    completed_at      timestamptz,
    failed_at         timestamptz,
    expired_at        timestamptz,
    cancelling_at     timestamptz,
    cancelled_at      timestamptz,
    total             integer     NOT NULL DEFAULT 0,
    completed         integer     NOT NULL DEFAULT 0,
    failed            integer     NOT NULL DEFAULT 0,
    metadata          jsonb,
    output_file_id    text,
    error_file_id     text,
    errors            jsonb
);
CREATE INDEX ix_broker_batches_owner ON broker_batches (owner, created_at DESC, id DESC);
CREATE INDEX ix_broker_batches_active ON broker_batches (status) WHERE status IN ('validating', 'in_progress', 'cancelling', 'finalizing');

-- One row per request line: its progress survives any process's crash. status: pending, in_flight (leased until
-- lease_until), done (result = the output line), failed (result = the error line), expired, cancelled.
CREATE TABLE broker_batch_lines (
    batch_id        text        NOT NULL REFERENCES broker_batches (id) ON DELETE CASCADE,
    line_no         integer     NOT NULL,
    custom_id       text        NOT NULL,
    model_group     text        NOT NULL,
    requested_model text        NOT NULL,
    body            text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    request_id      uuid,
    result          text,
    finished_at     timestamptz,
    PRIMARY KEY (batch_id, line_no)
);
CREATE INDEX ix_broker_batch_lines_pending ON broker_batch_lines (model_group, batch_id, line_no) WHERE status = 'pending';
CREATE INDEX ix_broker_batch_lines_open ON broker_batch_lines (batch_id) WHERE status IN ('pending', 'in_flight');
CREATE INDEX ix_broker_batch_lines_leased ON broker_batch_lines (lease_until) WHERE status = 'in_flight';
