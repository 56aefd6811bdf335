-- HTTPS configurations of sites (esa-more-api.md §4): both families in one
-- table. The shared fields are columns; settings holds, as a JSON object,
-- the family's settings the client set (parameter name to value), and
-- nothing for the ones it did not set.
CREATE TABLE https_configs (
    config_id    BIGINT  NOT NULL PRIMARY KEY,
    site_id      BIGINT  NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    family       TEXT    NOT NULL,
    config_type  TEXT    NOT NULL,
    rule         TEXT    NOT NULL,
    rule_name    TEXT    NOT NULL,
    rule_enable  TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    site_version INTEGER NOT NULL,
    settings     TEXT    NOT NULL
);
-- At most one global configuration per site and family.
CREATE UNIQUE INDEX https_configs_one_global ON https_configs (site_id, family) WHERE config_type = 'global';
CREATE INDEX https_configs_site ON https_configs (site_id, family, seq, config_id);
