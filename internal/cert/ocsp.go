package cert

import (
	"context"
	"time"
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
}
