-- Origin CA certificates of sites (internal/origincert): the CAs the edge
-- trusts when it verifies an origin's certificate. They hold no private
-- key; cert_pem is the PEM as uploaded and the other columns describe its
-- first certificate (as in certificates).
CREATE TABLE origin_ca_certificates (
    id            TEXT    NOT NULL PRIMARY KEY,
    site_id       BIGINT  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    cert_pem      TEXT    NOT NULL,
    common_name   TEXT    NOT NULL,
    sans          TEXT    NOT NULL,
    issuer        TEXT    NOT NULL,
    issuer_cn     TEXT    NOT NULL,
    serial        TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    pub_alg       TEXT    NOT NULL,
    sig_alg       TEXT    NOT NULL,
    key_bits      INTEGER NOT NULL,
    not_before_us BIGINT  NOT NULL,
    not_after_us  BIGINT  NOT NULL,
    created_us    BIGINT  NOT NULL,
    updated_us    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX origin_ca_certificates_site_name ON origin_ca_certificates (site_id, name);
CREATE INDEX origin_ca_certificates_site_created ON origin_ca_certificates (site_id, created_us, id);

-- Origin client certificates (internal/origincert): what the edge presents
-- to a site's origins that ask for a client certificate (mTLS). The private
-- key is only ever stored sealed (AES-256-GCM under the master key, bound
-- to the row's id). chain_pem is the chain built from the upload, leaf
-- first; hostnames are the names it is presented for, comma-separated.
CREATE TABLE origin_client_certificates (
    id            TEXT    NOT NULL PRIMARY KEY,
    site_id       BIGINT  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    cert_pem      TEXT    NOT NULL,
    chain_pem     TEXT    NOT NULL,
    sealed_key    BYTEA    NOT NULL,
    hostnames     TEXT    NOT NULL,
    common_name   TEXT    NOT NULL,
    sans          TEXT    NOT NULL,
    issuer        TEXT    NOT NULL,
    issuer_cn     TEXT    NOT NULL,
    serial        TEXT    NOT NULL,
    fingerprint   TEXT    NOT NULL,
    pub_alg       TEXT    NOT NULL,
    sig_alg       TEXT    NOT NULL,
    key_bits      INTEGER NOT NULL,
    not_before_us BIGINT  NOT NULL,
    not_after_us  BIGINT  NOT NULL,
    created_us    BIGINT  NOT NULL,
    updated_us    BIGINT  NOT NULL
);
CREATE UNIQUE INDEX origin_client_certificates_site_name ON origin_client_certificates (site_id, name);
CREATE INDEX origin_client_certificates_site_created ON origin_client_certificates (site_id, created_us, id);
