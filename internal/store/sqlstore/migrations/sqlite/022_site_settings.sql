-- A site's feature settings (internal/sitesetting): the switches the API
-- keeps and the edge obeys. One row per site, written when the site is
-- created; a site without a row (created before this migration, or by a
-- node that did not know it yet) reads as it was served then: IPv6 on, not
-- paused, no client-IP header (sitesetting.LegacyConfig).
CREATE TABLE site_settings (
    site_id             BIGINT  NOT NULL PRIMARY KEY REFERENCES sites (id) ON DELETE CASCADE,
    paused              INTEGER NOT NULL,
    ipv6                INTEGER NOT NULL,
    ipv6_region         TEXT    NOT NULL,
    real_ip_header      INTEGER NOT NULL,
    real_ip_header_name TEXT    NOT NULL
);

-- The tags of sites (ESA's TagResources with ResourceType site), deleted
-- with the site.
CREATE TABLE site_tags (
    site_id   BIGINT NOT NULL REFERENCES sites (id) ON DELETE CASCADE,
    tag_key   TEXT   NOT NULL,
    tag_value TEXT   NOT NULL,
    PRIMARY KEY (site_id, tag_key)
);
