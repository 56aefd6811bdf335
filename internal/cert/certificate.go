package cert

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
)

// Certificate types.
const (
	TypeUpload  = "upload"
	TypeCAS     = "cas"
	TypeFree    = "free"
	TypeKeyless = "keyless"
)

// CustomTypes are the types counted against a plan's custom quota.
var CustomTypes = []string{TypeUpload, TypeCAS, TypeKeyless}

// Certificate statuses.
const (
	StatusOK          = "OK"
	StatusExpiring    = "Expiring"
	StatusExpired     = "Expired"
	StatusApplying    = "Applying"
	StatusApplyFailed = "ApplyFailed"
)

// ExpiringWithin is how close to NotAfter a certificate counts as Expiring.
const ExpiringWithin = 30 * 24 * time.Hour

// Certificate is a certificate of a site. Certificates are values; the store
// hands out copies.
type Certificate struct {
	ID       string // 32 lowercase hex characters
	SiteID   int64
	SiteName string // filled in by the store on reads
	Name     string // unique within the site
	Type     string
	CasID    int64  // the repository certificate a cas certificate was taken from
	Region   string // the repository region of a cas certificate
	// CertPEM is the certificate text exactly as uploaded (or as the
	// repository holds it); ChainPEM is the chain in serving order, leaf first.
	CertPEM  string
	ChainPEM string
	// SealedKey is the private key sealed under the master key, bound to ID.
	SealedKey []byte
	Info      certcheck.Info
	Created   time.Time
	Updated   time.Time
	// Free is the issuance state of a free (ACME) certificate.
	Free FreeState
	// Twin is the RSA twin of a free ECDSA certificate, for clients that
	// cannot use ECDSA; nil when there is none (or, written, keep the one
	// stored).
	Twin *Twin
}

// Twin is a second chain and key served under a certificate's Id.
type Twin struct {
	ChainPEM  string
	SealedKey []byte // bound to TwinID(the certificate's Id)
	NotAfter  time.Time
}

// TwinID is the id a certificate's twin is sealed and served under.
func TwinID(id string) string { return id + "~rsa" }

// FreeState is where a free certificate's issuance or renewal stands.
type FreeState struct {
	Status   string    // Applying or ApplyFailed while working; "" after a success
	Code     int       // ApplyCode of the last failure, 0 after a success
	Message  string    // ApplyMessage: why the last attempt failed, in words a user can act on
	CA       string    // the configured CA name (ApplyCertificate's Type)
	Attempts int       // failures since the last success
	Next     time.Time // the next attempt, or the renewal time once issued
	// ARICheck is when to ask the CA's ACME Renewal Information again
	// whether to renew sooner than Next; zero when the CA has none.
	ARICheck time.Time
}

// Issued reports whether the certificate has content to serve.
func (c Certificate) Issued() bool { return c.ChainPEM != "" }

// Status is OK, Expiring (within 30 days of NotAfter) or Expired at now;
// for a free certificate not issued yet, Applying or ApplyFailed.
func (c Certificate) Status(now time.Time) string {
	return status(c.Type, c.Issued(), c.Free.Status, c.Info.NotAfter, now)
}

// status is the status of a certificate of type typ, issued or not, whose
// issuance stands at free (FreeState.Status) and whose leaf expires at
// notAfter, at now.
func status(typ string, issued bool, free string, notAfter, now time.Time) string {
	if typ == TypeFree && !issued && free != "" {
		return free
	}
	switch {
	case !now.Before(notAfter):
		return StatusExpired
	case notAfter.Sub(now) <= ExpiringWithin:
		return StatusExpiring
	}
	return StatusOK
}

// Covers reports whether the certificate serves host: a name in its SAN
// equal to host, or a wildcard one label deep (*.example.com covers
// www.example.com, not a.b.example.com and not example.com).
func (c Certificate) Covers(host string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, n := range c.Info.SANs {
		if coversName(n, host) {
			return true
		}
	}
	if len(c.Info.SANs) == 0 && c.Info.CommonName != "" {
		return coversName(strings.ToLower(c.Info.CommonName), host)
	}
	return false
}

func coversName(pattern, host string) bool {
	pattern = strings.TrimSuffix(pattern, ".")
	if pattern == host {
		return true
	}
	rest, ok := strings.CutPrefix(pattern, "*.")
	if !ok {
		return false
	}
	i := strings.IndexByte(host, '.')
	return i > 0 && host[i+1:] == rest
}

// CertStore is what the certificate use cases need from storage. Methods are
// safe for concurrent use and return domain sentinels.
type CertStore interface {
	// CreateCertificate inserts c. In one transaction it checks that the
	// site exists (else ErrSiteNotFound), that the site holds fewer than
	// limit certificates of the types in CustomTypes when c is one of them
	// (else ErrCertQuota; limit 0 means none), and that no certificate of the
	// site has c.Name (ErrCertNameExists) or c.CasID (ErrCasDuplicate).
	CreateCertificate(ctx context.Context, c Certificate, limit int) error
	// ReplaceCertificate overwrites the certificate with c.ID on c.SiteID,
	// keeping its creation time; ErrCertNotFound when there is none, and the
	// uniqueness errors of CreateCertificate.
	ReplaceCertificate(ctx context.Context, c Certificate) error
	// Certificate returns a certificate of a site, or ErrCertNotFound.
	Certificate(ctx context.Context, siteID int64, id string) (Certificate, error)
	// ListCertificates returns one page of the certificates that match f,
	// newest first then by id, and how many match in all.
	ListCertificates(ctx context.Context, f CertFilter) ([]Certificate, int, error)
	// DeleteCertificate removes a certificate of a site, or returns ErrCertNotFound.
	DeleteCertificate(ctx context.Context, siteID int64, id string) error
	// CountCertificates counts, per site, the certificates of the given types.
	CountCertificates(ctx context.Context, siteIDs []int64, types []string) (map[int64]int, error)
}

// CertFilter selects certificates of one site.
type CertFilter struct {
	SiteID  int64
	Keyword string    // case-insensitive substring of the name, common name or a SAN entry
	ValidAt time.Time // when set, only certificates not expired at that time
	Page    domain.Page
}

// OpenKey unseals a certificate's private key with sealer and parses it.
// A key stored under earlier, looser limits (an RSA key of up to 8192 bits)
// still opens: see certcheck.ParseStoredKey.
func OpenKey(sealer domain.Sealer, c Certificate) (crypto.Signer, error) {
	pemKey, _, err := openKeyText(sealer, c.ID, c.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("unseal key of certificate %s: %w: %v", c.ID, domain.ErrKeyUnavailable, err)
	}
	return certcheck.ParseStoredKey(string(pemKey))
}

// OpenKeyFor unseals a certificate's private key with sealer, parses it
// and checks that it is the key of leaf, the DER of c's leaf certificate:
// see ParseStoredKeyFor, which builds an ECDSA key for much less
// than OpenKey does. The unsealed text is wiped once parsed.
func OpenKeyFor(sealer domain.Sealer, c Certificate, leaf []byte) (crypto.Signer, error) {
	pemKey, checked, err := openKeyText(sealer, c.ID, c.SealedKey)
	if err != nil {
		return nil, fmt.Errorf("unseal key of certificate %s: %w: %v", c.ID, domain.ErrKeyUnavailable, err)
	}
	defer clear(pemKey)
	return parseStoredKeyFor(pemKey, leaf, checked)
}

// SealKey seals a certificate's private key PEM for the certificate with id
// (or a twin's, TwinID). When the key is an EC key that stores its public
// key beside its scalar, it is sealed with the mark that the two were found
// to agree now (checkedMark, a line after the PEM block: sealed with it,
// so it cannot be added without the master key), and the edge builds it
// without checking that again (ParseStoredKeyFor); one that does not agree
// is sealed without the mark, and the edge refuses it. Every other key is
// sealed without the mark (nothing was compared; the edge parses it in
// full, and the mark would buy it nothing). A node of a version
// before the mark (a fleet in a rolling upgrade) reads the line as text
// outside the PEM block, which its parser allows, and checks the key as it
// did.
func SealKey(sealer domain.Sealer, id string, keyPEM []byte) ([]byte, error) {
	return sealKeyText(sealer, id, keyPEM, storedPublicKeyChecked(keyPEM, false))
}

// sealValidKey is SealKey for a key that certcheck.ParsePrivateKey has just
// accepted, which refuses an EC key whose stored public key is not its
// scalar's: the comparison SealKey makes (a scalar multiplication) was made
// already, so only the key's form decides the mark.
func sealValidKey(sealer domain.Sealer, id string, keyPEM []byte) ([]byte, error) {
	return sealKeyText(sealer, id, keyPEM, storedPublicKeyChecked(keyPEM, true))
}

// checkedMark ends the sealed text of a key that SealKey found to store its
// scalar's own public key, and of no other: short, as the edge keeps every
// sealed key (17 bytes a key, 17 MB at a million certificates).
const checkedMark = "\nesacert:checked\n"

// sealKeyText seals keyPEM for the certificate with id, with checkedMark
// after it when checked.
func sealKeyText(sealer domain.Sealer, id string, keyPEM []byte, checked bool) ([]byte, error) {
	if !checked {
		return sealer.Seal(keyPEM, certAAD(id))
	}
	text := append(append(make([]byte, 0, len(keyPEM)+len(checkedMark)), keyPEM...), checkedMark...)
	defer clear(text)
	return sealer.Seal(text, certAAD(id))
}

// openKeyText unseals the key text of the certificate with id, without
// checkedMark, and reports whether it had it.
func openKeyText(sealer domain.Sealer, id string, sealed []byte) (pemKey []byte, checked bool, err error) {
	pemKey, err = sealer.Open(sealed, certAAD(id))
	if err != nil {
		return nil, false, err
	}
	if text, ok := bytes.CutSuffix(pemKey, []byte(checkedMark)); ok {
		clear(pemKey[len(text):])
		return text, true, nil
	}
	return pemKey, false, nil
}

// parseIgnoringDates checks certificate, key and chain, but not the dates.
func parseIgnoringDates(certPEM, keyPEM string) (*certcheck.Parsed, error) {
	certs, err := certcheck.ParseCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := certcheck.ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	chain, err := certcheck.Chain(certs, key)
	if err != nil {
		return nil, err
	}
	if err := certcheck.CheckNames(chain[0]); err != nil {
		return nil, err
	}
	return &certcheck.Parsed{Leaf: chain[0], Chain: chain, Key: key, Info: certcheck.Describe(chain[0])}, nil
}
