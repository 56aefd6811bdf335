package api

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
)

// CASVersion is the version of the certificate repository's API (Alibaba
// Cloud SSL Certificates Service, product cas) esacert speaks.
const CASVersion = "2020-04-07"

func (s *Server) uploadUserCertificate(ctx context.Context, p *params) (any, error) {
	r, err := s.Certs.UploadRepoCert(ctx, cert.UploadInput{
		Name:            p.str("Name"),
		CertPEM:         p.str("Cert"),
		KeyPEM:          p.str("Key"),
		Region:          p.str("RegionId"),
		ResourceGroupID: p.str("ResourceGroupId"),
	})
	if err != nil {
		return nil, err
	}
	return struct {
		CertId     int64
		ResourceId string
	}{r.ID, r.ResourceID()}, nil
}

// repoDates are the date fields the repository shows for a certificate.
func repoDates(r cert.RepoCert) (start, end string) {
	return r.Info.NotBefore.UTC().Format("2006-01-02"), r.Info.NotAfter.UTC().Format("2006-01-02")
}

// sha1Fingerprint is the upper-case hex SHA-1 of the leaf, the repository's
// Fingerprint. It is computed from the stored text, which was checked at upload.
func sha1Fingerprint(r cert.RepoCert) string {
	certs, err := certcheck.ParseCertificates(r.CertPEM)
	if err != nil {
		return ""
	}
	for _, c := range certs {
		if certcheck.Describe(c).FingerprintSHA256 == r.Info.FingerprintSHA256 {
			sum := sha1.Sum(c.Raw)
			return strings.ToUpper(hex.EncodeToString(sum[:]))
		}
	}
	return ""
}

func algorithm(info certcheck.Info) string {
	if info.PubAlg == "ECDSA" {
		return "ECC"
	}
	return info.PubAlg
}

func (s *Server) getUserCertificateDetail(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("CertId")
	if err != nil {
		return nil, err
	}
	filter, err := p.boolean("CertFilter")
	if err != nil {
		return nil, err
	}
	r, err := s.Certs.RepoCert(ctx, id, !filter)
	if err != nil {
		return nil, err
	}
	start, end := repoDates(r)
	out := struct {
		Id              int64
		Name            string
		Cert            string `json:",omitempty"`
		Key             string `json:",omitempty"`
		Common          string
		Sans            string
		Issuer          string
		OrgName         string
		Algorithm       string
		SerialNo        string
		Fingerprint     string
		Sha2            string
		NotBefore       int64
		NotAfter        int64
		StartDate       string
		EndDate         string
		Expired         bool
		BuyInAliyun     bool
		CertIdentifier  string
		InstanceId      string
		ResourceGroupId string
		Tags            []struct{ TagKey, TagValue string }
	}{
		Id: r.ID, Name: r.Name, Common: r.Info.CommonName, Sans: strings.Join(r.Info.SANs, ","),
		Issuer: r.Info.Issuer, Algorithm: algorithm(r.Info), SerialNo: r.Info.Serial,
		Fingerprint: sha1Fingerprint(r), Sha2: strings.ToUpper(r.Info.FingerprintSHA256),
		NotBefore: r.Info.NotBefore.UnixMilli(), NotAfter: r.Info.NotAfter.UnixMilli(),
		StartDate: start, EndDate: end, Expired: !s.Certs.Time().Before(r.Info.NotAfter),
		CertIdentifier: fmt.Sprintf("%d-%s", r.ID, r.Region), InstanceId: r.ResourceID(),
		ResourceGroupId: r.ResourceGroupID, Tags: []struct{ TagKey, TagValue string }{},
	}
	if !filter {
		out.Cert, out.Key = r.CertPEM, r.KeyPEM
	}
	return out, nil
}

func (s *Server) listUserCertificateOrder(ctx context.Context, p *params) (any, error) {
	number, err := p.int64("CurrentPage")
	if err != nil {
		return nil, err
	}
	size, err := p.int64("ShowSize")
	if err != nil {
		return nil, err
	}
	page, err := domain.Paging(number, size, 50, 500)
	if err != nil {
		return nil, err
	}
	type orderJSON struct {
		CertificateId   int64
		Name            string
		CommonName      string
		Sans            string
		Issuer          string
		Algorithm       string
		SerialNo        string
		Fingerprint     string
		Sha2            string
		StartDate       string
		EndDate         string
		Expired         bool
		Upload          bool
		InstanceId      string
		ResourceGroupId string
	}
	out := struct {
		CertificateOrderList []orderJSON
		CurrentPage          int
		ShowSize             int
		TotalCount           int
	}{[]orderJSON{}, page.Offset/page.Limit + 1, page.Limit, 0}

	orderType := strings.ToUpper(p.str("OrderType"))
	switch orderType {
	case "", "CPACK", "BUY":
		return out, nil // esacert sells nothing: there are no orders
	case "UPLOAD", "CERT":
	default:
		return nil, domain.Invalid("OrderType", "must be CPACK, BUY, UPLOAD or CERT")
	}
	// Without Status only valid certificates are listed, as the repository does.
	var state string
	switch strings.ToUpper(p.str("Status")) {
	case "", "ISSUED":
		state = cert.RepoValid
	case "WILLEXPIRED":
		state = cert.RepoExpiring
	case "EXPIRED":
		state = cert.RepoExpired
	default:
		return nil, domain.Invalid("Status", "must be ISSUED, WILLEXPIRED or EXPIRED")
	}
	list, total, err := s.Certs.ListRepoCerts(ctx, p.str("Keyword"), state, page)
	if err != nil {
		return nil, err
	}
	out.TotalCount = total
	for _, r := range list {
		start, end := repoDates(r)
		out.CertificateOrderList = append(out.CertificateOrderList, orderJSON{
			CertificateId: r.ID, Name: r.Name, CommonName: r.Info.CommonName, Sans: strings.Join(r.Info.SANs, ","),
			Issuer: r.Info.Issuer, Algorithm: algorithm(r.Info), SerialNo: r.Info.Serial, Fingerprint: sha1Fingerprint(r),
			Sha2: strings.ToUpper(r.Info.FingerprintSHA256), StartDate: start, EndDate: end,
			Expired: !s.Certs.Time().Before(r.Info.NotAfter), Upload: true, InstanceId: r.ResourceID(),
			ResourceGroupId: r.ResourceGroupID,
		})
	}
	return out, nil
}

func (s *Server) deleteUserCertificate(ctx context.Context, p *params) (any, error) {
	id, err := p.requiredInt64("CertId")
	if err != nil {
		return nil, err
	}
	return nil, s.Certs.DeleteRepoCert(ctx, id)
}
