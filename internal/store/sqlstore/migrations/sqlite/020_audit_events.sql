-- The audit trail: one row per recorded request (see internal/audit). The
-- columns are what LookupEvents filters on; body holds the whole event as
-- JSON, its parameters already masked. Rows older than the retention are
-- pruned by the nodes.
CREATE TABLE audit_events (
    id            TEXT   NOT NULL,
    time_us       BIGINT NOT NULL,
    event_name    TEXT   NOT NULL,
    service       TEXT   NOT NULL,
    rw            TEXT   NOT NULL,
    user_name     TEXT   NOT NULL,
    access_key_id TEXT   NOT NULL,
    resource_name TEXT   NOT NULL,
    resource_type TEXT   NOT NULL,
    error_code    TEXT   NOT NULL,
    body          TEXT   NOT NULL
);
CREATE INDEX audit_events_time ON audit_events (time_us, id);
