-- Facts about the database itself, such as the id of the master key that
-- seals its private keys (master_key_id).
CREATE TABLE meta (
    k TEXT NOT NULL PRIMARY KEY,
    v TEXT NOT NULL
);
