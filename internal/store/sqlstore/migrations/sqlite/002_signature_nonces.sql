-- Signature nonces seen within the request time window, shared by every API
-- node on the database. k is a hash of the access key id and the nonce.
CREATE TABLE signature_nonces (
    k          TEXT   NOT NULL PRIMARY KEY,
    expires_us BIGINT NOT NULL
);
CREATE INDEX signature_nonces_expiry ON signature_nonces (expires_us);
