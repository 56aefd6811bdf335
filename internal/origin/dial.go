package origin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"time"
)

// Resolver looks up the addresses of a host name. *net.Resolver is one;
// tests give a resolver of their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer connects to origins under Policy. Its zero value uses the default
// policy, the system's resolver and the timeouts documented on the fields.
// It is safe for concurrent use; its fields must not change once in use.
type Dialer struct {
	Policy Policy
	// Resolver looks up the origins given by name; nil means
	// net.DefaultResolver.
	Resolver Resolver
	// Timeout bounds one dial, the lookup included; 0 means 10 seconds.
	Timeout time.Duration
	// KeepAlive is the TCP keep-alive period; 0 means 30 seconds.
	KeepAlive time.Duration
}

// DialContext connects to address (host:port, the port numeric), as
// net.Dialer.DialContext does, for network tcp, tcp4 or tcp6. A host name
// is resolved here, and when any of the addresses it resolves to is
// refused the dial is refused: a name is only as good as its worst answer.
// Then the checked addresses are dialled in turn, by address, never by
// name again; and each socket's Control checks the address it really
// connects to. A refusal is an error that matches ErrRefused (inside a
// *net.OpError, with the *RefusedError that says why); nothing is sent to
// a refused address.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	fail := func(err error) error { return &net.OpError{Op: "dial", Net: network, Err: err} }
	host, portText, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fail(err)
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil {
		return nil, fail(fmt.Errorf("origin: port %q is not a number", portText))
	}
	timeout := d.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		if err := d.Policy.CheckName(host); err != nil {
			return nil, fail(err)
		}
		ipNetwork := "ip"
		switch network {
		case "tcp4":
			ipNetwork = "ip4"
		case "tcp6":
			ipNetwork = "ip6"
		}
		r := d.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		if addrs, err = r.LookupNetIP(ctx, ipNetwork, host); err != nil {
			return nil, fail(err)
		}
		if len(addrs) == 0 {
			return nil, fail(&net.DNSError{Err: "no addresses", Name: host, IsNotFound: true})
		}
	}
	for _, a := range addrs {
		if err := d.Policy.Check(netip.AddrPortFrom(a, uint16(port))); err != nil {
			if re := (*RefusedError)(nil); errors.As(err, &re) && a.String() != host {
				re.Name = host
			}
			return nil, fail(err)
		}
	}
	keepAlive := d.KeepAlive
	if keepAlive <= 0 {
		keepAlive = 30 * time.Second
	}
	nd := &net.Dialer{KeepAlive: keepAlive, Control: d.control}
	var first error
	for i, a := range addrs {
		// Each address gets a share of the time left (at least 2 s), as
		// net.Dialer gives its addresses.
		attempt := ctx
		if deadline, ok := ctx.Deadline(); ok && i < len(addrs)-1 {
			share := time.Until(deadline) / time.Duration(len(addrs)-i)
			var cancel context.CancelFunc
			attempt, cancel = context.WithTimeout(ctx, max(share, 2*time.Second))
			defer cancel()
		}
		c, err := nd.DialContext(attempt, network, netip.AddrPortFrom(a, uint16(port)).String())
		if err == nil {
			return c, nil
		}
		if first == nil {
			first = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	return nil, first
}

// control checks the address a socket is about to connect to.
func (d *Dialer) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Kind: "unreadable address " + strconv.Quote(address)}
	}
	return d.Policy.Check(ap)
}
