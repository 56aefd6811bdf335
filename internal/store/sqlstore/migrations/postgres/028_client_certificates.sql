-- Mutual TLS from visitors (issue 15).
--
-- Client CA certificates (internal/clientca): CAs a site uploads; visitors
-- of the hostnames bound to one (comma-separated) must present a
-- certificate it issued. No private key; cert_pem is the PEM as uploaded
-- and the other columns describe its first certificate.
CREATE TABLE client_ca_certificates (
    id            TEXT    NOT NULL PRIMARY KEY,
    site_id       BIGINT  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name          TEXT    NOT NULL,
    cert_pem      TEXT    NOT NULL,
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
CREATE UNIQUE INDEX client_ca_certificates_site_name ON client_ca_certificates (site_id, name);
CREATE INDEX client_ca_certificates_site_created ON client_ca_certificates (site_id, created_us, id);

-- Each site's own client CA (internal/clientcert), made on first need: it
-- signs the client certificates esacert issues. Its private key is only
-- ever stored sealed (AES-256-GCM under the master key, bound to the id).
-- hostnames: the hostnames whose visitors must present an active
-- certificate it issued, comma-separated.
CREATE TABLE client_issuers (
    id            TEXT    NOT NULL PRIMARY KEY,
    site_id       BIGINT  NOT NULL UNIQUE REFERENCES sites (id) ON DELETE CASCADE,
    cert_pem      TEXT    NOT NULL,
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

-- The client certificates esacert issued (internal/clientcert). Their
-- private keys are never stored. status: active or revoked; the edge
-- accepts the active ones only (by fingerprint).
CREATE TABLE client_certificates (
    id            TEXT    NOT NULL PRIMARY KEY,
    site_id       BIGINT  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    ca_id         TEXT    NOT NULL,
    status        TEXT    NOT NULL,
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
CREATE INDEX client_certificates_site_created ON client_certificates (site_id, created_us, id);
