package api

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/domain"
)

// certJSON is a certificate as GetCertificate's Result and ListCertificates'
// Result[] show it. Empty optional fields are left out: Terraform reads an
// absent CasId as "no repository certificate".
type certJSON struct {
	Id                string
	Name              string
	Type              string
	Status            string
	CasId             string `json:",omitempty"`
	Region            string `json:",omitempty"`
	CommonName        string
	SAN               string
	Issuer            string
	IssuerCN          string
	SerialNumber      string
	FingerprintSha256 string
	PubAlg            string
	SigAlg            string
	NotBefore         string
	NotAfter          string
	CreateTime        string
	UpdateTime        string
	ApplyCode         int       `json:",omitempty"`
	ApplyMessage      string    `json:",omitempty"`
	DCV               []dcvJSON `json:",omitempty"`
	// Ocsp is an esacert extension, in GetCertificate only: the
	// certificate's OCSP state and what it does to serving (clients
	// ignore fields their models lack).
	Ocsp *ocspJSON `json:",omitempty"`
}

// ocspJSON is GetCertificate's Result.Ocsp: the OCSP response kept for the
// certificate and whether it can be stapled. Problem says why not (and,
// with MustStaple, why the edge does not serve the certificate at all).
type ocspJSON struct {
	Status        string // good, revoked, unknown, none (no responder), pending (not fetched yet)
	MustStaple    bool
	Problem       string `json:",omitempty"`
	ThisUpdate    string `json:",omitempty"`
	NextUpdate    string `json:",omitempty"`
	RevokedTime   string `json:",omitempty"`
	FetchTime     string `json:",omitempty"`
	NextFetchTime string `json:",omitempty"`
	FetchError    string `json:",omitempty"`
	FetchFailures int    `json:",omitempty"`
}

func ocspView(st cert.OCSPState) *ocspJSON {
	r := st.Response
	j := &ocspJSON{Status: r.Status, MustStaple: st.MustStaple, Problem: st.Problem, FetchError: r.Error, FetchFailures: r.Failures}
	if j.Status == "" {
		j.Status = "pending"
	}
	for _, t := range []struct {
		to *string
		at time.Time
	}{{&j.ThisUpdate, r.ThisUpdate}, {&j.NextUpdate, r.NextUpdate}, {&j.RevokedTime, r.RevokedAt}, {&j.FetchTime, r.Fetched},
		{&j.NextFetchTime, r.Next}} {
		if !t.at.IsZero() {
			*t.to = fmtCertTime(t.at)
		}
	}
	return j
}

// dcvJSON is one Result.DCV[] entry: a validation in progress.
type dcvJSON struct{ Id, Type, Key, Value, Status string }

func (s *Server) certJSON(c cert.Certificate) certJSON {
	j := certJSON{
		Id:                c.ID,
		Name:              c.Name,
		Type:              c.Type,
		Status:            c.Status(s.Certs.Time()),
		Region:            c.Region,
		CommonName:        c.Info.CommonName,
		SAN:               strings.Join(c.Info.SANs, ","),
		Issuer:            c.Info.Issuer,
		IssuerCN:          c.Info.IssuerCN,
		SerialNumber:      c.Info.Serial,
		FingerprintSha256: c.Info.FingerprintSHA256,
		PubAlg:            c.Info.PubAlg,
		SigAlg:            c.Info.SigAlg,
		NotBefore:         fmtCertTime(c.Info.NotBefore),
		NotAfter:          fmtCertTime(c.Info.NotAfter),
		CreateTime:        fmtCertTime(c.Created),
		UpdateTime:        fmtCertTime(c.Updated),
	}
	if c.CasID != 0 {
		j.CasId = fmt.Sprint(c.CasID)
	}
	if c.Type == cert.TypeFree {
		j.ApplyCode, j.ApplyMessage = c.Free.Code, c.Free.Message
		if !c.Issued() {
			j.Issuer, j.IssuerCN, j.PubAlg, j.SigAlg, j.NotBefore, j.NotAfter = "", "", "", "", "", ""
		}
	}
	return j
}

func (s *Server) applyCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	results, site, err := s.Certs.ApplyCertificate(ctx, siteID, p.str("Domains"), p.str("Type"))
	if err != nil {
		return nil, err
	}
	type resultJSON struct{ Domain, Id, Status string }
	out := struct {
		SiteName   string
		TotalCount int
		Result     []resultJSON
	}{site.Name, len(results), []resultJSON{}}
	for _, r := range results {
		out.Result = append(out.Result, resultJSON{r.Domain, r.ID, r.Status})
	}
	return out, nil
}

func (s *Server) setCertificate(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	casID, err := p.int64("CasId")
	if err != nil {
		return nil, err
	}
	update, err := p.boolean("Update")
	if err != nil {
		return nil, err
	}
	c, err := s.Certs.SetCertificate(ctx, cert.SetInput{
		SiteID:  siteID,
		Type:    p.str("Type"),
		Name:    p.str("Name"),
		ID:      p.str("Id"),
		Update:  update,
		CertPEM: p.str("Certificate"),
		KeyPEM:  p.str("PrivateKey"),
		CasID:   casID,
		Region:  p.str("Region"),
	})
	if err != nil {
		return nil, err
	}
	return struct{ Id string }{c.ID}, nil
}

func (s *Server) getCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.Certs.Certificate(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	j := s.certJSON(c)
	dcv, err := s.Certs.Validations(ctx, c)
	if err != nil {
		return nil, err
	}
	for _, d := range dcv {
		j.DCV = append(j.DCV, dcvJSON{d.ID, d.Type, d.Key, d.Value, d.Status})
	}
	if st, ok, err := s.Certs.OCSPState(ctx, c); err != nil {
		return nil, err
	} else if ok {
		j.Ocsp = ocspView(st)
	}
	return struct {
		SiteId      int64
		SiteName    string
		Status      string
		Certificate string
		Result      certJSON
	}{c.SiteID, c.SiteName, j.Status, c.CertPEM, j}, nil
}

func (s *Server) listCertificates(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	validOnly, err := p.boolean("ValidOnly")
	if err != nil {
		return nil, err
	}
	list, total, site, err := s.Certs.ListCertificates(ctx, siteID, p.str("Keyword"), validOnly, page)
	if err != nil {
		return nil, err
	}
	out := struct {
		SiteId     int64
		SiteName   string
		PageNumber int
		PageSize   int
		TotalCount int
		Result     []certJSON
	}{site.ID, site.Name, page.Offset/page.Limit + 1, page.Limit, total, []certJSON{}}
	for _, c := range list {
		out.Result = append(out.Result, s.certJSON(c))
	}
	return out, nil
}

func (s *Server) deleteCertificate(ctx context.Context, p *params) (any, error) {
	siteID, id, err := p.siteAndID()
	if err != nil {
		return nil, err
	}
	c, err := s.Certs.DeleteCertificate(ctx, siteID, id)
	if err != nil {
		return nil, err
	}
	return struct {
		Id       string
		SiteId   int64
		SiteName string
	}{c.ID, c.SiteID, c.SiteName}, nil
}

// recordJSON is one Result[] entry of ListCertificatesByRecord (the field
// ApplylingCount is spelled as ESA spells it).
type recordJSON struct {
	RecordName     string
	Status         string
	Count          int
	ApplylingCount int
	Certificates   []certJSON `json:",omitempty"`
}

func (s *Server) listCertificatesByRecord(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	raw, err := p.required("RecordName")
	if err != nil {
		return nil, err
	}
	validOnly, err := p.boolean("ValidOnly")
	if err != nil {
		return nil, err
	}
	detail := true
	if p.str("Detail") != "" {
		if detail, err = p.boolean("Detail"); err != nil {
			return nil, err
		}
	}
	var names []string
	for _, n := range strings.Split(raw, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	if len(names) > 100 {
		return nil, domain.Invalid("RecordName", "at most 100 record names at once")
	}
	matches, site, err := s.Certs.CertificatesByRecord(ctx, siteID, names, validOnly)
	if err != nil {
		return nil, err
	}
	out := struct {
		SiteId     int64
		SiteName   string
		TotalCount int
		Result     []recordJSON
	}{site.ID, site.Name, len(matches), []recordJSON{}}
	for _, m := range matches {
		r := recordJSON{RecordName: m.RecordName, Status: m.Status, Count: len(m.Certificates), ApplylingCount: m.Applying}
		if detail {
			r.Certificates = []certJSON{}
			for _, c := range m.Certificates {
				r.Certificates = append(r.Certificates, s.certJSON(c))
			}
		}
		out.Result = append(out.Result, r)
	}
	return out, nil
}

func (s *Server) getCertificateQuota(ctx context.Context, p *params) (any, error) {
	siteID, err := p.requiredInt64("SiteId")
	if err != nil {
		return nil, err
	}
	q, err := s.Certs.CertificateQuota(ctx, siteID, p.str("Type"))
	if err != nil {
		return nil, err
	}
	type siteUsage struct {
		SiteId    string // a string here, as ESA has it
		SiteName  string
		SiteUsage int
	}
	out := struct {
		Type       string
		Quota      int
		QuotaUsage int
		SiteCount  int
		SiteUsage  []siteUsage
	}{q.Type, q.Limit, q.Usage, len(q.SiteUsage), []siteUsage{}}
	for _, u := range q.SiteUsage {
		out.SiteUsage = append(out.SiteUsage, siteUsage{fmt.Sprint(u.SiteID), u.SiteName, u.Usage})
	}
	return out, nil
}

func (s *Server) listCasCertificates(ctx context.Context, p *params) (any, error) {
	page, err := p.page(20, 500)
	if err != nil {
		return nil, err
	}
	list, total, err := s.Certs.ListRepoCerts(ctx, p.str("SearchKeyword"), cert.RepoAny, page)
	if err != nil {
		return nil, err
	}
	type casJSON struct {
		Id          int64
		Name        string
		CommonName  string
		Fingerprint string
		Issuer      string
		NotAfter    string // epoch milliseconds, as ESA has it
		Region      string
	}
	out := struct {
		Certificates []casJSON
		PageNumber   int
		PageSize     int
		TotalCount   int
	}{[]casJSON{}, page.Offset/page.Limit + 1, page.Limit, total}
	for _, r := range list {
		out.Certificates = append(out.Certificates, casJSON{r.ID, r.Name, r.Info.CommonName,
			r.Info.FingerprintSHA256, r.Info.Issuer, fmt.Sprint(r.Info.NotAfter.UnixMilli()), r.Region})
	}
	return out, nil
}
