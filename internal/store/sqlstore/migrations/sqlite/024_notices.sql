-- Notifications (internal/notify). One row per notice: a certificate entered
-- one of its last days, expired, failed to be issued or renewed, recovered.
-- A notice is unique per certificate, event and episode, so that the nodes
-- of a fleet record it once; body is the notice as JSON. unresolved is 1 for
-- a failure whose recovery has not been recorded yet. There is no foreign
-- key to certificates: a notice outlives the certificate it is about.
CREATE TABLE notices (
    id             TEXT    NOT NULL PRIMARY KEY,
    certificate_id TEXT    NOT NULL,
    event          TEXT    NOT NULL,
    episode        TEXT    NOT NULL,
    unresolved     INTEGER NOT NULL,
    created_us     BIGINT  NOT NULL,
    body           TEXT    NOT NULL
);
CREATE UNIQUE INDEX notices_once ON notices (certificate_id, event, episode);
CREATE INDEX notices_unresolved ON notices (unresolved, certificate_id);
CREATE INDEX notices_created ON notices (created_us);

-- One row per notice and channel (a name from the configuration file, never
-- its URL or secret): pending until sent, or failed once given up; the
-- failed attempts so far, when to try next, and the lease of the node that
-- is trying. last_error never holds a secret.
CREATE TABLE notice_deliveries (
    notice_id   TEXT    NOT NULL REFERENCES notices (id) ON DELETE CASCADE,
    channel     TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    attempts    INTEGER NOT NULL,
    next_us     BIGINT  NOT NULL,
    lease_owner TEXT    NOT NULL,
    lease_us    BIGINT  NOT NULL,
    sent_us     BIGINT  NOT NULL,
    last_error  TEXT    NOT NULL,
    PRIMARY KEY (notice_id, channel)
);
CREATE INDEX notice_deliveries_due ON notice_deliveries (status, next_us);

-- What the notifier looks at: certificates near or past their NotAfter.
CREATE INDEX certificates_not_after ON certificates (not_after_us);
