package cert

import (
	"context"
	"crypto"
	"crypto/x509"
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

// IssueError is an issuance failure with the code and words GetCertificate
// shows as ApplyCode and ApplyMessage. Err is ErrIssuance or ErrUnavailable.
type IssueError struct {
	Err        error
	Code       int
	Message    string
	RetryAfter time.Duration // when the CA said when to come back
}

func (e *IssueError) Error() string { return e.Message }
func (e *IssueError) Unwrap() error { return e.Err }

// Issuer obtains certificates from an ACME CA. Implementations are safe for
// concurrent use.
type Issuer interface {
	// Issue obtains a certificate for domains, for key, from the CA named ca,
	// and returns its chain, leaf first, as PEM. Failures are *IssueError.
	Issue(ctx context.Context, ca string, domains []string, key crypto.Signer) (chainPEM []byte, err error)
	// HasCA reports whether ca names a configured CA.
	HasCA(ca string) bool
	// CanWildcard reports whether wildcard names can be validated (DNS-01).
	CanWildcard() bool
	// SuggestedRenewal returns the start of the renewal window the CA
	// suggests for leaf (ACME Renewal Information), when it offers one.
	SuggestedRenewal(ctx context.Context, ca string, leaf *x509.Certificate) (time.Time, bool)
}

// FreeStore is what free certificates need from storage.
type FreeStore interface {
	// CreateFree inserts free certificates for one site in one transaction,
	// refusing with ErrFreeQuota when the site would hold more than limit
	// free certificates (0: no limit). A domain the site already has a free
	// certificate for is not inserted again; its existing record is returned.
	CreateFree(ctx context.Context, certs []Certificate, limit int) ([]Certificate, error)
	// ClaimDue leases up to max free certificates that are due (their Next
	// is not after now and no other renewer holds them) to owner until
	// leaseUntil, and returns them with their sealed keys.
	ClaimDue(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, max int) ([]Certificate, error)
	// FinishFree stores the outcome of an attempt for a certificate owner
	// leased: new content (when c.ChainPEM is set) and c.Free; it releases
	// the lease. ErrCertNotFound when the certificate was deleted meanwhile.
	FinishFree(ctx context.Context, c Certificate, owner string) error
}

// ChallengeStore keeps HTTP-01 answers for the edge.
type ChallengeStore interface {
	PutChallenge(ctx context.Context, host, token, keyAuth string, expires time.Time) error
	Challenge(ctx context.Context, host, token string, now time.Time) (string, bool, error)
	DeleteChallenge(ctx context.Context, host, token string) error
	// ChallengesFor lists the live answers for host: token and key authorization.
	ChallengesFor(ctx context.Context, host string, now time.Time) ([][2]string, error)
}

// DCV is one domain control validation in progress (GetCertificate's DCV[]).
type DCV struct {
	ID, Type, Key, Value, Status string
}

// Validations lists the validations in progress for a free certificate that
// is being applied for: the HTTP-01 URL the CA fetches and the answer, or
// the DNS-01 TXT record and its value.
func (s *Service) Validations(ctx context.Context, c Certificate) ([]DCV, error) {
	if c.Type != TypeFree || s.Challenges == nil || c.Free.Status != StatusApplying {
		return nil, nil
	}
	base := strings.TrimPrefix(c.Name, "*.") // a wildcard's validation is kept under the name below it
	list, err := s.Challenges.ChallengesFor(ctx, base, s.now())
	if err != nil {
		return nil, err
	}
	var out []DCV
	for _, ch := range list {
		switch ch[0] {
		case DNSChallengeToken:
			out = append(out, DCV{ID: ch[0], Type: "DNS", Key: "_acme-challenge." + base, Value: ch[1], Status: "pending"})
		case TLSALPNChallengeToken:
			// Answered inside the TLS handshake on port 443: nothing to show.
		default:
			out = append(out, DCV{ID: ch[0], Type: "HTTP", Key: "http://" + c.Name + "/.well-known/acme-challenge/" + ch[0],
				Value: ch[1], Status: "pending"})
		}
	}
	return out, nil
}

// Tokens under which the challenge store keeps validations that have no
// token of their own: DNS-01 (the TXT value, for display) and TLS-ALPN-01.
const (
	DNSChallengeToken     = "dns-01"
	TLSALPNChallengeToken = "tls-alpn-01"
)

// ApplyResult is one certificate ApplyCertificate started.
type ApplyResult struct {
	Domain string
	ID     string
	Status string
}

// ApplyCertificate starts free certificates for domains (one each) from
// the CA ca, and returns at once; issuance goes on in the background.
func (s *Service) ApplyCertificate(ctx context.Context, siteID int64, domains, ca string) ([]ApplyResult, site.Site, error) {
	if strings.TrimSpace(domains) == "" {
		return nil, site.Site{}, domain.Missing("Domains")
	}
	if s.Issuer == nil {
		return nil, site.Site{}, domain.Invalid("Type", "this esacert has no ACME certificate authority configured")
	}
	if ca == "" {
		ca = "lets_encrypt"
	}
	if !s.Issuer.HasCA(ca) {
		return nil, site.Site{}, domain.Invalid("Type", fmt.Sprintf("%q names no configured certificate authority", ca))
	}
	st, err := s.Sites.Site(ctx, siteID)
	if err != nil {
		return nil, site.Site{}, err // SiteNotFound, as the ApplyCertificate doc says
	}
	if !st.Served(s.RequireVerified) {
		return nil, site.Site{}, ErrSiteNotActive
	}
	var list []string
	for _, d := range strings.Split(domains, ",") {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
		if d == "" {
			continue
		}
		if err := site.CheckHostname(strings.TrimPrefix(d, "*.")); err != "" || strings.Contains(strings.TrimPrefix(d, "*."), "*") {
			return nil, site.Site{}, domain.Invalid("Domains", fmt.Sprintf("%q is not a domain name", d))
		}
		if !certcheck.UnderSite(d, st.Name) {
			return nil, site.Site{}, ErrNameNotInSite
		}
		if strings.HasPrefix(d, "*.") && !s.Issuer.CanWildcard() {
			return nil, site.Site{}, domain.Invalid("Domains", "a wildcard needs DNS-01 validation, and no DNS provider is configured (--acme-dns-provider)")
		}
		list = append(list, d)
	}
	if len(list) == 0 {
		return nil, site.Site{}, domain.Missing("Domains")
	}
	if len(list) > 100 {
		return nil, site.Site{}, domain.Invalid("Domains", "at most 100 domains at once")
	}
	now := s.now()
	var certs []Certificate
	for _, d := range list {
		certs = append(certs, Certificate{ID: s.hexID(16), SiteID: st.ID, SiteName: st.Name, Name: d, Type: TypeFree,
			Info: certcheck.Info{SANs: []string{d}, CommonName: d}, Created: now, Updated: now,
			Free: FreeState{Status: StatusApplying, CA: ca, Next: now}})
	}
	stored, err := s.Frees.CreateFree(ctx, certs, s.limits(st.Plan.Tier).FreeCerts)
	if err != nil {
		return nil, site.Site{}, err
	}
	var out []ApplyResult
	for _, c := range stored {
		out = append(out, ApplyResult{Domain: c.Name, ID: c.ID, Status: c.Status(now)})
	}
	s.kickRenewer()
	return out, st, nil
}

// kickRenewer asks the renewer to look for work now.
func (s *Service) kickRenewer() {
	if s.Kick != nil {
		select {
		case s.Kick <- struct{}{}:
		default:
		}
	}
}
