-- The keys that seal the edge's TLS session tickets (internal/ticketkey),
-- shared by every node. id counts the keys in the order they were made;
-- three are kept: the one sealing new tickets, the one before it (still
-- opening them) and the next (known to every node before it seals). The key itself is only ever stored sealed
-- (AES-256-GCM under the master key, bound to the id).
CREATE TABLE ticket_keys (
    id         BIGINT NOT NULL PRIMARY KEY,
    sealed_key BYTEA  NOT NULL,
    created_us BIGINT NOT NULL
);
