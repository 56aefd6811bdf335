-- The keys that seal the edge's TLS session tickets (internal/ticketkey),
-- shared by every node. id counts the keys in the order they were made;
-- the newest seals new tickets, the one before it still opens them, and
-- older ones are deleted. The key itself is only ever stored sealed
-- (AES-256-GCM under the master key, bound to the id).
CREATE TABLE ticket_keys (
    id         BIGINT NOT NULL PRIMARY KEY,
    sealed_key BYTEA  NOT NULL,
    created_us BIGINT NOT NULL
);
