-- DNS records of sites. data is the record's DNS information as a JSON
-- object holding only the fields of its type. The origin authentication of
-- a CNAME record keeps its AccessKey and SecretKey masked here; the clear
-- values are only ever stored sealed, in record_secrets (AES-256-GCM under
-- the master key, bound to the record id), one row per record that has any.
CREATE TABLE records (
    id              BIGINT  NOT NULL PRIMARY KEY,
    site_id         BIGINT  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    name            TEXT    COLLATE "C" NOT NULL,
    type            TEXT    NOT NULL,
    proxied         INTEGER NOT NULL,
    ttl             INTEGER NOT NULL,
    data            TEXT    NOT NULL,
    biz_name        TEXT    NOT NULL,
    comment         TEXT    NOT NULL,
    source_type     TEXT    NOT NULL,
    host_policy     TEXT    NOT NULL,
    auth_type       TEXT    NOT NULL,
    auth_access_key TEXT    NOT NULL,
    auth_secret_key TEXT    NOT NULL,
    auth_region     TEXT    NOT NULL,
    auth_version    TEXT    NOT NULL,
    created_us      BIGINT  NOT NULL,
    updated_us      BIGINT  NOT NULL
);
CREATE INDEX records_site_name ON records (site_id, name, created_us, id);
CREATE INDEX records_proxied ON records (proxied, site_id);

CREATE TABLE record_secrets (
    id         BIGINT NOT NULL PRIMARY KEY REFERENCES records (id) ON DELETE CASCADE,
    sealed_key BYTEA  NOT NULL
);
