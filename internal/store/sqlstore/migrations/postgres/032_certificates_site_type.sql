-- A site's certificates of some types, counted (up to the quota) when one
-- is added: read from this index alone, without the rows, so that adding a
-- certificate to a site of a million costs at most the quota's entries.
CREATE INDEX certificates_site_type ON certificates (site_id, type);
