-- Site origin client certificates (UploadSiteOriginClientCertificate) live
-- in origin_client_certificates beside the hostname-level ones: the same
-- checks, the same sealed key, the same re-sealing on a master key
-- rotation. scope tells them apart: 'hostname' (the existing rows) or
-- 'site'. Names are unique per site within a scope.
ALTER TABLE origin_client_certificates ADD COLUMN scope TEXT NOT NULL DEFAULT 'hostname';
DROP INDEX origin_client_certificates_site_name;
CREATE UNIQUE INDEX origin_client_certificates_site_scope_name ON origin_client_certificates (site_id, scope, name);
DROP INDEX origin_client_certificates_site_created;
CREATE INDEX origin_client_certificates_site_scope_created ON origin_client_certificates (site_id, scope, created_us, id);
