package clientca

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Service holds the use cases on client CA certificates. Its fields are
// set once, before first use; after that it is safe for concurrent use.
type Service struct {
	Sites SiteStore // required
	Store Store     // required
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids; nil means crypto/rand.
	Rand io.Reader
}

// Time is the service's current time.
func (s *Service) Time() time.Time { return domain.Now(s.Now) }

// Upload validates and stores a client CA certificate of a site. The PEM
// is checked as SetCertificate checks a certificate (certcheck's parsing
// and limits); the first certificate must be a CA and valid now. Without a
// name it has none (answered as "", as ESA does). It is bound to no
// hostname until SetHostnames binds some.
func (s *Service) Upload(ctx context.Context, siteID int64, name, certPEM string) (CA, error) {
	if strings.TrimSpace(certPEM) == "" {
		return CA{}, domain.Missing("Certificate")
	}
	if utf8.RuneCountInString(name) > MaxName {
		return CA{}, domain.Invalid("Name", fmt.Sprintf("is at most %d characters long", MaxName))
	}
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return CA{}, err
	}
	now := s.Time()
	certs, err := certcheck.ParseValid(certPEM, now)
	if err != nil {
		return CA{}, err
	}
	if !certs[0].BasicConstraintsValid || !certs[0].IsCA {
		return CA{}, ErrNotCA
	}
	info := certcheck.Describe(certs[0])
	c := CA{ID: domain.HexID(s.Rand, 16), SiteID: st.ID, SiteName: st.Name, Name: name, CertPEM: certPEM,
		Info: info, Created: now, Updated: now}
	err = s.Store.CreateClientCA(ctx, c)
	if err != nil { // ErrSiteNotFound: the site was deleted meanwhile
		return CA{}, site.AsParam(err)
	}
	return c, nil
}

// CA returns a client CA certificate of a site.
func (s *Service) CA(ctx context.Context, siteID int64, id string) (CA, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return CA{}, err
	}
	c, err := s.Store.ClientCA(ctx, st.ID, id)
	c.SiteName = st.Name
	return c, err
}

// List returns a page of a site's client CA certificates, how many there
// are, and the site.
func (s *Service) List(ctx context.Context, siteID int64, page domain.Page) ([]CA, int, site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return nil, 0, site.Site{}, err
	}
	list, total, err := s.Store.ListClientCAs(ctx, Filter{SiteID: st.ID, Page: page})
	return list, total, st, err
}

// Delete removes a client CA certificate of a site (its hostnames no
// longer accept what it issued) and returns the site.
func (s *Service) Delete(ctx context.Context, siteID int64, id string) (site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, err
	}
	return st, s.Store.DeleteClientCA(ctx, st.ID, id)
}

// SetHostnames binds a client CA certificate to hostnames of its site
// (see Hostnames); an empty list unbinds it. It returns the site and the
// hostnames as stored.
func (s *Service) SetHostnames(ctx context.Context, siteID int64, id string, hostnames []string) (site.Site, []string, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, nil, err
	}
	names, err := Hostnames(st.Name, hostnames)
	if err != nil {
		return site.Site{}, nil, err
	}
	return st, names, s.Store.SetClientCAHostnames(ctx, st.ID, id, names, s.Time())
}
