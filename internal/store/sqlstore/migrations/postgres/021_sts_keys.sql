-- The server key that signs STS security tokens (issue 12, STS), sealed
-- under the master key and bound to its id. Sessions themselves are stored
-- nowhere: a token carries its session, and a session's secret is derived
-- from this key and the token.
CREATE TABLE sts_keys (
    id         TEXT   NOT NULL PRIMARY KEY,
    sealed_key BYTEA  NOT NULL,
    created_us BIGINT NOT NULL
);
