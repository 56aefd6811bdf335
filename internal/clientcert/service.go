package clientcert

import (
	"context"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// Service holds the use cases on client certificates. Its fields are set
// once, before first use; after that it is safe for concurrent use.
type Service struct {
	Sites  SiteStore     // required
	Store  Store         // required
	Sealer domain.Sealer // required: seals and opens the sites' client CA keys
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids and serial numbers; nil means crypto/rand.
	// Keys are always drawn from crypto/rand.
	Rand io.Reader
}

// Time is the service's current time.
func (s *Service) Time() time.Time { return domain.Now(s.Now) }

// issuer returns the site's client CA, made on first need.
func (s *Service) issuer(ctx context.Context, st site.Site) (Issuer, error) {
	is, err := s.Store.ClientIssuer(ctx, st.ID)
	if !errors.Is(err, ErrNotFound) {
		return is, err
	}
	now := s.Time()
	certPEM, der, keyPEM, err := newIssuer(st.Name, now, s.Rand)
	if err != nil {
		return Issuer{}, fmt.Errorf("make the client CA of site %d: %w", st.ID, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return Issuer{}, err
	}
	is = Issuer{ID: domain.HexID(s.Rand, 16), SiteID: st.ID, CertPEM: certPEM, Info: certcheck.Describe(leaf),
		Created: now, Updated: now}
	if is.SealedKey, err = s.Sealer.Seal(keyPEM, IssuerAAD(is.ID)); err != nil {
		return Issuer{}, err
	}
	err = s.Store.CreateClientIssuer(ctx, is)
	switch {
	case errors.Is(err, ErrIssuerExists): // made by a concurrent request
		return s.Store.ClientIssuer(ctx, st.ID)
	case err != nil: // ErrSiteNotFound: the site was deleted meanwhile
		return Issuer{}, site.AsParam(err)
	}
	return is, nil
}

// signer opens the client CA's key and parses its certificate.
func (s *Service) signer(is Issuer) (*x509.Certificate, crypto.Signer, error) {
	plain, err := s.Sealer.Open(is.SealedKey, IssuerAAD(is.ID))
	if err != nil {
		return nil, nil, fmt.Errorf("open the key of client CA %s: %w", is.ID, err)
	}
	blk, _ := pem.Decode(plain)
	if blk == nil {
		return nil, nil, fmt.Errorf("client CA %s: its key is not PEM", is.ID)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("client CA %s: %w", is.ID, err)
	}
	key, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("client CA %s: its key cannot sign", is.ID)
	}
	cb, _ := pem.Decode([]byte(is.CertPEM))
	if cb == nil {
		return nil, nil, fmt.Errorf("client CA %s: its certificate is not PEM", is.ID)
	}
	ca, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("client CA %s: %w", is.ID, err)
	}
	return ca, key, nil
}

// Create issues a client certificate of a site, valid for validityDays
// (MinValidityDays to MaxValidityDays) from now, signed by the site's
// client CA (made on first need). With a CSR it is issued for the CSR's
// public key, subject, DNS names and e-mail addresses once the CSR's
// signature verifies (pkeyType is then ignored); without one, for a new
// key of pkeyType (RSA, the default: 2048 bits; ECDSA: P-256), whose PEM
// is returned as keyPEM: the only time it exists outside the caller. A
// certificate without a common name is given its id. It is active at once.
func (s *Service) Create(ctx context.Context, siteID int64, csrPEM, pkeyType string, validityDays int64) (Certificate, string, error) {
	if validityDays < MinValidityDays || validityDays > MaxValidityDays {
		return Certificate{}, "", domain.Invalid("ValidityDays",
			fmt.Sprintf("must be %d to %d days", MinValidityDays, MaxValidityDays))
	}
	var (
		req    request
		keyPEM string
		err    error
	)
	if strings.TrimSpace(csrPEM) != "" {
		if req, err = parseCSR(csrPEM); err != nil {
			return Certificate{}, "", err
		}
	} else {
		var key crypto.Signer
		if key, keyPEM, err = generateKey(pkeyType); err != nil {
			return Certificate{}, "", err
		}
		req.pub = key.Public()
	}
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return Certificate{}, "", err
	}
	is, err := s.issuer(ctx, st)
	if err != nil {
		return Certificate{}, "", err
	}
	ca, caKey, err := s.signer(is)
	if err != nil {
		return Certificate{}, "", err
	}
	now := s.Time().Truncate(time.Second) // as X.509 keeps it, so that NotAfter-NotBefore is whole days
	c := Certificate{ID: domain.HexID(s.Rand, 16), SiteID: st.ID, SiteName: st.Name, CAID: is.ID, Status: StatusActive,
		Created: now, Updated: now}
	if req.subject.CommonName == "" {
		req.subject = pkix.Name{CommonName: c.ID, Organization: req.subject.Organization,
			OrganizationalUnit: req.subject.OrganizationalUnit, Country: req.subject.Country}
	}
	der, err := sign(req, ca, caKey, now, int(validityDays), s.Rand)
	if err != nil {
		return Certificate{}, "", fmt.Errorf("sign a client certificate of site %d: %w", st.ID, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return Certificate{}, "", err
	}
	c.Info = certcheck.Describe(leaf)
	c.CertPEM = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	err = s.Store.CreateClientCertificate(ctx, c)
	if errors.Is(err, site.ErrSiteNotFound) {
		return Certificate{}, "", &domain.ParamError{Param: "SiteId", Err: site.ErrSiteNotFound}
	}
	if err != nil {
		return Certificate{}, "", err
	}
	return c, keyPEM, nil
}

// Certificate returns a client certificate of a site.
func (s *Service) Certificate(ctx context.Context, siteID int64, id string) (Certificate, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return Certificate{}, err
	}
	c, err := s.Store.ClientCertificate(ctx, st.ID, id)
	c.SiteName = st.Name
	return c, err
}

// List returns a page of a site's client certificates, how many there
// are, and the site.
func (s *Service) List(ctx context.Context, siteID int64, page domain.Page) ([]Certificate, int, site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return nil, 0, site.Site{}, err
	}
	list, total, err := s.Store.ListClientCertificates(ctx, Filter{SiteID: st.ID, Page: page})
	return list, total, st, err
}

// Revoke makes a client certificate of a site revoked: every edge refuses
// it from its next change-feed poll on, on new connections and on the
// requests of the ones already open. Revoking a revoked one changes
// nothing. It returns the site.
func (s *Service) Revoke(ctx context.Context, siteID int64, id string) (site.Site, error) {
	return s.setStatus(ctx, siteID, id, StatusRevoked)
}

// Activate makes a revoked client certificate of a site active again.
func (s *Service) Activate(ctx context.Context, siteID int64, id string) (site.Site, error) {
	return s.setStatus(ctx, siteID, id, StatusActive)
}

func (s *Service) setStatus(ctx context.Context, siteID int64, id, status string) (site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, err
	}
	return st, s.Store.SetClientCertificateStatus(ctx, st.ID, id, status, s.Time())
}

// Delete removes a client certificate of a site: edges refuse it as a
// revoked one. It returns the site.
func (s *Service) Delete(ctx context.Context, siteID int64, id string) (site.Site, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, err
	}
	return st, s.Store.DeleteClientCertificate(ctx, st.ID, id)
}

// issuerFor finds the client CA that id names: "" or the CA's id, or the id
// of one of the site's client certificates (whose CA it is). make says
// whether a site without a CA gets one (for SetHostnames); without, the
// zero Issuer is returned for "".
func (s *Service) issuerFor(ctx context.Context, st site.Site, id string, make bool) (Issuer, error) {
	var is Issuer
	var err error
	if make {
		is, err = s.issuer(ctx, st)
	} else {
		is, err = s.Store.ClientIssuer(ctx, st.ID)
		if errors.Is(err, ErrNotFound) && id == "" {
			return Issuer{}, nil
		}
	}
	if err != nil {
		return Issuer{}, err
	}
	if id == "" || id == is.ID {
		return is, nil
	}
	c, err := s.Store.ClientCertificate(ctx, st.ID, id)
	if err != nil {
		return Issuer{}, err
	}
	if c.CAID != is.ID {
		return Issuer{}, ErrNotFound
	}
	return is, nil
}

// SetHostnames binds the site's client CA to hostnames of the site (see
// clientca.Hostnames; an empty list unbinds it): visitors of these must
// present an active certificate it issued. id names the CA (see
// issuerFor); a site without one gets one. It returns the site, the CA's
// id and the hostnames as stored.
func (s *Service) SetHostnames(ctx context.Context, siteID int64, id string, hostnames []string) (site.Site, string, []string, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, "", nil, err
	}
	names, err := clientca.Hostnames(st.Name, hostnames)
	if err != nil {
		return site.Site{}, "", nil, err
	}
	is, err := s.issuerFor(ctx, st, id, true)
	if err != nil {
		return site.Site{}, "", nil, err
	}
	if err := s.Store.SetClientIssuerHostnames(ctx, st.ID, is.ID, names, s.Time()); err != nil {
		return site.Site{}, "", nil, err
	}
	return st, is.ID, names, nil
}

// Hostnames returns the site, its client CA's id ("" when it has none yet)
// and the hostnames bound to it.
func (s *Service) Hostnames(ctx context.Context, siteID int64, id string) (site.Site, string, []string, error) {
	st, err := site.Lookup(ctx, s.Sites, siteID)
	if err != nil {
		return site.Site{}, "", nil, err
	}
	is, err := s.issuerFor(ctx, st, id, false)
	if err != nil {
		return site.Site{}, "", nil, err
	}
	return st, is.ID, is.Hostnames, nil
}
