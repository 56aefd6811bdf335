package origin

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func prefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	out, err := ParseAllow(cidrs)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// refusal is what a test compares of a refusal: the range and its kind,
// and the address carried by a NAT64 or 6to4 address.
type refusal struct {
	Range, Kind, Via string
	Own              bool
}

func summary(err error) *refusal {
	if err == nil {
		return nil
	}
	var re *RefusedError
	if !errors.As(err, &re) {
		return &refusal{Kind: "not a RefusedError: " + err.Error()}
	}
	r := &refusal{Kind: re.Kind, Own: re.Own}
	if re.Range.IsValid() {
		r.Range = re.Range.String()
	}
	if re.Via.IsValid() {
		r.Via = re.Via.String()
	}
	return r
}

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		name  string
		addr  string
		allow []string
		want  *refusal // nil: allowed
	}{
		{"fail/loopback", "127.0.0.1", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/loopback_anywhere_in_8", "127.255.255.254", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/loopback_v6", "::1", nil, &refusal{Range: "::1/128", Kind: "loopback"}},
		{"fail/unspecified", "0.0.0.0", nil, &refusal{Range: "0.0.0.0/32", Kind: "unspecified"}},
		{"fail/this_network", "0.1.2.3", nil, &refusal{Range: "0.0.0.0/8", Kind: `"this network"`}},
		{"fail/unspecified_v6", "::", nil, &refusal{Range: "::/128", Kind: "unspecified"}},
		{"fail/metadata", "169.254.169.254", nil, &refusal{Range: "169.254.0.0/16", Kind: "link-local (cloud metadata services live here)"}},
		{"fail/link_local_v6", "fe80::1", nil, &refusal{Range: "fe80::/10", Kind: "link-local"}},
		{"fail/link_local_v6_zone", "fe80::1%eth0", nil, &refusal{Range: "fe80::/10", Kind: "link-local"}},
		{"fail/private_10", "10.1.2.3", nil, &refusal{Range: "10.0.0.0/8", Kind: "private"}},
		{"fail/private_172", "172.31.255.255", nil, &refusal{Range: "172.16.0.0/12", Kind: "private"}},
		{"fail/private_192", "192.168.1.1", nil, &refusal{Range: "192.168.0.0/16", Kind: "private"}},
		{"fail/unique_local", "fd12:3456::1", nil, &refusal{Range: "fc00::/7", Kind: "unique local (private)"}},
		{"fail/cgnat", "100.64.0.1", nil, &refusal{Range: "100.64.0.0/10", Kind: "shared (carrier-grade NAT)"}},
		{"fail/multicast", "224.0.0.1", nil, &refusal{Range: "224.0.0.0/4", Kind: "multicast"}},
		{"fail/multicast_v6", "ff02::1", nil, &refusal{Range: "ff00::/8", Kind: "multicast"}},
		{"fail/broadcast", "255.255.255.255", nil, &refusal{Range: "255.255.255.255/32", Kind: "broadcast"}},
		{"fail/reserved", "240.0.0.1", nil, &refusal{Range: "240.0.0.0/4", Kind: "reserved"}},
		{"fail/ietf", "192.0.0.170", nil, &refusal{Range: "192.0.0.0/24", Kind: "IETF protocol assignments"}},
		{"fail/benchmarking", "198.18.0.1", nil, &refusal{Range: "198.18.0.0/15", Kind: "benchmarking"}},
		{"fail/site_local", "fec0::1", nil, &refusal{Range: "fec0::/10", Kind: "site-local (deprecated)"}},
		{"fail/mapped_loopback", "::ffff:127.0.0.1", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/mapped_metadata", "::ffff:169.254.169.254", nil, &refusal{Range: "169.254.0.0/16", Kind: "link-local (cloud metadata services live here)"}},
		{"fail/mapped_private", "::ffff:10.0.0.1", nil, &refusal{Range: "10.0.0.0/8", Kind: "private"}},
		{"fail/compatible", "::127.0.0.1", nil, &refusal{Range: "::/96", Kind: "IPv4-compatible (deprecated)"}},
		{"fail/nat64_loopback", "64:ff9b::7f00:1", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback", Via: "127.0.0.1"}},
		{"fail/6to4_metadata", "2002:a9fe:a9fe::1", nil, &refusal{Range: "169.254.0.0/16", Kind: "link-local (cloud metadata services live here)", Via: "169.254.169.254"}},
		{"fail/allowed_elsewhere", "127.0.0.2", []string{"127.0.0.1/32"}, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/this_network_allows_no_unspecified", "0.0.0.0", []string{"0.0.0.0/8"}, &refusal{Range: "0.0.0.0/32", Kind: "unspecified"}},
		{"fail/private_does_not_allow_loopback", "127.0.0.1", []string{"10.0.0.0/8", "192.168.0.0/16"}, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"ok/public", "8.8.8.8", nil, nil},
		{"ok/public_v6", "2606:4700::1", nil, nil},
		{"ok/documentation", "203.0.113.10", nil, nil},
		{"ok/documentation_v6", "2001:db8::10", nil, nil},
		{"ok/just_past_172_16_12", "172.32.0.1", nil, nil},
		{"ok/just_past_cgnat", "100.128.0.1", nil, nil},
		{"ok/nat64_public", "64:ff9b::808:808", nil, nil},
		{"ok/mapped_public", "::ffff:8.8.8.8", nil, nil},
		{"ok/allowed_loopback", "127.0.0.1", []string{"127.0.0.1/32"}, nil},
		{"ok/allowed_private", "10.9.8.7", []string{"10.0.0.0/8"}, nil},
		{"ok/allowed_mapped", "::ffff:10.9.8.7", []string{"10.0.0.0/8"}, nil},
		{"ok/allowed_via_nat64", "64:ff9b::a00:1", []string{"10.0.0.0/8"}, nil},
		{"ok/allowed_metadata", "169.254.169.254", []string{"169.254.169.254/32"}, nil},
		{"ok/allowed_unspecified", "0.0.0.0", []string{"0.0.0.0/32"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Allow: prefixes(t, tt.allow...)}
			err := p.CheckAddr(netip.MustParseAddr(tt.addr))
			if diff := cmp.Diff(tt.want, summary(err)); diff != "" {
				t.Errorf("CheckAddr(%s) (-want +got):\n%s", tt.addr, diff)
			}
			if err != nil && !errors.Is(err, ErrRefused) {
				t.Errorf("%v does not match ErrRefused", err)
			}
		})
	}
}

// TestWideAllowIsNoAllow: a CIDR wider than a refused range, built into a
// Policy by code (ParseAllow refuses it), allows nothing of it.
func TestWideAllowIsNoAllow(t *testing.T) {
	p := Policy{Allow: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
	for _, a := range []string{"127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "fd00::1"} {
		if p.CheckAddr(netip.MustParseAddr(a)) == nil {
			t.Errorf("%s allowed by a CIDR wider than its range", a)
		}
	}
}

func TestRefusalMessage(t *testing.T) {
	err := (&Policy{}).CheckAddr(netip.MustParseAddr("127.0.0.1"))
	want := "origin 127.0.0.1 is in 127.0.0.0/8 (loopback), which the edge does not connect to unless the operator allows it with --private-origins (ESACERT_PRIVATE_ORIGINS)"
	if err == nil || err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
}

func TestCheckName(t *testing.T) {
	tests := []struct {
		name  string
		host  string
		allow []string
		want  *refusal
	}{
		{"fail/localhost", "localhost", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/localhost_any_case_dot", "LocalHost.", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/under_localhost", "api.localhost", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/hosts_alias", "ip6-localhost", nil, &refusal{Range: "127.0.0.0/8", Kind: "loopback"}},
		{"fail/ip_literal", "10.0.0.1", nil, &refusal{Range: "10.0.0.0/8", Kind: "private"}},
		{"fail/bracketed_literal", "[::1]", nil, &refusal{Range: "::1/128", Kind: "loopback"}},
		{"ok/other_name", "origin.example.net", nil, nil},
		{"ok/localhost_in_a_label", "localhost.example.net", nil, nil},
		{"ok/localhost_allowed", "localhost", []string{"127.0.0.1/32"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Policy{Allow: prefixes(t, tt.allow...)}
			err := p.CheckName(tt.host)
			if diff := cmp.Diff(tt.want, summary(err)); diff != "" {
				t.Errorf("CheckName(%s) (-want +got):\n%s", tt.host, diff)
			}
		})
	}
}

func TestOwnListeners(t *testing.T) {
	p := Policy{
		Allow: prefixes(t, "127.0.0.0/8", "::1/128", "0.0.0.0/32", "10.0.0.0/8"),
		Own: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8787"), netip.MustParseAddrPort("[::]:8080"),
			netip.MustParseAddrPort("0.0.0.0:8443"), netip.MustParseAddrPort("10.0.0.5:9000")},
		LocalAddrs: func() ([]netip.Addr, error) {
			return []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fe80::1%eth0")}, nil
		},
	}
	tests := []struct {
		name string
		addr string
		own  bool
	}{
		{"fail/the_api", "127.0.0.1:8787", true},
		{"fail/unspecified_reaches_it", "0.0.0.0:8787", true},
		{"fail/mapped", "[::ffff:127.0.0.1]:8787", true},
		{"fail/wildcard_loopback", "127.0.0.9:8080", true},
		{"fail/wildcard_loopback_v6", "[::1]:8080", true},
		{"fail/wildcard_interface", "10.0.0.5:8080", true},
		{"fail/wildcard_v4_listener", "127.0.0.1:8443", true},
		{"fail/specific_interface", "10.0.0.5:9000", true},
		{"ok/other_loopback_address", "127.0.0.2:8787", false},
		{"ok/other_port", "127.0.0.1:8788", false},
		{"ok/other_host_on_a_wildcard_port", "10.0.0.6:8080", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(netip.MustParseAddrPort(tt.addr))
			if got := summary(err) != nil && summary(err).Own; got != tt.own {
				t.Errorf("Check(%s) = %v, want own %v", tt.addr, err, tt.own)
			}
			if !tt.own && err != nil {
				t.Errorf("Check(%s) = %v", tt.addr, err)
			}
		})
	}
	failing := p
	failing.LocalAddrs = func() ([]netip.Addr, error) { return nil, errors.New("no netlink") }
	if err := failing.Check(netip.MustParseAddrPort("10.0.0.6:8080")); summary(err) == nil || !summary(err).Own {
		t.Errorf("interfaces unknown: %v, want refused as the node's own (fail closed)", err)
	}
	if err := p.Check(netip.MustParseAddrPort("127.0.0.1:8787")); err == nil || !strings.Contains(err.Error(), "own listeners") {
		t.Errorf("message %q does not say why", err)
	}
}

func TestParseAllow(t *testing.T) {
	got, err := ParseAllow([]string{"10.0.0.0/8", "127.0.0.1/32", "10.1.2.3/16", "::ffff:192.168.0.0/112", "fd00::/8", "::1/128"})
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("fd00::/8"),
		netip.MustParsePrefix("::1/128")}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("ParseAllow (-want +got):\n%s", diff)
	}
	tests := []struct {
		name, item, want string
	}{
		{"fail/not_a_cidr", "private", `"private" is not a CIDR`},
		{"fail/no_bits", "10.0.0.1", `"10.0.0.1" is not a CIDR`},
		{"fail/everything", "0.0.0.0/0", `"0.0.0.0/0" is wider than a refused range`},
		{"fail/wider_than_private", "8.0.0.0/6", `"8.0.0.0/6" is wider than a refused range`},
		{"fail/public", "8.8.8.0/24", `"8.8.8.0/24" holds no refused address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseAllow([]string{"10.0.0.0/8", tt.item})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseAllow(%q) = %v, want %q", tt.item, err, tt.want)
			}
		})
	}
}
