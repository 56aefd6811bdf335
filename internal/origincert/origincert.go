// Package origincert holds the certificates a site configures for the edge's
// connections to its origins: origin CA certificates, the CAs the edge
// trusts when it verifies an origin's certificate (UploadOriginCaCertificate
// and its Get, List and Delete), which carry no private key; and origin
// client certificates, which the edge presents to origins that ask for one
// (mTLS): hostname-level ones (UploadOriginClientCertificate, presented for
// the hostnames set on them) and site-level ones
// (UploadSiteOriginClientCertificate, presented for the site's other
// hosts), both kept in one store told apart by their Scope, their private
// keys sealed.
//
// Uploads are validated like SetCertificate's (internal/certcheck: PEM,
// limits, validity), and every change is recorded in the site's change feed.
package origincert

import (
	"context"
	"errors"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Sentinel errors of origin certificates; the API maps each to a Code.
var (
	// ErrNotFound: no origin certificate with that id on that site.
	ErrNotFound = errors.New("origin certificate not found")
	// ErrNameExists: another origin CA certificate of the site has that name.
	ErrNameExists = errors.New("origin certificate name already exists on the site")
)

// Values ESA answers for every uploaded origin certificate.
const (
	TypeUpload = "upload" // the only Type: uploaded by the user
	StatusOK   = "OK"     // the Status of an upload that passed validation
)

// MaxName bounds Name, as SetCertificate bounds a certificate's name.
const MaxName = 128

// CA is an origin CA certificate of a site: what the edge trusts when it
// verifies an origin's certificate.
type CA struct {
	ID       string
	SiteID   int64
	SiteName string // filled in when read
	Name     string
	CertPEM  string // as uploaded (one or more certificates)
	Info     certcheck.Info
	Created  time.Time
	Updated  time.Time
}

// ValidityDays is what ESA answers as ValidityDays: whole days left until
// NotAfter at now, 0 once expired.
func ValidityDays(notAfter, now time.Time) int {
	if !notAfter.After(now) {
		return 0
	}
	return int(notAfter.Sub(now) / (24 * time.Hour))
}

// Filter selects origin certificates of one site, a page of them.
type Filter struct {
	SiteID int64
	Scope  Scope // origin client certificates only: the family listed
	Page   domain.Page
}

// Store keeps origin certificates. Every change records an edge change
// for the site.
type Store interface {
	// CreateOriginCA inserts c: ErrNameExists when the site has another
	// with its name, site.ErrSiteNotFound when the site is gone.
	CreateOriginCA(ctx context.Context, c CA) error
	// OriginCA returns an origin CA certificate of a site, or ErrNotFound.
	OriginCA(ctx context.Context, siteID int64, id string) (CA, error)
	// ListOriginCAs returns a page of a site's origin CA certificates,
	// newest first, and how many there are.
	ListOriginCAs(ctx context.Context, f Filter) ([]CA, int, error)
	// DeleteOriginCA removes one, or returns ErrNotFound.
	DeleteOriginCA(ctx context.Context, siteID int64, id string) error
}

// SiteStore is what this package needs of sites.
type SiteStore interface {
	Site(ctx context.Context, id int64) (site.Site, error)
}
