-- The RSA twin of a free ECDSA certificate (--free-cert-rsa-twin): served to
-- clients that cannot use ECDSA, under the same certificate Id.
ALTER TABLE certificates ADD COLUMN twin_chain_pem TEXT NOT NULL DEFAULT '';
ALTER TABLE certificates ADD COLUMN twin_sealed_key BLOB;
ALTER TABLE certificates ADD COLUMN twin_not_after_us BIGINT NOT NULL DEFAULT 0;
