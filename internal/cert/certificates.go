package cert

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// MaxCertName is the longest certificate name SetCertificate accepts.
const MaxCertName = 128

// SetInput is what SetCertificate takes (SetCertificate.md "Request parameters").
type SetInput struct {
	SiteID  int64
	Type    string // upload or cas (keyless: not supported yet)
	Name    string // optional; derived from the certificate when empty
	ID      string // when set, that certificate is replaced in place
	Update  bool   // Update=true requires ID
	CertPEM string // Type=upload
	KeyPEM  string // Type=upload
	CasID   int64  // Type=cas
	Region  string // Type=cas; default cn-hangzhou
}

// SetCertificate adds a certificate to a site or, with in.ID, replaces one in
// place. It returns the stored certificate.
func (s *Service) SetCertificate(ctx context.Context, in SetInput) (Certificate, error) {
	switch in.Type {
	case "":
		return Certificate{}, domain.Missing("Type")
	case TypeUpload:
		if strings.TrimSpace(in.CertPEM) == "" {
			return Certificate{}, domain.Missing("Certificate")
		}
		if strings.TrimSpace(in.KeyPEM) == "" {
			return Certificate{}, domain.Missing("PrivateKey")
		}
	case TypeCAS:
		if in.CasID == 0 {
			return Certificate{}, domain.Missing("CasId")
		}
		if in.CasID < 0 {
			return Certificate{}, domain.Invalid("CasId", "must be a positive integer")
		}
		if in.Region == "" {
			in.Region = DefaultRegion
		}
		if !slices.Contains(Regions, in.Region) {
			return Certificate{}, domain.Invalid("Region", "must be cn-hangzhou or ap-southeast-1")
		}
	case TypeKeyless:
		return Certificate{}, domain.Invalid("Type", "keyless certificates are not supported yet")
	case TypeFree:
		return Certificate{}, domain.Invalid("Type", "free certificates come from ApplyCertificate")
	default:
		return Certificate{}, domain.Invalid("Type", "must be upload or cas")
	}
	if utf8.RuneCountInString(in.Name) > MaxCertName {
		return Certificate{}, domain.Invalid("Name", fmt.Sprintf("is at most %d characters long", MaxCertName))
	}
	if in.Update && in.ID == "" {
		return Certificate{}, domain.Invalid("Id", "Update=true needs the Id of the certificate to update")
	}
	st, err := s.siteFor(ctx, in.SiteID)
	if err != nil {
		return Certificate{}, err
	}
	var existing Certificate
	if in.ID != "" {
		if existing, err = s.Certs.Certificate(ctx, st.ID, in.ID); err != nil {
			return Certificate{}, err
		}
		if existing.Type == TypeFree {
			return Certificate{}, ErrFreeNotUpdatable
		}
	}

	c := Certificate{SiteID: st.ID, SiteName: st.Name, Name: in.Name, Type: in.Type}
	certPEM, keyPEM := in.CertPEM, in.KeyPEM
	if in.Type == TypeCAS {
		repo, err := s.Repo.RepoCert(ctx, in.CasID)
		if errors.Is(err, ErrRepoCertNotFound) || err == nil && repo.Region != in.Region {
			return Certificate{}, &domain.ParamError{Param: "CasId", Err: ErrRepoCertNotFound}
		}
		if err != nil {
			return Certificate{}, err
		}
		key, err := s.Sealer.Open(repo.SealedKey, repoAAD(repo.ID))
		if err != nil {
			return Certificate{}, fmt.Errorf("unseal repository key %d: %w: %v", repo.ID, domain.ErrKeyUnavailable, err)
		}
		certPEM, keyPEM = repo.CertPEM, string(key)
		c.CasID, c.Region = repo.ID, repo.Region
		if c.Name == "" && in.ID == "" {
			c.Name = repo.Name
		}
	}
	parsed, err := certcheck.Check(certPEM, keyPEM, s.now())
	if err != nil {
		return Certificate{}, err
	}
	if !certcheck.MatchesSite(certcheck.Names(parsed.Leaf), st.Name) {
		return Certificate{}, ErrNameNotInSite
	}
	c.CertPEM = certPEM
	c.ChainPEM = chainPEM(parsed.Chain)
	c.Info = parsed.Info
	switch {
	case c.Name != "":
	case in.ID != "":
		c.Name = existing.Name // replacing without a Name keeps the name
	default:
		c.Name = certcheck.DefaultName(parsed.Info, "certificate", MaxCertName)
	}
	now := s.now()
	c.Created, c.Updated = now, now
	if in.ID != "" {
		c.ID, c.Created = existing.ID, existing.Created
	} else {
		c.ID = s.hexID(16)
	}
	if c.SealedKey, err = sealValidKey(s.Sealer, c.ID, []byte(keyPEM)); err != nil {
		return Certificate{}, err
	}
	if in.ID != "" {
		err = s.Certs.ReplaceCertificate(ctx, c)
	} else {
		err = s.Certs.CreateCertificate(ctx, c, s.limits(st.Plan.Tier).CustomCerts)
	}
	if err != nil { // ErrSiteNotFound: the site was deleted meanwhile
		return Certificate{}, site.AsParam(err)
	}
	return c, nil
}

// certAAD and repoAAD bind sealed keys to their rows.
func certAAD(id string) []byte { return []byte("certificate:" + id) }

func repoAAD(id int64) []byte { return []byte(fmt.Sprintf("repository:%d", id)) }

// chainPEM renders a chain as PEM, leaf first.
func chainPEM(chain []*x509.Certificate) string {
	var b strings.Builder
	for _, c := range chain {
		pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.String()
}

// Certificate returns a certificate of a site.
func (s *Service) Certificate(ctx context.Context, siteID int64, id string) (Certificate, error) {
	if _, err := s.siteFor(ctx, siteID); err != nil {
		return Certificate{}, err
	}
	if id == "" {
		return Certificate{}, domain.Missing("Id")
	}
	return s.Certs.Certificate(ctx, siteID, id)
}

// ListCertificates returns one page of a site's certificates, the total, and the site.
func (s *Service) ListCertificates(ctx context.Context, siteID int64, keyword string, validOnly bool, page domain.Page) ([]Certificate, int, site.Site, error) {
	st, err := s.siteFor(ctx, siteID)
	if err != nil {
		return nil, 0, site.Site{}, err
	}
	f := CertFilter{SiteID: st.ID, Keyword: keyword, Page: page}
	if validOnly {
		f.ValidAt = s.now()
	}
	list, total, err := s.Certs.ListCertificates(ctx, f)
	return list, total, st, err
}

// DeleteCertificate removes a certificate of a site and returns what it was.
func (s *Service) DeleteCertificate(ctx context.Context, siteID int64, id string) (Certificate, error) {
	c, err := s.Certificate(ctx, siteID, id)
	if err != nil {
		return Certificate{}, err
	}
	if err := s.Certs.DeleteCertificate(ctx, siteID, id); err != nil {
		return Certificate{}, err
	}
	return c, nil
}

// RecordMatch is what ListCertificatesByRecord reports for one record name.
type RecordMatch struct {
	RecordName   string
	Status       string // none, OK, Expiring or Expired: the best certificate's
	Certificates []Certificate
	Applying     int
}

// CertificatesByRecord finds, for each record name, the site's certificates
// that cover it. validOnly leaves expired certificates out.
func (s *Service) CertificatesByRecord(ctx context.Context, siteID int64, names []string, validOnly bool) ([]RecordMatch, site.Site, error) {
	st, err := s.siteFor(ctx, siteID)
	if err != nil {
		return nil, site.Site{}, err
	}
	if len(names) == 0 {
		return nil, site.Site{}, domain.Missing("RecordName")
	}
	all, _, err := s.Certs.ListCertificates(ctx, CertFilter{SiteID: st.ID})
	if err != nil {
		return nil, site.Site{}, err
	}
	now := s.now()
	var out []RecordMatch
	for _, name := range names {
		m := RecordMatch{RecordName: name, Status: "none", Certificates: []Certificate{}}
		for _, c := range all {
			if !c.Covers(name) || validOnly && c.Status(now) == StatusExpired {
				continue
			}
			m.Certificates = append(m.Certificates, c)
		}
		// The best certificate is the one that lasts longest.
		sort.SliceStable(m.Certificates, func(i, j int) bool {
			return m.Certificates[i].Info.NotAfter.After(m.Certificates[j].Info.NotAfter)
		})
		if len(m.Certificates) > 0 {
			m.Status = m.Certificates[0].Status(now)
		}
		out = append(out, m)
	}
	return out, st, nil
}

// Quota is a site's certificate quota of one kind (GetCertificateQuota).
type Quota struct {
	Type      string // custom or free
	Limit     int    // per site; 0 means none
	Usage     int    // this site's certificates of the kind
	SiteUsage []SiteUsage
}

// SiteUsage is one site's usage within its plan instance.
type SiteUsage struct {
	SiteID   int64
	SiteName string
	Usage    int
}

// CertificateQuota reports the site's quota of custom or free certificates
// and the usage of every site on the same plan instance.
func (s *Service) CertificateQuota(ctx context.Context, siteID int64, typ string) (Quota, error) {
	var types []string
	switch typ {
	case "":
		return Quota{}, domain.Missing("Type")
	case "custom":
		types = CustomTypes
	case TypeFree:
		types = []string{TypeFree}
	default:
		return Quota{}, domain.Invalid("Type", "must be custom or free")
	}
	st, err := s.siteFor(ctx, siteID)
	if err != nil {
		return Quota{}, err
	}
	l := s.limits(st.Plan.Tier)
	q := Quota{Type: typ, Limit: l.CustomCerts}
	if typ == TypeFree {
		q.Limit = l.FreeCerts
	}
	insts, _, err := s.Sites.ListInstances(ctx, site.InstanceFilter{ID: st.InstanceID, Page: domain.Page{Limit: 1}})
	if err != nil {
		return Quota{}, err
	}
	refs := []site.SiteRef{{ID: st.ID, Name: st.Name}}
	if len(insts) == 1 {
		refs = insts[0].Sites
	}
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	counts, err := s.Certs.CountCertificates(ctx, ids, types)
	if err != nil {
		return Quota{}, err
	}
	for _, r := range refs {
		q.SiteUsage = append(q.SiteUsage, SiteUsage{SiteID: r.ID, SiteName: r.Name, Usage: counts[r.ID]})
	}
	q.Usage = counts[st.ID]
	return q, nil
}
