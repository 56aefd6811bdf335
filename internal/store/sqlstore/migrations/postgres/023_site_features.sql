-- Which of a site's settings a user set, and to what (internal/sitesetting):
-- the Terraform provider reads them back and plans a change for any value
-- its configuration does not hold, so a setting never set reads "" and one
-- set reads back as set.
--
-- real_ip_header_set: AddRealClientIpHeader was set (to on or off, as
-- real_ip_header says); a row from before this migration counts as set
-- when the header is on (an off set then cannot be told from never set).
-- features: a JSON object of the values set for the parameters of the
-- features esacert answers as off, by "UpdateAction.Param"
-- (sitesetting.FeatureKey); a parameter not in it was never set.
ALTER TABLE site_settings ADD COLUMN real_ip_header_set INTEGER NOT NULL DEFAULT 0;
ALTER TABLE site_settings ADD COLUMN features TEXT NOT NULL DEFAULT '{}';
UPDATE site_settings SET real_ip_header_set = 1 WHERE real_ip_header = 1;
