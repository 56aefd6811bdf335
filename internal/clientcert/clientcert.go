package clientcert

import (
	"context"
	"errors"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Sentinel errors of client certificates; the API maps each to a Code.
var (
	// ErrNotFound: no client certificate (or issuing CA) with that id on
	// that site.
	ErrNotFound = errors.New("client certificate not found")
	// ErrIssuerExists: the site has an issuing CA already (one made by a
	// concurrent request); the store's CreateClientIssuer returns it.
	ErrIssuerExists = errors.New("the site has a client CA already")
)

// Status values of a client certificate, as ESA answers them.
const (
	StatusActive  = "active"  // accepted by the edge on the CA's hostnames
	StatusRevoked = "revoked" // refused by every edge; ActivateClientCertificate accepts it again
)

// Type is what ESA answers as the Type of a client certificate it issued.
const Type = "dcdn"

// Bounds of ValidityDays: at least a day, at most ten years (the issuing CA
// is valid for twenty, so a certificate never outlives it).
const (
	MinValidityDays = 1
	MaxValidityDays = 3650
)

// Issuer is a site's client CA: it signs the site's client certificates.
type Issuer struct {
	ID        string
	SiteID    int64
	CertPEM   string
	SealedKey []byte   // the PKCS #8 PEM private key, sealed with IssuerAAD(ID)
	Hostnames []string // the hostnames that ask visitors for a certificate it issued
	Info      certcheck.Info
	Created   time.Time
	Updated   time.Time
}

// IssuerAAD binds the sealed key of a site's client CA to its row.
func IssuerAAD(id string) []byte { return []byte("client-issuer:" + id) }

// Certificate is a client certificate esacert issued. Its private key is
// never stored.
type Certificate struct {
	ID       string
	SiteID   int64
	SiteName string // filled in when read
	CAID     string // the issuing CA's id
	Status   string // StatusActive or StatusRevoked
	CertPEM  string
	Info     certcheck.Info
	Created  time.Time
	Updated  time.Time
}

// Filter selects client certificates of one site, a page of them.
type Filter struct {
	SiteID int64
	Page   domain.Page
}

// Store keeps sites' client CAs and client certificates. Every change
// records an edge change for the site.
type Store interface {
	// ClientIssuer returns the site's client CA, or ErrNotFound.
	ClientIssuer(ctx context.Context, siteID int64) (Issuer, error)
	// CreateClientIssuer inserts the site's client CA: ErrIssuerExists
	// when it has one, site.ErrSiteNotFound when the site is gone.
	CreateClientIssuer(ctx context.Context, is Issuer) error
	// SetClientIssuerHostnames replaces the hostnames of the site's client
	// CA id (nil: none), or returns ErrNotFound.
	SetClientIssuerHostnames(ctx context.Context, siteID int64, id string, hostnames []string, updated time.Time) error
	// CreateClientCertificate inserts c: site.ErrSiteNotFound when the site
	// is gone.
	CreateClientCertificate(ctx context.Context, c Certificate) error
	// ClientCertificate returns one of a site, or ErrNotFound.
	ClientCertificate(ctx context.Context, siteID int64, id string) (Certificate, error)
	// ListClientCertificates returns a page of a site's, newest first,
	// and how many there are.
	ListClientCertificates(ctx context.Context, f Filter) ([]Certificate, int, error)
	// SetClientCertificateStatus sets the status of one, or returns
	// ErrNotFound; DeleteClientCertificate removes one, or returns
	// ErrNotFound.
	SetClientCertificateStatus(ctx context.Context, siteID int64, id, status string, updated time.Time) error
	DeleteClientCertificate(ctx context.Context, siteID int64, id string) error
}

// SiteStore is what this package needs of sites.
type SiteStore interface {
	Site(ctx context.Context, id int64) (site.Site, error)
}
