package console

// hint is what a failed free certificate's ApplyCode means, in a heading,
// and what the operator can do about it. ApplyMessage (shown beside it)
// says what happened this time.
type hint struct{ Heading, Fix string }

// applyHints are the ApplyCodes the issuer answers (internal/acme's
// Code… constants; a test keeps the two in step).
var applyHints = map[int]hint{
	1: {"Issuance failed", "Read the message: the certificate authority's refusal says why. esacert retries, waiting longer after each failure."},
	2: {"The domain could not be validated",
		"Make the name resolve to an edge node and let the certificate authority reach it: plain HTTP on port 80 (HTTP-01), " +
			"HTTPS on port 443 without a TLS-terminating proxy in front (TLS-ALPN-01), or, for DNS-01, a DNS provider that serves the name's zone."},
	3: {"CAA records forbid this certificate authority",
		"Add a CAA record to the domain that allows the certificate authority (for Let's Encrypt: 0 issue \"letsencrypt.org\"), or remove the CAA records."},
	4: {"The certificate authority's rate limit was reached", "Nothing to fix now: esacert tries again later. Avoid deleting and re-applying for the same names."},
	5: {"The certificate authority cannot be reached",
		"Check that this node reaches the CA's directory (network, proxy, --acme-ca and --acme-ca-roots). esacert keeps trying."},
	6: {"The certificate authority refused the ACME account",
		"If the CA requires external account binding, give its key id and HMAC key in ESACERT_ACME_EAB; check --acme-email."},
}

// Hint returns what the certificate's ApplyCode means; the zero hint when
// it did not fail.
func (v certView) Hint() hint {
	if !v.Failed() {
		return hint{}
	}
	if h, ok := applyHints[v.ApplyCode]; ok {
		return h
	}
	return applyHints[1]
}
