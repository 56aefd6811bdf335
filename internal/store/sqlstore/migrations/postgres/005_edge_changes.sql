-- The change feed the edge follows. Every transaction that changes what the
-- edge serves (a site, a certificate, a record, an HTTPS setting) bumps the
-- one revision row and records one change per touched object with that
-- revision. Bumping the row locks it until commit, so revisions commit in
-- order and an edge that has read revision N has seen every change up to N.
CREATE TABLE edge_revision (
    id  INTEGER NOT NULL PRIMARY KEY,
    rev BIGINT  NOT NULL
);
INSERT INTO edge_revision (id, rev) VALUES (1, 0);

CREATE TABLE edge_changes (
    rev     BIGINT NOT NULL,
    site_id BIGINT NOT NULL,
    kind    TEXT   NOT NULL,
    ref     TEXT   NOT NULL
);
CREATE INDEX edge_changes_rev ON edge_changes (rev);
