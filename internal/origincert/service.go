package origincert

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

// Service holds the use cases on origin certificates. Its fields are set
// once, before first use; after that it is safe for concurrent use.
type Service struct {
	Sites SiteStore // required
	Store Store     // origin CA certificates; required for their use cases
	// Clients stores origin client certificates and Sealer seals their
	// private keys; both are required for their use cases.
	Clients ClientStore
	Sealer  domain.Sealer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids; nil means crypto/rand.
	Rand io.Reader
}

// Time is the service's current time.
func (s *Service) Time() time.Time { return domain.Now(s.Now) }

// UploadCA validates and stores an origin CA certificate of a site. The
// PEM is checked as SetCertificate checks a certificate (certcheck's
// parsing and limits); the first certificate must be valid now. Without a
// name it has none (answered as ""), as ESA answers: Terraform's resources
// read back exactly the name they sent.
func (s *Service) UploadCA(ctx context.Context, siteID int64, name, certPEM string) (CA, error) {
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
	info := certcheck.Describe(certs[0])
	c := CA{ID: domain.HexID(s.Rand, 16), SiteID: st.ID, SiteName: st.Name, Name: name, CertPEM: certPEM,
		Info: info, Created: now, Updated: now}
	err = s.Store.CreateOriginCA(ctx, c)
	if err != nil { // ErrSiteNotFound: the site was deleted meanwhile
		return CA{}, site.AsParam(err)
	}
	return c, nil
}

// CA returns an origin CA certificate of a site.
func (s *Service) CA(ctx context.Context, siteID int64, id string) (CA, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return CA{}, err
	}
	c, err := s.Store.OriginCA(ctx, st.ID, id)
	c.SiteName = st.Name
	return c, err
}

// ListCAs returns a page of a site's origin CA certificates, how many
// there are, and the site.
func (s *Service) ListCAs(ctx context.Context, siteID int64, page domain.Page) ([]CA, int, site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return nil, 0, site.Site{}, err
	}
	list, total, err := s.Store.ListOriginCAs(ctx, Filter{SiteID: st.ID, Page: page})
	return list, total, st, err
}

// DeleteCA removes an origin CA certificate of a site and returns the site.
func (s *Service) DeleteCA(ctx context.Context, siteID int64, id string) (site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, err
	}
	return st, s.Store.DeleteOriginCA(ctx, st.ID, id)
}
