-- Retry saga state (written only by Workers' retry saga): one row per request that needed more than its first attempt,
-- and one attempt ticket per attempt the saga sent, so that each runs and answers at most once. Used when the roles run
-- distributed with a database_url; every row expires a minute after its request's deadline and is swept then.

CREATE TABLE broker_retry_sagas (
    request_id  uuid        PRIMARY KEY,
    version     integer     NOT NULL,       -- optimistic concurrency: an update names the version it loaded
    state       text        NOT NULL,       -- the saga instance as JSON
    expires_at  timestamptz NOT NULL
);

CREATE INDEX broker_retry_sagas_expires ON broker_retry_sagas (expires_at);

CREATE TABLE broker_retry_attempts (
    request_id  uuid        NOT NULL,
    attempt     integer     NOT NULL,
    ticket      text        NOT NULL,       -- 'run:<message>' taken, 'won:<message>' answered, 'timeout' given up
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (request_id, attempt)
);

CREATE INDEX broker_retry_attempts_expires ON broker_retry_attempts (expires_at);
