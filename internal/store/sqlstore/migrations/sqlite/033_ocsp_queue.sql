-- The OCSP fetch queue: every certificate with a chain has its row in
-- ocsp_responses from the moment it is stored (sqlstore writes it in the
-- certificate's transaction; a new or replaced leaf is due at once, with
-- next_fetch_us 0), so that the refresher's poll reads only the rows due,
-- through an index, instead of joining every certificate.
INSERT INTO ocsp_responses (cert_id, fingerprint, status, response, this_update_us, next_update_us, revoked_us,
    fetched_us, error, failures, next_fetch_us, rev)
SELECT c.id, c.fingerprint, '', NULL, 0, 0, 0, 0, '', 0, 0, 0 FROM certificates c
WHERE c.chain_pem <> '' AND NOT EXISTS (SELECT 1 FROM ocsp_responses o WHERE o.cert_id = c.id);
-- A leaf replaced since its last fetch: due at once (the claim resets the row).
UPDATE ocsp_responses SET next_fetch_us = 0 WHERE EXISTS (SELECT 1 FROM certificates c
    WHERE c.id = ocsp_responses.cert_id AND c.fingerprint <> ocsp_responses.fingerprint);
DROP INDEX ocsp_responses_next;
CREATE INDEX ocsp_responses_due ON ocsp_responses (next_fetch_us, cert_id);
