-- Certificates of sites. The private key is only ever stored sealed
-- (AES-256-GCM under the master key, bound to the row's id).
CREATE TABLE certificates (
    id            TEXT    NOT NULL PRIMARY KEY,
    site_id       BIGINT  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    cas_id        BIGINT,
    region        TEXT    NOT NULL,
    cert_pem      TEXT    NOT NULL,
    chain_pem     TEXT    NOT NULL,
    sealed_key    BYTEA   NOT NULL,
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
CREATE UNIQUE INDEX certificates_site_name ON certificates (site_id, name);
CREATE UNIQUE INDEX certificates_site_cas ON certificates (site_id, cas_id);
CREATE INDEX certificates_site_created ON certificates (site_id, created_us, id);

-- The certificate repository (the "cas" product): what SetCertificate
-- Type=cas copies from.
CREATE TABLE repo_certs (
    id                BIGINT  NOT NULL PRIMARY KEY,
    name              TEXT    NOT NULL,
    region            TEXT    NOT NULL,
    resource_group_id TEXT    NOT NULL,
    cert_pem          TEXT    NOT NULL,
    sealed_key        BYTEA   NOT NULL,
    common_name       TEXT    NOT NULL,
    sans              TEXT    NOT NULL,
    issuer            TEXT    NOT NULL,
    issuer_cn         TEXT    NOT NULL,
    serial            TEXT    NOT NULL,
    fingerprint       TEXT    NOT NULL,
    pub_alg           TEXT    NOT NULL,
    sig_alg           TEXT    NOT NULL,
    key_bits          INTEGER NOT NULL,
    not_before_us     BIGINT  NOT NULL,
    not_after_us      BIGINT  NOT NULL,
    created_us        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX repo_certs_name ON repo_certs (name);
CREATE INDEX repo_certs_created ON repo_certs (created_us, id);
