-- The nodes of a fleet, each refreshing its row about once a second: what it
-- runs and which master keys it holds (key_ids, comma-separated, newest
-- first) and seals with (sealing_key_id). rotate-master-key reads it to
-- switch the fleet to a new master key without a restart and to name the
-- nodes that do not hold it yet. A node removes its row when it stops.
CREATE TABLE nodes (
    id             TEXT   NOT NULL PRIMARY KEY,
    host           TEXT   NOT NULL,
    pid            BIGINT NOT NULL,
    roles          TEXT   NOT NULL,
    key_ids        TEXT   NOT NULL,
    sealing_key_id TEXT   NOT NULL,
    started_us     BIGINT NOT NULL,
    seen_us        BIGINT NOT NULL
);
