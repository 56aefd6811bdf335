-- Background verification of pending sites: when each is next checked,
-- and how many checks it has failed (the gap between checks grows with it).
ALTER TABLE sites ADD COLUMN verify_next_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE sites ADD COLUMN verify_failures INTEGER NOT NULL DEFAULT 0;
CREATE INDEX sites_verify_due ON sites (status, verify_next_us);
