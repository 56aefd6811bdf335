// Package acme obtains free certificates from ACME certificate authorities
// (RFC 8555) for esacert, through the lego client library. It implements
// cert.Issuer: HTTP-01 challenges are answered by the edge from the shared
// challenge store, so any edge node can answer for a name.
package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-acme/lego/v5/acme"
	"github.com/go-acme/lego/v5/certificate"
	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dns01"
	"github.com/go-acme/lego/v5/challenge/tlsalpn01"
	"github.com/go-acme/lego/v5/lego"
	legolog "github.com/go-acme/lego/v5/log"
	"github.com/go-acme/lego/v5/registration"

	"github.com/esacert/esacert/internal/cert"
)

// UseLogger sends lego's log lines to l (lego keeps one logger for the
// whole process).
func UseLogger(l *slog.Logger) { legolog.SetDefault(l) }

// Let's Encrypt's directories.
const (
	LetsEncrypt        = "https://acme-v02.api.letsencrypt.org/directory"
	LetsEncryptStaging = "https://acme-staging-v02.api.letsencrypt.org/directory"
)

// CA is one configured ACME certificate authority.
type CA struct {
	Directory string
	EABKeyID  string // external account binding, for CAs that need one
	EABHMAC   string
}

// Issuer obtains certificates. Set its fields before the first Issue; it
// is then safe for concurrent use.
type Issuer struct {
	CAs        map[string]CA       // by the name ApplyCertificate's Type uses
	Email      string              // contact of the ACME accounts; may be empty
	HTTPClient *http.Client        // nil means lego's default
	Challenges cert.ChallengeStore // where HTTP-01 answers go for the edge
	Accounts   AccountKeys         // where account keys are kept; nil: for this process only
	// Types are the challenge types this issuer answers for names that are
	// not wildcards: "http-01", "tls-alpn-01", "dns-01" (with DNS). nil
	// means HTTP-01 alone: when several are offered the client picks one
	// and does not fall back, so the others are opt-in.
	Types []string
	// DNS answers DNS-01, which wildcard names always use; nil means
	// wildcards cannot be issued.
	DNS challenge.Provider
	// DNSResolversOnly checks propagation through the recursive resolvers
	// alone (see UseResolvers), not the zone's authoritative servers.
	DNSResolversOnly bool

	mu       sync.Mutex
	accounts map[string]*account
}

var _ cert.Issuer = (*Issuer)(nil)

// HasCA implements cert.Issuer.
func (i *Issuer) HasCA(name string) bool { _, ok := i.CAs[name]; return ok }

// user is an ACME account.
type user struct {
	email string
	key   crypto.Signer
	reg   *acme.ExtendedAccount
}

func (u *user) GetEmail() string                       { return u.email }
func (u *user) GetRegistration() *acme.ExtendedAccount { return u.reg }
func (u *user) GetPrivateKey() crypto.Signer           { return u.key }

// account is one ACME account with a CA, and its clients: main answers
// the configured types, dns (nil without a DNS provider) DNS-01 alone.
type account struct{ main, dns *lego.Client }

// CanWildcard implements cert.Issuer.
func (i *Issuer) CanWildcard() bool { return i.DNS != nil }

func (i *Issuer) dnsOptions() []dns01.ChallengeOption {
	if i.DNSResolversOnly {
		return []dns01.ChallengeOption{dns01.DisableAuthoritativeNssPropagationRequirement()}
	}
	return nil
}

// AccountKeys keeps ACME account keys across restarts and nodes
// (cert.AccountKeys, sealed in the database).
type AccountKeys interface {
	Load(ctx context.Context, directory string) (keyPEM []byte, ok bool, err error)
	Save(ctx context.Context, directory string, keyPEM []byte) error
}

// client returns the registered clients of a CA: the account kept in
// Accounts when the CA still knows it, else a new one, registered and kept.
func (i *Issuer) client(ctx context.Context, name string) (*account, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if c, ok := i.accounts[name]; ok {
		return c, nil
	}
	ca, ok := i.CAs[name]
	if !ok {
		return nil, fmt.Errorf("no CA named %q", name)
	}
	u, acc, err := i.keptAccount(ctx, ca)
	if err != nil {
		return nil, err
	}
	if acc == nil {
		if u, acc, err = i.newAccount(ctx, ca); err != nil {
			return nil, err
		}
		if i.Accounts != nil {
			if err := i.Accounts.Save(ctx, ca.Directory, encodeKey(u.key)); err != nil {
				// The account works; the next start opens another one.
				legolog.Default().Warn("could not keep the ACME account key", "ca", name, "error", err)
			}
		}
	}
	if err := i.addDNS(u, ca, acc); err != nil {
		return nil, err
	}
	if i.accounts == nil {
		i.accounts = map[string]*account{}
	}
	i.accounts[name] = acc
	return acc, nil
}

// keptAccount returns the account kept for ca, or nil when there is none or
// the CA no longer knows it.
func (i *Issuer) keptAccount(ctx context.Context, ca CA) (*user, *account, error) {
	if i.Accounts == nil {
		return nil, nil, nil
	}
	keyPEM, ok, err := i.Accounts.Load(ctx, ca.Directory)
	if err != nil {
		legolog.Default().Warn("could not read the kept ACME account key; opening a new account", "directory", ca.Directory, "error", err)
		return nil, nil, nil
	}
	if !ok {
		return nil, nil, nil
	}
	key, err := decodeKey(keyPEM)
	if err != nil {
		return nil, nil, nil
	}
	u := &user{email: i.Email, key: key}
	acc, err := i.clients(u, ca)
	if err != nil {
		return nil, nil, err
	}
	if u.reg, err = acc.main.Registration.ResolveAccountByKey(ctx); err != nil {
		var pd *acme.ProblemDetails
		if errors.As(err, &pd) && strings.Contains(pd.Type, "accountDoesNotExist") {
			return nil, nil, nil
		}
		return nil, nil, &accountError{err: err, eab: ca.EABKeyID != ""}
	}
	return u, acc, nil
}

// newAccount registers a new account with ca.
func (i *Issuer) newAccount(ctx context.Context, ca CA) (*user, *account, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	u := &user{email: i.Email, key: key}
	acc, err := i.clients(u, ca)
	if err != nil {
		return nil, nil, err
	}
	if ca.EABKeyID != "" {
		u.reg, err = acc.main.Registration.RegisterWithExternalAccountBinding(ctx, registration.RegisterEABOptions{
			TermsOfServiceAgreed: true, Kid: ca.EABKeyID, HmacEncoded: ca.EABHMAC})
	} else {
		u.reg, err = acc.main.Registration.Register(ctx, registration.RegisterOptions{TermsOfServiceAgreed: true})
	}
	if err != nil {
		return nil, nil, &accountError{err: err, eab: ca.EABKeyID != ""}
	}
	return u, acc, nil
}

// clients makes the lego clients of user u with ca.
func (i *Issuer) clients(u *user, ca CA) (*account, error) {
	cfg := lego.NewConfig(u)
	cfg.CADirURL = ca.Directory
	if i.HTTPClient != nil {
		cfg.HTTPClient = i.HTTPClient
	}
	c, err := lego.NewClient(cfg)
	if err != nil {
		return nil, err
	}
	for _, typ := range i.types() {
		switch typ {
		case "http-01":
			err = c.Challenge.SetHTTP01Provider(httpProvider{i.Challenges})
		case "tls-alpn-01":
			err = c.Challenge.SetTLSALPN01Provider(tlsProvider{i.Challenges})
		case "dns-01":
			if i.DNS == nil {
				err = errors.New("dns-01 needs a DNS provider")
			} else {
				err = c.Challenge.SetDNS01Provider(dnsShown{i.DNS, i.Challenges}, i.dnsOptions()...)
			}
		default:
			err = fmt.Errorf("unknown challenge type %q", typ)
		}
		if err != nil {
			return nil, err
		}
	}
	return &account{main: c}, nil
}

// addDNS gives acc its DNS-01 client, once u is registered: lego takes the
// account URL (the JWS kid) from the user when a client is made.
func (i *Issuer) addDNS(u *user, ca CA, acc *account) error {
	if i.DNS == nil {
		return nil
	}
	cfg := lego.NewConfig(u)
	cfg.CADirURL = ca.Directory
	if i.HTTPClient != nil {
		cfg.HTTPClient = i.HTTPClient
	}
	c, err := lego.NewClient(cfg)
	if err != nil {
		return err
	}
	if err := c.Challenge.SetDNS01Provider(dnsShown{i.DNS, i.Challenges}, i.dnsOptions()...); err != nil {
		return err
	}
	acc.dns = c
	return nil
}

func encodeKey(k crypto.Signer) []byte {
	ek, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil
	}
	der, err := x509.MarshalECPrivateKey(ek)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

func decodeKey(keyPEM []byte) (*ecdsa.PrivateKey, error) {
	b, _ := pem.Decode(keyPEM)
	if b == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseECPrivateKey(b.Bytes)
}

// Issue implements cert.Issuer.
func (i *Issuer) Issue(ctx context.Context, ca string, domains []string, key crypto.Signer) ([]byte, error) {
	acc, err := i.client(ctx, ca)
	if err != nil {
		return nil, classify(err)
	}
	c := acc.main
	if acc.dns != nil && slices.ContainsFunc(domains, func(d string) bool { return strings.HasPrefix(d, "*.") }) {
		c = acc.dns
	}
	res, err := c.Certificate.Obtain(ctx, certificate.ObtainRequest{Domains: domains, PrivateKey: key, Bundle: true})
	if err != nil {
		return nil, classify(err)
	}
	return res.Certificate, nil
}

// SuggestedRenewal implements cert.Issuer with the CA's ACME Renewal
// Information (RFC 9773): the start of its suggested window.
func (i *Issuer) SuggestedRenewal(ctx context.Context, ca string, leaf *x509.Certificate) (time.Time, bool) {
	c, err := i.client(ctx, ca)
	if err != nil {
		return time.Time{}, false
	}
	info, err := c.main.Certificate.GetRenewalInfo(ctx, leaf)
	if err != nil || info == nil || info.ExtendedRenewalInfo == nil {
		return time.Time{}, false
	}
	return info.SuggestedWindow.Start.UTC(), true
}

func (i *Issuer) types() []string {
	if len(i.Types) == 0 {
		return []string{"http-01"}
	}
	return i.Types
}

// tlsALPNToken is the token under which a TLS-ALPN-01 answer is kept: the
// challenge has no token of its own on the wire.
const tlsALPNToken = cert.TLSALPNChallengeToken

// tlsProvider keeps TLS-ALPN-01 answers where the edge finds them.
type tlsProvider struct{ store cert.ChallengeStore }

func (p tlsProvider) Present(ctx context.Context, domain, _, keyAuth string) error {
	return p.store.PutChallenge(ctx, domain, tlsALPNToken, keyAuth, time.Now().Add(time.Hour))
}

func (p tlsProvider) CleanUp(ctx context.Context, domain, _, _ string) error {
	return p.store.DeleteChallenge(ctx, domain, tlsALPNToken)
}

// ALPNProtocol is the ALPN protocol of TLS-ALPN-01 validation.
const ALPNProtocol = tlsalpn01.ACMETLS1Protocol

// TLSALPNCertificate returns the certificate that answers a TLS-ALPN-01
// validation for host, when one is in progress.
func TLSALPNCertificate(ctx context.Context, store cert.ChallengeStore, host string) (*tls.Certificate, bool) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second) // a handshake is waiting
	defer cancel()
	keyAuth, ok, err := store.Challenge(ctx, host, tlsALPNToken, time.Now())
	if err != nil || !ok {
		return nil, false
	}
	c, err := tlsalpn01.ChallengeCert(host, keyAuth)
	if err != nil {
		return nil, false
	}
	return c, true
}

// httpProvider puts HTTP-01 answers where the edge finds them.
type httpProvider struct{ store cert.ChallengeStore }

func (p httpProvider) Present(ctx context.Context, domain, token, keyAuth string) error {
	return p.store.PutChallenge(ctx, domain, token, keyAuth, time.Now().Add(time.Hour))
}

func (p httpProvider) CleanUp(ctx context.Context, domain, token, _ string) error {
	return p.store.DeleteChallenge(ctx, domain, token)
}

// Apply codes: what went wrong, for ApplyCode.
const (
	CodeOther       = 1
	CodeValidation  = 2
	CodeCAA         = 3
	CodeRateLimited = 4
	CodeUnreachable = 5
	CodeAccount     = 6
)

// accountError is a failure to open the ACME account with a CA.
type accountError struct {
	err error
	eab bool // the account was to be bound with EAB credentials
}

func (e *accountError) Error() string { return "open an ACME account: " + e.err.Error() }
func (e *accountError) Unwrap() error { return e.err }

// classify turns a lego failure into an IssueError a user can act on.
func classify(err error) error {
	text := err.Error()
	var ne net.Error
	var pd *acme.ProblemDetails
	var ae *accountError
	switch {
	case errors.As(err, &ae) && errors.As(err, &pd) && !serverError.MatchString(text):
		hint := ""
		if strings.Contains(pd.Type, "externalAccountRequired") {
			hint = ": it requires external account binding, so give esacert its EAB key id and HMAC key (ESACERT_ACME_EAB)"
		} else if ae.eab {
			hint = ": check the EAB key id and HMAC key given in ESACERT_ACME_EAB"
		}
		return &cert.IssueError{Err: cert.ErrIssuance, Code: CodeAccount,
			Message: "the certificate authority refused to open an ACME account" + hint + " (" + shorten(pd.Detail) + ")"}
	case strings.Contains(text, "urn:ietf:params:acme:error:caa"):
		return &cert.IssueError{Err: cert.ErrIssuance, Code: CodeCAA,
			Message: "the domain's CAA records do not allow this certificate authority to issue for it"}
	case strings.Contains(text, "urn:ietf:params:acme:error:rateLimited"):
		return &cert.IssueError{Err: cert.ErrIssuance, Code: CodeRateLimited, RetryAfter: time.Hour,
			Message: "the certificate authority's rate limit was reached; esacert will try again later"}
	case strings.Contains(text, "urn:ietf:params:acme:error:connection"), strings.Contains(text, "urn:ietf:params:acme:error:dns"),
		strings.Contains(text, "urn:ietf:params:acme:error:unauthorized"), strings.Contains(text, "urn:ietf:params:acme:error:incorrectResponse"):
		what := "make sure the name resolves to this edge and plain HTTP (port 80) reaches it"
		switch {
		case strings.Contains(text, "tls-alpn-01"):
			what = "make sure the name resolves to this edge and HTTPS (port 443) reaches it without a TLS-terminating proxy in front"
		case strings.Contains(text, "dns-01"):
			what = "make sure the DNS provider serves the zone of the name, so the CA sees the TXT record at _acme-challenge.NAME"
		}
		return &cert.IssueError{Err: cert.ErrIssuance, Code: CodeValidation,
			Message: "the certificate authority could not validate the domain: " + what + " (" + shorten(text) + ")"}
	case strings.Contains(text, "propagation"), strings.Contains(text, "could not find zone"), strings.Contains(text, "could not find the start of authority"):
		return &cert.IssueError{Err: cert.ErrIssuance, Code: CodeValidation,
			Message: "the DNS-01 TXT record did not become visible: make sure the DNS provider serves the zone of the name (" + shorten(text) + ")"}
	case errors.As(err, &pd):
		return &cert.IssueError{Err: cert.ErrIssuance, Code: CodeOther, Message: "the certificate authority refused: " + pd.Detail}
	case errors.As(err, &ne), strings.Contains(text, "connection refused"), strings.Contains(text, "no such host"),
		strings.Contains(text, "dial tcp"), strings.Contains(text, "get directory"), serverError.MatchString(text):
		return &cert.IssueError{Err: cert.ErrUnavailable, Code: CodeUnreachable,
			Message: "the certificate authority cannot be reached; esacert keeps trying (" + shorten(text) + ")"}
	}
	return &cert.IssueError{Err: cert.ErrIssuance, Code: CodeOther, Message: "issuance failed: " + shorten(text)}
}

// serverError matches lego's rendering of a CA answering 5xx ("503 ::").
var serverError = regexp.MustCompile(`(^|\s)5\d\d ::`)

func shorten(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}
