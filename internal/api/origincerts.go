package api

import (
	"context"
	"strconv"
	"strings"

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
	}{c.ID, c.Info.CommonName, c.Info.Issuer, c.Info.Serial, c.Info.FingerprintSHA256, c.Info.SigAlg,
		fmtCertTime(c.Info.NotBefore), fmtCertTime(c.Info.NotAfter), origincert.StatusOK,
		strconv.Itoa(origincert.ValidityDays(c.Info.NotAfter, s.OriginCerts.Time()))}, nil
}

func (s *Server) getOriginCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	id, err := p.required("Id")
	if err != nil {
		return nil, err
	}
	c, err := s.OriginCerts.CA(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return struct {
		SiteId      int64
		SiteName    string
		Status      string
		Certificate string
		Result      originCAJSON
	}{c.SiteID, c.SiteName, origincert.StatusOK, c.CertPEM, originCA(c)}, nil
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
	out := struct {
		SiteId     int64
		SiteName   string
		PageNumber int
		PageSize   int
		TotalCount int
		Result     []originCAJSON
	}{site.ID, site.Name, page.Offset/page.Limit + 1, page.Limit, total, []originCAJSON{}}
	for _, c := range list {
		out.Result = append(out.Result, originCA(c))
	}
	return out, nil
}

func (s *Server) deleteOriginCaCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	id, err := p.required("Id")
	if err != nil {
		return nil, err
	}
	site, err := s.OriginCerts.DeleteCA(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return struct {
		Id       string
		SiteId   int64
		SiteName string
	}{id, site.ID, site.Name}, nil
}
