-- ACME account keys, sealed like every private key, one per CA directory,
-- so restarts and new nodes reuse the account instead of opening another.
CREATE TABLE acme_accounts (
    id         TEXT   PRIMARY KEY,
    sealed_key BLOB   NOT NULL,
    created_us BIGINT NOT NULL
);
