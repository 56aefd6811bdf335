-- Free (ACME) certificates: their application state, the CA they come from,
-- when to try next or renew, and the renewer's lease.
ALTER TABLE certificates ADD COLUMN apply_status TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN apply_code INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN apply_message TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN ca TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN next_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE certificates ADD COLUMN lease_owner TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN lease_us BIGINT NOT NULL DEFAULT 0;
CREATE INDEX certificates_due ON certificates (type, next_us);

-- HTTP-01 challenge answers the edge serves, shared by every node.
CREATE TABLE acme_challenges (
    host       TEXT   NOT NULL,
    token      TEXT   NOT NULL,
    key_auth   TEXT   NOT NULL,
    expires_us BIGINT NOT NULL,
    PRIMARY KEY (host, token)
);
