// Package resolver is the DNS view of VerifySite (site.Resolver): lookups
// of NS and TXT records through the resolvers the operator names
// (--verify-resolvers), or the system's. It is an adapter: the site package
// declares the interface, the node builds a Resolver from the settings.
package resolver

import (
	"context"
	"errors"
	"net"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// Resolver looks DNS up through the given resolvers (host:port), each tried
// in turn with 2 s to answer until one does, else through the system's. It
// is safe for concurrent use.
type Resolver struct{ rs []*net.Resolver }

var _ site.Resolver = Resolver{}

// New returns a Resolver through servers (host:port); none means the
// system's resolver.
func New(servers []string) Resolver {
	if len(servers) == 0 {
		return Resolver{[]*net.Resolver{net.DefaultResolver}}
	}
	var r Resolver
	for _, addr := range servers {
		r.rs = append(r.rs, &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}})
	}
	return r
}

// ask returns the first answer of the resolvers in turn. A name that does
// not exist, or has no records of the type, is an empty answer.
func ask[T any](ctx context.Context, r Resolver, lookup func(context.Context, *net.Resolver) ([]T, error)) ([]T, error) {
	var err error
	for _, res := range r.rs {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		var out []T
		out, err = lookup(actx, res)
		cancel()
		var dnsErr *net.DNSError
		if err == nil || errors.As(err, &dnsErr) && dnsErr.IsNotFound {
			return out, nil
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, err
}

// LookupNS returns the host names of the NS records of fqdn; a name that
// does not exist or has none is an empty answer, not an error.
func (r Resolver) LookupNS(ctx context.Context, fqdn string) ([]string, error) {
	ns, err := ask(ctx, r, func(ctx context.Context, res *net.Resolver) ([]*net.NS, error) { return res.LookupNS(ctx, fqdn) })
	hosts := make([]string, len(ns))
	for i, n := range ns {
		hosts[i] = n.Host
	}
	return hosts, err
}

// LookupTXT returns the TXT records of fqdn; a name that does not exist or
// has none is an empty answer, not an error.
func (r Resolver) LookupTXT(ctx context.Context, fqdn string) ([]string, error) {
	return ask(ctx, r, func(ctx context.Context, res *net.Resolver) ([]string, error) { return res.LookupTXT(ctx, fqdn) })
}
