package origin

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
)

// ErrRefused is matched (errors.Is) by every refusal of the policy: the
// checks and Dialer return it inside a *RefusedError.
var ErrRefused = errors.New("origin not allowed")

// Setting names the operator setting that allows non-public ranges, as
// messages show it.
const Setting = "--private-origins (ESACERT_PRIVATE_ORIGINS)"

// span is one range of addresses that are not public.
type span struct {
	prefix netip.Prefix
	kind   string // what the range is, as messages name it
}

// spans are the ranges refused by default, the more specific before the
// ranges that hold them (the first match names the address). Documentation
// ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32)
// are not refused: nothing answers there, and examples use them.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked as the IPv4
// address they map; the IPv6 forms that carry an IPv4 address to another
// machine (NAT64 64:ff9b::/96, 6to4 2002::/16) are refused when the IPv4
// address they carry is (see embedded).
var spans = func() []span {
	var out []span
	for _, s := range []struct{ cidr, kind string }{
		{"0.0.0.0/32", "unspecified"},
		{"0.0.0.0/8", `"this network"`},
		{"10.0.0.0/8", "private"},
		{"100.64.0.0/10", "shared (carrier-grade NAT)"},
		{"127.0.0.0/8", "loopback"},
		{"169.254.0.0/16", "link-local (cloud metadata services live here)"},
		{"172.16.0.0/12", "private"},
		{"192.0.0.0/24", "IETF protocol assignments"},
		{"192.168.0.0/16", "private"},
		{"198.18.0.0/15", "benchmarking"},
		{"224.0.0.0/4", "multicast"},
		{"255.255.255.255/32", "broadcast"},
		{"240.0.0.0/4", "reserved"},
		{"::/128", "unspecified"},
		{"::1/128", "loopback"},
		{"::/96", "IPv4-compatible (deprecated)"},
		{"64:ff9b:1::/48", "local-use NAT64"},
		{"100::/64", "discard-only"},
		{"fc00::/7", "unique local (private)"},
		{"fe80::/10", "link-local"},
		{"fec0::/10", "site-local (deprecated)"},
		{"ff00::/8", "multicast"},
	} {
		out = append(out, span{netip.MustParsePrefix(s.cidr), s.kind})
	}
	return out
}()

// spanOf returns the refused range that holds a (unmapped, without zone),
// or nil for a public address.
func spanOf(a netip.Addr) *span {
	for i := range spans {
		if spans[i].prefix.Contains(a) {
			return &spans[i]
		}
	}
	return nil
}

// embedded returns the IPv4 address that a NAT64 (64:ff9b::/96) or 6to4
// (2002::/16) address carries.
func embedded(a netip.Addr) (netip.Addr, bool) {
	if !a.Is6() {
		return netip.Addr{}, false
	}
	b := a.As16()
	switch {
	case netip.MustParsePrefix("64:ff9b::/96").Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case netip.MustParsePrefix("2002::/16").Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	}
	return netip.Addr{}, false
}

// Policy says which addresses origins may have. The zero Policy is the
// default: every address in a refused range is refused, every public one
// allowed, and no listener is the node's own. A Policy is read-only once in
// use and safe for concurrent use.
type Policy struct {
	// Allow lists the refused ranges, or parts of them, that the operator
	// allows (--private-origins). A CIDR allows an address only when it
	// lies within the most specific refused range that holds the address:
	// 0.0.0.0/0 allows nothing, 127.0.0.1/32 allows one loopback address,
	// and 0.0.0.0/8 does not allow 0.0.0.0 (unspecified: it reaches this
	// machine), which only 0.0.0.0/32 allows.
	Allow []netip.Prefix
	// Own lists the node's listeners, which are never an origin whatever
	// Allow says. A listener on an unspecified address (":8080",
	// "0.0.0.0:8080", "[::]:8080") stands for every local address of the
	// machine on that port: the loopback ranges and the addresses of its
	// interfaces. The write-time checks (CheckAddr, CheckName) do not use it.
	Own []netip.AddrPort
	// LocalAddrs lists the addresses of the machine's interfaces, for the
	// listeners on unspecified addresses; nil means net.InterfaceAddrs.
	LocalAddrs func() ([]netip.Addr, error)
}

// RefusedError is a refusal of the policy, with the reason. It matches
// ErrRefused. Its message is fit for the record's owner (it names the
// address and the range, never anything secret).
type RefusedError struct {
	Name  string       // the host name the address came from; "" for an address given as such
	Addr  netip.Addr   // the refused address
	Port  uint16       // its port; 0 when not known (the write-time checks)
	Range netip.Prefix // the refused range that holds Addr (or the address it carries)
	Kind  string       // what the range is: "loopback", "private", …
	Via   netip.Addr   // the IPv4 address a NAT64 or 6to4 Addr carries, when that is the refused one
	Own   bool         // Addr:Port is one of the node's own listeners
}

func (e *RefusedError) Error() string {
	if !e.Addr.IsValid() {
		return "origin address refused: " + e.Kind
	}
	what := e.Addr.String()
	if e.Port != 0 {
		what = netip.AddrPortFrom(e.Addr, e.Port).String()
	}
	if e.Name != "" {
		what = e.Name + " (" + what + ")"
	}
	switch {
	case e.Own:
		return fmt.Sprintf("origin %s is one of this node's own listeners, never an origin whatever %s allows", what, Setting)
	case e.Via.IsValid():
		return fmt.Sprintf("origin %s carries %s, an address in %s (%s), which the edge does not connect to unless the operator allows it with %s",
			what, e.Via, e.Range, e.Kind, Setting)
	}
	return fmt.Sprintf("origin %s is in %s (%s), which the edge does not connect to unless the operator allows it with %s",
		what, e.Range, e.Kind, Setting)
}

func (e *RefusedError) Unwrap() error { return ErrRefused }

// CheckAddr checks an origin's IP address against the refused ranges and
// Allow; it returns nil or a *RefusedError. A zone (fe80::1%eth0) is
// ignored; an IPv4-mapped address is checked as the IPv4 address.
func (p *Policy) CheckAddr(a netip.Addr) error {
	plain := a.WithZone("").Unmap()
	if !plain.IsValid() {
		return &RefusedError{Kind: "not a valid IP address"}
	}
	if s := spanOf(plain); s != nil && !p.allows(plain, s) {
		return &RefusedError{Addr: a, Range: s.prefix, Kind: s.kind}
	}
	if v4, ok := embedded(plain); ok {
		if s := spanOf(v4); s != nil && !p.allows(v4, s) {
			return &RefusedError{Addr: a, Via: v4, Range: s.prefix, Kind: s.kind}
		}
	}
	return nil
}

// allows reports whether a CIDR of Allow that lies within s holds a.
func (p *Policy) allows(a netip.Addr, s *span) bool {
	for _, pr := range p.Allow {
		pr = normalize(pr)
		if pr.Bits() >= s.prefix.Bits() && pr.Contains(a) {
			return true
		}
	}
	return false
}

// normalize unmaps an IPv4-mapped prefix and zeroes its host bits.
func normalize(pr netip.Prefix) netip.Prefix {
	if a := pr.Addr(); a.Is4In6() && pr.Bits() >= 96 {
		pr = netip.PrefixFrom(a.Unmap(), pr.Bits()-96)
	}
	return pr.Masked()
}

// localNames are the names that mean this machine: localhost and the names
// under it (RFC 6761), and the aliases /etc/hosts usually gives loopback.
var localNames = []string{"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}

// CheckName checks an origin given by name before any DNS: an IP literal
// is checked as CheckAddr does, and a name that means this machine
// (localhost, *.localhost and the usual /etc/hosts aliases of loopback) as
// the loopback address 127.0.0.1. Every other name passes: the Dialer checks
// the addresses it resolves to, each time it connects.
func (p *Policy) CheckName(name string) error {
	n := strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if a, err := netip.ParseAddr(strings.Trim(n, "[]")); err == nil {
		return p.CheckAddr(a)
	}
	if !isLocalName(n) {
		return nil
	}
	if err := p.CheckAddr(netip.AddrFrom4([4]byte{127, 0, 0, 1})); err != nil {
		re := err.(*RefusedError)
		re.Name = n
		return re
	}
	return nil
}

func isLocalName(n string) bool {
	for _, l := range localNames {
		if n == l {
			return true
		}
	}
	return strings.HasSuffix(n, ".localhost")
}

// Check checks the address an origin connection goes to: never one of the
// node's own listeners, else as CheckAddr.
func (p *Policy) Check(ap netip.AddrPort) error {
	if p.own(ap.Addr().WithZone("").Unmap(), ap.Port()) {
		return &RefusedError{Addr: ap.Addr(), Port: ap.Port(), Own: true}
	}
	if err := p.CheckAddr(ap.Addr()); err != nil {
		re := err.(*RefusedError)
		re.Port = ap.Port()
		return re
	}
	return nil
}

// own reports whether a connection to a:port would reach one of Own. A
// connection to an unspecified address reaches this machine, so it counts
// as reaching every listener on the port. When the interfaces cannot be
// listed, an address on the port of a listener on an unspecified address
// counts as the node's own: the check fails closed.
func (p *Policy) own(a netip.Addr, port uint16) bool {
	wild := false
	for _, l := range p.Own {
		if l.Port() != port {
			continue
		}
		la := l.Addr().WithZone("").Unmap()
		if la.IsUnspecified() {
			wild = true
			continue
		}
		if la == a || a.IsUnspecified() {
			return true
		}
	}
	if !wild {
		return false
	}
	if a.IsLoopback() || a.IsUnspecified() {
		return true
	}
	list := p.LocalAddrs
	if list == nil {
		list = interfaceAddrs
	}
	locals, err := list()
	if err != nil {
		return true
	}
	for _, l := range locals {
		if l.WithZone("").Unmap() == a {
			return true
		}
	}
	return false
}

// interfaceAddrs lists the addresses of the machine's interfaces.
func interfaceAddrs() ([]netip.Addr, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		}
		if x, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, x.Unmap())
		}
	}
	return out, nil
}

// ParseAllow reads the CIDRs of --private-origins. Each must lie within one
// refused range: a CIDR that holds no refused address would allow nothing
// (public origins need no setting), and one wider than a refused range
// (0.0.0.0/0) would not say what it means to allow. Errors name the value.
func ParseAllow(items []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	var errs []error
	for _, item := range items {
		pr, err := netip.ParsePrefix(item)
		if err != nil || pr.Addr().Zone() != "" {
			errs = append(errs, fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8 (one address: 10.1.2.3/32)", item))
			continue
		}
		pr = normalize(pr)
		if within(pr) {
			out = append(out, pr)
			continue
		}
		if overlaps(pr) {
			errs = append(errs, fmt.Errorf("%q is wider than a refused range: name the ranges to allow, such as 10.0.0.0/8 or 127.0.0.1/32", item))
			continue
		}
		errs = append(errs, fmt.Errorf("%q holds no refused address: public origins need no setting", item))
	}
	return out, errors.Join(errs...)
}

// within reports whether pr lies within a refused range.
func within(pr netip.Prefix) bool {
	for _, s := range spans {
		if s.prefix.Bits() <= pr.Bits() && s.prefix.Contains(pr.Addr()) {
			return true
		}
	}
	return false
}

// overlaps reports whether pr holds a refused address.
func overlaps(pr netip.Prefix) bool {
	for _, s := range spans {
		if pr.Overlaps(s.prefix) {
			return true
		}
	}
	return false
}
