-- When the renewer next asks the CA's ACME Renewal Information whether an
-- issued free certificate should be renewed sooner; 0: not scheduled.
ALTER TABLE certificates ADD COLUMN ari_check_us BIGINT NOT NULL DEFAULT 0;
