package clientca

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Sentinel errors of client CA certificates; the API maps each to a Code.
var (
	// ErrNotFound: no client CA certificate with that id on that site.
	ErrNotFound = errors.New("client CA certificate not found")
	// ErrNameExists: another client CA certificate of the site has that name.
	ErrNameExists = errors.New("client CA certificate name already exists on the site")
	// ErrNotCA: the uploaded certificate is not a CA certificate (its basic
	// constraints do not say CA:TRUE), so it cannot issue client certificates.
	ErrNotCA = errors.New("client CA certificate: the certificate is not a CA")
)

// Limits of one client CA certificate.
const (
	MaxName      = 128 // runes of Name, as SetCertificate bounds a name
	MaxHostnames = 100 // hostnames bound to one CA
)

// CA is a client CA certificate of a site.
type CA struct {
	ID        string
	SiteID    int64
	SiteName  string // filled in when read
	Name      string
	CertPEM   string   // as uploaded (one or more certificates, the first a CA)
	Hostnames []string // the site's hostnames whose visitors must present a certificate it issued
	Info      certcheck.Info
	Created   time.Time
	Updated   time.Time
}

// Filter selects client CA certificates of one site, a page of them.
type Filter struct {
	SiteID int64
	Page   domain.Page
}

// Store keeps client CA certificates. Every change records an edge change
// for the site.
type Store interface {
	// CreateClientCA inserts c: ErrNameExists when the site has another
	// with its name, site.ErrSiteNotFound when the site is gone.
	CreateClientCA(ctx context.Context, c CA) error
	// ClientCA returns one of a site, or ErrNotFound.
	ClientCA(ctx context.Context, siteID int64, id string) (CA, error)
	// ListClientCAs returns a page of a site's, newest first, and how many
	// there are.
	ListClientCAs(ctx context.Context, f Filter) ([]CA, int, error)
	// DeleteClientCA removes one, or returns ErrNotFound.
	DeleteClientCA(ctx context.Context, siteID int64, id string) error
	// SetClientCAHostnames replaces the hostnames of one (nil: none) and
	// its update time, or returns ErrNotFound.
	SetClientCAHostnames(ctx context.Context, siteID int64, id string, hostnames []string, updated time.Time) error
}

// SiteStore is what this package needs of sites.
type SiteStore interface {
	Site(ctx context.Context, id int64) (site.Site, error)
}

// Hostnames checks the hostnames a client CA (or a site's own client
// certificates) is bound to: each the site's name or a name under it (a
// "*." wildcard counts), compared without case and without a trailing dot,
// each kept once, at most MaxHostnames. An empty list binds none.
func Hostnames(siteName string, hostnames []string) ([]string, error) {
	if len(hostnames) > MaxHostnames {
		return nil, domain.Invalid("Hostnames", fmt.Sprintf("holds at most %d names", MaxHostnames))
	}
	var names []string
	for _, h := range hostnames {
		n := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
		if !certcheck.UnderSite(n, siteName) {
			return nil, domain.Invalid("Hostnames", "each name must be the site's name or a name under it")
		}
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, nil
}
