-- Origin CA, origin client (both scopes) and client CA certificates may be
-- uploaded without a Name, and then answer an empty Name, as ESA does:
-- Terraform's resources take the name as optional and not computed, so a
-- name the server made up would be a diff on every plan. Names stay unique
-- per site (and scope) when given; any number of certificates may have none.
DROP INDEX origin_ca_certificates_site_name;
CREATE UNIQUE INDEX origin_ca_certificates_site_name ON origin_ca_certificates (site_id, name) WHERE name <> '';
DROP INDEX origin_client_certificates_site_scope_name;
CREATE UNIQUE INDEX origin_client_certificates_site_scope_name ON origin_client_certificates (site_id, scope, name) WHERE name <> '';
DROP INDEX client_ca_certificates_site_name;
CREATE UNIQUE INDEX client_ca_certificates_site_name ON client_ca_certificates (site_id, name) WHERE name <> '';
