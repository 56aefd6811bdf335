package cert

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OCSP stapling: the edge staples, to the handshakes of hosts with
// OcspStapling on, the OCSP response of the certificate it serves. The
// responses are fetched in the background (internal/ocsp) from the responder
// each certificate names, kept in the store (shared by every node, kept
// across restarts) and read by the edges from there: a handshake never waits
// for a responder.

// The OCSP states of a certificate, as the store keeps them.
const (
	OCSPGood    = "good"    // the responder says the certificate is good
	OCSPRevoked = "revoked" // the responder says it is revoked
	OCSPUnknown = "unknown" // the responder does not know it
	// OCSPNone: the certificate names no responder (no OCSP URL in its
	// Authority Information Access) or its chain holds no issuer.
	OCSPNone = "none"
)

// OCSPResponse is the last OCSP state fetched for one certificate (by its id
// and the fingerprint of its leaf: a certificate replaced under the same id
// is fetched again).
type OCSPResponse struct {
	CertificateID string
	Fingerprint   string // lowercase hex SHA-256 of the leaf, as Info.FingerprintSHA256
	// Status is one of the OCSP* states, or "" while no response was ever
	// fetched (Error then says why).
	Status string
	// Response is the DER response as the responder signed it (verified
	// against the certificate's issuer); nil without one.
	Response   []byte
	ThisUpdate time.Time
	NextUpdate time.Time // when the response stops being valid
	RevokedAt  time.Time // for a revoked certificate
	Fetched    time.Time // when Response was fetched
	// Error is why the last fetch failed ("" after a success); a failure
	// keeps the response fetched before, served while it is valid.
	Error    string
	Failures int       // fetches failed in a row
	Next     time.Time // when it is fetched again
	// Rev orders the saved responses (see OCSPStore.OCSPResponses).
	Rev int64
}

// OCSPDue is a certificate whose OCSP response is due for a fetch, claimed
// by one node.
type OCSPDue struct {
	CertificateID string
	SiteID        int64
	Fingerprint   string // the leaf's, as it is now
	ChainPEM      string // leaf first, then its issuer
	// Last is what was kept for the certificate (its Status is "" when
	// nothing was, or when the certificate was replaced since).
	Last OCSPResponse
}

// OCSPStore keeps the OCSP responses of certificates.
type OCSPStore interface {
	// ClaimOCSP returns up to n certificates whose OCSP response is due at
	// now (never fetched, fetched for a leaf since replaced, or whose Next
	// has come), moving each one's Next to until: of two nodes that read the
	// same certificate only one gets it.
	ClaimOCSP(ctx context.Context, now, until time.Time, n int) ([]OCSPDue, error)
	// SaveOCSP keeps r for its certificate when the certificate still has
	// r's fingerprint, and gives it a new revision.
	SaveOCSP(ctx context.Context, r OCSPResponse) error
	// OCSPResponses returns the responses saved with a revision after
	// after (all of them for 0), in revision order, and the last revision
	// returned (after itself when none is).
	OCSPResponses(ctx context.Context, after int64) ([]OCSPResponse, int64, error)
	// CatchUpOCSP makes due at once the certificates with a chain that
	// ClaimOCSP would not find (written by a node of an older version
	// without their queue entry, or with a new leaf their entry does not
	// have yet), and reports how many it queued. since is what the last
	// run returned as next, or 0 for a run that reads every certificate: a
	// run may look only at (most of) the certificates written after it. It
	// is idempotent.
	CatchUpOCSP(ctx context.Context, since int64) (queued int, next int64, err error)
}

// OCSPReader reads one certificate's OCSP state, for GetCertificate.
type OCSPReader interface {
	// OCSPResponse returns what is kept for certificate id; ok is false
	// when nothing is (a certificate without a chain yet).
	OCSPResponse(ctx context.Context, id string) (r OCSPResponse, ok bool, err error)
}

// stapleSkew is how far ahead of its ThisUpdate a response is taken as
// valid (the responder's clock may run ahead of ours).
const stapleSkew = 5 * time.Minute

// Problem says why r is not a good OCSP response, valid at now, for the
// leaf whose fingerprint is fp: what keeps the certificate from being
// stapled, and a Must-Staple certificate from being served (the edge logs
// the same text). It is "" when r is such a response.
func (r OCSPResponse) Problem(fp string, now time.Time) string {
	switch {
	case r.Status == "":
		if r.Error != "" {
			return "no OCSP response yet: " + r.Error
		}
		return "no OCSP response (none fetched yet, or the certificate names no responder)"
	case r.Status == OCSPRevoked:
		return "the certificate is revoked"
	case r.Status == OCSPNone:
		return "the certificate names no OCSP responder"
	case r.Status != OCSPGood:
		return "the OCSP responder answered " + r.Status
	case fp != r.Fingerprint:
		return "the OCSP response is for a replaced certificate"
	case len(r.Response) == 0:
		return "no OCSP response"
	case !now.Before(r.NextUpdate):
		return "the OCSP response expired at " + r.NextUpdate.UTC().Format(time.RFC3339)
	case now.Before(r.ThisUpdate.Add(-stapleSkew)):
		return "the OCSP response is not valid yet"
	}
	return ""
}

// oidTLSFeature is the TLS Feature extension (RFC 7633); feature 5 is
// status_request.
var oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}

// MustStaple reports whether leaf asks for status_request (Must-Staple, RFC
// 7633): such a certificate is served only with a good OCSP response. It
// does not allocate (the edge asks on every handshake of a host that
// staples).
func MustStaple(leaf *x509.Certificate) bool {
	if leaf == nil {
		return false
	}
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidTLSFeature) {
			return asksStatusRequest(ext.Value)
		}
	}
	return false
}

// asksStatusRequest reports whether a TLS Feature extension's value (a
// SEQUENCE of INTEGERs) lists status_request (5): Must-Staple.
func asksStatusRequest(value []byte) bool {
	var features cryptobyte.String
	v := cryptobyte.String(value)
	if !v.ReadASN1(&features, cbasn1.SEQUENCE) {
		return false
	}
	for !features.Empty() {
		var f int64
		if !features.ReadASN1Integer(&f) {
			return false
		}
		if f == 5 {
			return true
		}
	}
	return false
}

// OCSPState is a certificate's OCSP state as GetCertificate shows it.
type OCSPState struct {
	Response   OCSPResponse // as kept (Status "" before the first fetch)
	MustStaple bool
	// Problem is why no good response, valid now and for the certificate's
	// leaf, is at hand ("" when one is): the certificate is not stapled,
	// and a Must-Staple one not served (OCSPResponse.Problem).
	Problem string
}

// OCSPState returns c's OCSP state; ok is false when there is none to
// show: no OCSP reader, or c has no chain yet (a free certificate not
// issued).
func (s *Service) OCSPState(ctx context.Context, c Certificate) (st OCSPState, ok bool, err error) {
	if s.OCSP == nil || c.ChainPEM == "" {
		return st, false, nil
	}
	r, found, err := s.OCSP.OCSPResponse(ctx, c.ID)
	if err != nil {
		return st, false, err
	}
	if !found || r.Fingerprint != c.Info.FingerprintSHA256 {
		r = OCSPResponse{CertificateID: c.ID, Fingerprint: c.Info.FingerprintSHA256}
	}
	st.Response = r
	if b, _ := pem.Decode([]byte(c.ChainPEM)); b != nil {
		if leaf, err := x509.ParseCertificate(b.Bytes); err == nil {
			st.MustStaple = MustStaple(leaf)
		}
	}
	st.Problem = r.Problem(c.Info.FingerprintSHA256, s.now())
	return st, true, nil
}
