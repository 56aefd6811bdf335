-- OCSP stapling: the last OCSP response fetched for each certificate (by its
-- id and its leaf's fingerprint: a replaced certificate is fetched again).
-- Any node with the renewer role fetches the ones that are due, claiming a
-- row by moving next_fetch_us on; the edges read the rows saved after the
-- revision they have (ocsp_revision, bumped by every save, locks until commit
-- so revisions commit in order, as edge_revision does).
CREATE TABLE ocsp_responses (
    cert_id        TEXT    NOT NULL PRIMARY KEY REFERENCES certificates (id) ON DELETE CASCADE,
    fingerprint    TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    response       BLOB,
    this_update_us BIGINT  NOT NULL,
    next_update_us BIGINT  NOT NULL,
    revoked_us     BIGINT  NOT NULL,
    fetched_us     BIGINT  NOT NULL,
    error          TEXT    NOT NULL,
    failures       INTEGER NOT NULL,
    next_fetch_us  BIGINT  NOT NULL,
    rev            BIGINT  NOT NULL
);
CREATE INDEX ocsp_responses_rev ON ocsp_responses (rev);
CREATE INDEX ocsp_responses_next ON ocsp_responses (next_fetch_us);

CREATE TABLE ocsp_revision (
    id  INTEGER NOT NULL PRIMARY KEY,
    rev BIGINT  NOT NULL
);
INSERT INTO ocsp_revision (id, rev) VALUES (1, 0);
