package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origincert"
)

// Origin CA certificates: what the edge trusts when it verifies an
// origin's certificate. Answers as the SDK's models shape them.

// originCAJSON is one origin CA certificate in Get and List answers.
type originCAJSON struct {
	Id                 string
	Name               string
	Type               string
	Status             string
	CommonName         string
	SAN                string
	Issuer             string
	SerialNumber       string
	FingerprintSha256  string
	PubkeyAlgorithm    string
	SignatureAlgorithm string
	NotBefore          string
	NotAfter           string
	CreateTime         string
	UpdateTime         string
}

func originCA(c origincert.CA) originCAJSON {
	return originCAJSON{
		Id: c.ID, Name: c.Name, Type: origincert.TypeUpload, Status: origincert.StatusOK,
		CommonName: c.Info.CommonName, SAN: strings.Join(c.Info.SANs, ","), Issuer: c.Info.Issuer,
		SerialNumber: c.Info.Serial, FingerprintSha256: c.Info.FingerprintSHA256, PubkeyAlgorithm: c.Info.PubAlg,
		SignatureAlgorithm: c.Info.SigAlg, NotBefore: fmtCertTime(c.Info.NotBefore),
		NotAfter: fmtCertTime(c.Info.NotAfter), CreateTime: fmtCertTime(c.Created), UpdateTime: fmtCertTime(c.Updated),
	}
}

func (s *Server) uploadOriginCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.UploadCA(ctx, siteID, p.str("Name"), p.str("Certificate"))
	if err != nil {
		return nil, err
	}
	return s.originUploaded(c.ID, c.Info), nil
}

func (s *Server) getOriginCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.CA(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originGot(c.SiteID, c.SiteName, c.CertPEM, originCA(c)), nil
}

func (s *Server) listOriginCaCertificates(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	list, total, site, err := s.OriginCerts.ListCAs(ctx, siteID, page)
	if err != nil {
		return nil, err
	}
	out := originListed[originCAJSON](site.ID, site.Name, page, total)
	for _, c := range list {
		out.Result = append(out.Result, originCA(c))
	}
	return out, nil
}

func (s *Server) deleteOriginCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	site, err := s.OriginCerts.DeleteCA(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originDone(id, site.ID, site.Name), nil
}

// The answers the origin CA and origin client certificate families share.

// originUploaded answers an Upload…: the parsed certificate's fields at the
// top level, as the SDK's models have them.
func (s *Server) originUploaded(id string, info certcheck.Info) any {
	return struct {
		Id                 string
		CommonName         string
		Issuer             string
		SerialNumber       string
		FingerprintSha256  string
		SignatureAlgorithm string
		NotBefore          string
		NotAfter           string
		Status             string
		ValidityDays       string
	}{id, info.CommonName, info.Issuer, info.Serial, info.FingerprintSHA256, info.SigAlg,
		fmtCertTime(info.NotBefore), fmtCertTime(info.NotAfter), origincert.StatusOK,
		strconv.Itoa(origincert.ValidityDays(info.NotAfter, s.now()))}
}

// originGot answers a Get…: the site, the PEM and the certificate.
func originGot(siteID int64, siteName, certPEM string, result any) any {
	return struct {
		SiteId      int64
		SiteName    string
		Status      string
		Certificate string
		Result      any
	}{siteID, siteName, origincert.StatusOK, certPEM, result}
}

// originList is a List… answer; its Result is filled by the caller.
type originList[T any] struct {
	SiteId     int64
	SiteName   string
	PageNumber int
	PageSize   int
	TotalCount int
	Result     []T
}

func originListed[T any](siteID int64, siteName string, page domain.Page, total int) originList[T] {
	return originList[T]{siteID, siteName, page.Offset/page.Limit + 1, page.Limit, total, []T{}}
}

// originDone answers a Delete… or Set…Hostnames: the id and its site.
func originDone(id string, siteID int64, siteName string) any {
	return struct {
		Id       string
		SiteId   int64
		SiteName string
	}{id, siteID, siteName}
}
