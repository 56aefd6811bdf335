package acme

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/go-acme/lego/v5/challenge"
	"github.com/go-acme/lego/v5/challenge/dns01"
	legolog "github.com/go-acme/lego/v5/log"
	"github.com/go-acme/lego/v5/providers/dns/acmedns"
	"github.com/go-acme/lego/v5/providers/dns/cloudflare"
	"github.com/go-acme/lego/v5/providers/dns/digitalocean"
	"github.com/go-acme/lego/v5/providers/dns/exec"
	"github.com/go-acme/lego/v5/providers/dns/httpreq"
	"github.com/go-acme/lego/v5/providers/dns/pdns"
	"github.com/go-acme/lego/v5/providers/dns/route53"

	"github.com/esacert/esacert/internal/cert"
)

// dnsProviders are the DNS-01 providers built in, by lego's names. Each
// reads its settings and credentials from lego's environment variables
// (CLOUDFLARE_DNS_API_TOKEN, HTTPREQ_ENDPOINT, …), so esacert never holds
// them in its configuration or database.
var dnsProviders = map[string]func() (challenge.Provider, error){
	"acme-dns":     func() (challenge.Provider, error) { return acmedns.NewDNSProvider() },
	"cloudflare":   func() (challenge.Provider, error) { return cloudflare.NewDNSProvider() },
	"digitalocean": func() (challenge.Provider, error) { return digitalocean.NewDNSProvider() },
	"exec":         func() (challenge.Provider, error) { return exec.NewDNSProvider() },
	"httpreq":      func() (challenge.Provider, error) { return httpreq.NewDNSProvider() },
	"pdns":         func() (challenge.Provider, error) { return pdns.NewDNSProvider() },
	"route53":      func() (challenge.Provider, error) { return route53.NewDNSProvider() },
}

// DNSProviderNames lists the DNS-01 providers built in.
func DNSProviderNames() []string {
	names := make([]string, 0, len(dnsProviders))
	for n := range dnsProviders {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// NewDNSProvider makes the DNS-01 provider name from its environment
// variables.
func NewDNSProvider(name string) (challenge.Provider, error) {
	mk, ok := dnsProviders[name]
	if !ok {
		return nil, fmt.Errorf("%q is not a DNS provider esacert knows (%s)", name, strings.Join(DNSProviderNames(), ", "))
	}
	p, err := mk()
	if err != nil {
		return nil, fmt.Errorf("DNS provider %s: %w", name, err)
	}
	return p, nil
}

// UseResolvers makes DNS-01 look up zones and check that TXT records have
// propagated through these resolvers (host:port) alone, instead of the
// system's resolvers and the zone's authoritative servers. It is process
// wide.
func UseResolvers(resolvers []string) {
	dns01.SetDefaultClient(dns01.NewClient(&dns01.Options{RecursiveNameservers: resolvers, Timeout: 10 * time.Second}))
}

// dnsShown wraps a DNS-01 provider so that the TXT value it publishes is
// also kept in the challenge store while the validation runs, for
// GetCertificate's DCV.
type dnsShown struct {
	challenge.Provider
	store cert.ChallengeStore
}

func (p dnsShown) Present(ctx context.Context, domain, token, keyAuth string) error {
	if err := p.Provider.Present(ctx, domain, token, keyAuth); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(keyAuth)) // the TXT value, RFC 8555 section 8.4
	if err := p.store.PutChallenge(ctx, domain, cert.DNSChallengeToken, base64.RawURLEncoding.EncodeToString(sum[:]), time.Now().Add(time.Hour)); err != nil {
		// Only GetCertificate's display needs it: the validation goes on.
		legolog.Default().Warn("could not keep the DNS-01 value for display", "domain", domain, "error", err)
	}
	return nil
}

func (p dnsShown) CleanUp(ctx context.Context, domain, token, keyAuth string) error {
	err := p.Provider.CleanUp(ctx, domain, token, keyAuth)
	return errors.Join(err, p.store.DeleteChallenge(ctx, domain, cert.DNSChallengeToken))
}

// Timeout keeps the provider's own propagation timeout and interval.
func (p dnsShown) Timeout() (timeout, interval time.Duration) {
	if t, ok := p.Provider.(challenge.ProviderTimeout); ok {
		return t.Timeout()
	}
	return dns01.DefaultPropagationTimeout, dns01.DefaultPollingInterval
}
