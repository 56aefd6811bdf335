package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/site"
)

// Client certificates esacert issues for a site's visitors (mutual TLS),
// signed by the site's own client CA. A generated private key is answered
// once, by CreateClientCertificate, and never again.

// clientCertJSON is one client certificate in Get and List answers.
type clientCertJSON struct {
	Id                 string
	CACertificateId    string
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

func clientCert(c clientcert.Certificate) clientCertJSON {
	return clientCertJSON{
		Id: c.ID, CACertificateId: c.CAID, Name: c.Info.CommonName, Type: clientcert.Type, Status: c.Status,
		CommonName: c.Info.CommonName, SAN: strings.Join(c.Info.SANs, ","), Issuer: c.Info.Issuer,
		SerialNumber: c.Info.Serial, FingerprintSha256: c.Info.FingerprintSHA256, PubkeyAlgorithm: c.Info.PubAlg,
		SignatureAlgorithm: c.Info.SigAlg, NotBefore: fmtCertTime(c.Info.NotBefore),
		NotAfter: fmtCertTime(c.Info.NotAfter), CreateTime: fmtCertTime(c.Created), UpdateTime: fmtCertTime(c.Updated),
	}
}

func (s *Server) createClientCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	days, err := p.requiredInt64("ValidityDays")
	if err != nil {
		return nil, err
	}
	c, key, err := s.ClientCerts.Create(ctx, siteID, p.str("CSR"), p.str("PkeyType"), days)
	if err != nil {
		return nil, err
	}
	return struct {
		Id                 string
		CACertificateId    string
		Certificate        string
		PrivateKey         string `json:",omitempty"` // only a generated one, only now
		CommonName         string
		Issuer             string
		SerialNumber       string
		FingerprintSha256  string
		SignatureAlgorithm string
		NotBefore          string
		NotAfter           string
		Status             string
		ValidityDays       string
	}{c.ID, c.CAID, c.CertPEM, key, c.Info.CommonName, c.Info.Issuer, c.Info.Serial, c.Info.FingerprintSHA256,
		c.Info.SigAlg, fmtCertTime(c.Info.NotBefore), fmtCertTime(c.Info.NotAfter), c.Status,
		strconv.Itoa(origincert.ValidityDays(c.Info.NotAfter, c.Info.NotBefore))}, nil // as asked: it starts now
}

func (s *Server) getClientCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.ClientCerts.Certificate(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return struct {
		SiteId      int64
		SiteName    string
		Status      string
		Certificate string
		Result      clientCertJSON
	}{c.SiteID, c.SiteName, c.Status, c.CertPEM, clientCert(c)}, nil
}

func (s *Server) listClientCertificates(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	list, total, site, err := s.ClientCerts.List(ctx, siteID, page)
	if err != nil {
		return nil, err
	}
	out := struct {
		SiteId     int64
		SiteName   string
		PageNumber int
		PageSize   int
		TotalCount int
		Result     []clientCertJSON
	}{site.ID, site.Name, page.Offset/page.Limit + 1, page.Limit, total, []clientCertJSON{}}
	for _, c := range list {
		out.Result = append(out.Result, clientCert(c))
	}
	return out, nil
}

func (s *Server) revokeClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.clientCertDone(ctx, p, s.ClientCerts.Revoke)
}

func (s *Server) activateClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.clientCertDone(ctx, p, s.ClientCerts.Activate)
}

func (s *Server) deleteClientCertificate(ctx context.Context, p *params) (any, error) {
	return s.clientCertDone(ctx, p, s.ClientCerts.Delete)
}

// clientCertDone runs a change of one client certificate and answers its
// id and site.
func (s *Server) clientCertDone(ctx context.Context, p *params, change func(context.Context, int64, string) (site.Site, error)) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	st, err := change(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return originDone(id, st.ID, st.Name), nil
}

// The Id of Set/GetClientCertificateHostnames names the site's client CA
// (ESA's models say so); the id of one of its certificates, or none,
// names it too (see clientcert.Service.SetHostnames).

func (s *Server) setClientCertificateHostnames(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	hostnames, err := p.hostnames()
	if err != nil {
		return nil, err
	}
	site, caID, names, err := s.ClientCerts.SetHostnames(ctx, siteID, p.str("Id"), hostnames)
	if err != nil {
		return nil, err
	}
	return hostnamesAnswer(caID, site.ID, site.Name, names), nil
}

func (s *Server) getClientCertificateHostnames(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	site, caID, names, err := s.ClientCerts.Hostnames(ctx, siteID, p.str("Id"))
	if err != nil {
		return nil, err
	}
	return hostnamesAnswer(caID, site.ID, site.Name, names), nil
}
