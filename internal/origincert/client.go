package origincert

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Scope tells the two families of origin client certificates apart.
type Scope string

const (
	// ScopeHostname: an origin client certificate
	// (UploadOriginClientCertificate), presented for the hostnames set on
	// it (SetOriginClientCertificateHostnames).
	ScopeHostname Scope = "hostname"
	// ScopeSite: a site origin client certificate
	// (UploadSiteOriginClientCertificate), presented for every host of the
	// site that no hostname-level one names.
	ScopeSite Scope = "site"
)

// Client is an origin client certificate of a site: what the edge presents
// to an origin that asks for a client certificate. Its private key is kept
// sealed only, and never answered.
type Client struct {
	ID        string
	Scope     Scope // which family it belongs to; each is read, listed and deleted through its own actions
	SiteID    int64
	SiteName  string // filled in when read
	Name      string
	CertPEM   string // as uploaded
	ChainPEM  string // the chain built from the upload, leaf first
	SealedKey []byte // the private key, sealed with ClientAAD(ID)
	Hostnames []string
	Info      certcheck.Info
	Created   time.Time
	Updated   time.Time
}

// ClientStore keeps origin client certificates of both scopes. Every
// change records an edge change for the site. A certificate is found only
// through its own scope: one of the other scope is ErrNotFound.
type ClientStore interface {
	// CreateOriginClient inserts c: ErrNameExists when the site has
	// another of c.Scope with its name, site.ErrSiteNotFound when the site
	// is gone.
	CreateOriginClient(ctx context.Context, c Client) error
	// OriginClient returns one of a site, or ErrNotFound.
	OriginClient(ctx context.Context, scope Scope, siteID int64, id string) (Client, error)
	// ListOriginClients returns a page of a site's of f.Scope, newest
	// first, and how many there are.
	ListOriginClients(ctx context.Context, f Filter) ([]Client, int, error)
	// DeleteOriginClient removes one, or returns ErrNotFound.
	DeleteOriginClient(ctx context.Context, scope Scope, siteID int64, id string) error
	// SetOriginClientHostnames replaces the hostnames of a hostname-level
	// one (nil: none) and its update time, or returns ErrNotFound.
	SetOriginClientHostnames(ctx context.Context, siteID int64, id string, hostnames []string, updated time.Time) error
}

// ClientAAD binds the sealed key of an origin client certificate to its row.
func ClientAAD(id string) []byte { return []byte("origin-client-certificate:" + id) }

// UploadClient validates and stores an origin client certificate of scope
// (hostname-level or site-level) with its private key, checked as SetCertificate checks an upload (certcheck.Check:
// PEM, key type and size, key match, chain, validity). The key is sealed
// with the Sealer before it is stored. Unlike SetCertificate, the names of
// the certificate need not be under the site: it identifies the edge to an
// origin, not a hostname of the site.
func (s *Service) UploadClient(ctx context.Context, scope Scope, siteID int64, name, certPEM, keyPEM string) (Client, error) {
	if strings.TrimSpace(certPEM) == "" {
		return Client{}, domain.Missing("Certificate")
	}
	if strings.TrimSpace(keyPEM) == "" {
		return Client{}, domain.Missing("PrivateKey")
	}
	if utf8.RuneCountInString(name) > MaxName {
		return Client{}, domain.Invalid("Name", fmt.Sprintf("is at most %d characters long", MaxName))
	}
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return Client{}, err
	}
	now := s.Time()
	parsed, err := certcheck.Check(certPEM, keyPEM, now)
	if err != nil {
		return Client{}, err
	}
	c := Client{ID: domain.HexID(s.Rand, 16), Scope: scope, SiteID: st.ID, SiteName: st.Name, Name: name, CertPEM: certPEM,
		ChainPEM: chainPEM(parsed.Chain), Info: parsed.Info, Created: now, Updated: now}
	if c.SealedKey, err = s.Sealer.Seal([]byte(keyPEM), ClientAAD(c.ID)); err != nil {
		return Client{}, err
	}
	err = s.Clients.CreateOriginClient(ctx, c)
	if err != nil { // ErrSiteNotFound: the site was deleted meanwhile
		return Client{}, site.AsParam(err)
	}
	return c, nil
}

// Client returns an origin client certificate of scope of a site.
func (s *Service) Client(ctx context.Context, scope Scope, siteID int64, id string) (Client, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return Client{}, err
	}
	c, err := s.Clients.OriginClient(ctx, scope, st.ID, id)
	c.SiteName = st.Name
	return c, err
}

// ListClients returns a page of a site's origin client certificates of
// scope, how many there are, and the site.
func (s *Service) ListClients(ctx context.Context, scope Scope, siteID int64, page domain.Page) ([]Client, int, site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return nil, 0, site.Site{}, err
	}
	list, total, err := s.Clients.ListOriginClients(ctx, Filter{SiteID: st.ID, Scope: scope, Page: page})
	return list, total, st, err
}

// DeleteClient removes an origin client certificate of scope of a site
// and returns the site.
func (s *Service) DeleteClient(ctx context.Context, scope Scope, siteID int64, id string) (site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, err
	}
	return st, s.Clients.DeleteOriginClient(ctx, scope, st.ID, id)
}

// chainPEM renders a chain as PEM, leaf first.
func chainPEM(chain []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range chain {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}
