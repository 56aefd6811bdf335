CREATE TABLE plan_instances (
    id          TEXT    NOT NULL PRIMARY KEY,
    order_id    TEXT    NOT NULL,
    plan_name   TEXT    NOT NULL,
    coverage    TEXT    NOT NULL,
    billing     TEXT    NOT NULL,
    auto_renew  INTEGER NOT NULL,
    period      INTEGER NOT NULL,
    site_quota  INTEGER NOT NULL,
    status      TEXT    NOT NULL,
    is_default  INTEGER NOT NULL,
    created_us  BIGINT  NOT NULL,
    expires_us  BIGINT  NOT NULL
);

CREATE TABLE sites (
    id                BIGINT  NOT NULL PRIMARY KEY,
    name              TEXT    NOT NULL,
    access_type       TEXT    NOT NULL,
    coverage          TEXT    NOT NULL,
    status            TEXT    NOT NULL,
    instance_id       TEXT    NOT NULL REFERENCES plan_instances (id),
    resource_group_id TEXT    NOT NULL,
    verify_code       TEXT    NOT NULL,
    created_us        BIGINT  NOT NULL,
    updated_us        BIGINT  NOT NULL
);
CREATE UNIQUE INDEX sites_name ON sites (name);
CREATE INDEX sites_instance ON sites (instance_id);
CREATE INDEX sites_created ON sites (created_us, id);
