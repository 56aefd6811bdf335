package origin

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hosts is a resolver that answers from a map; a name it does not hold
// fails the test.
type hosts struct {
	t     *testing.T
	names map[string][]string
	asked atomic.Int32
}

func (h *hosts) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	h.asked.Add(1)
	list, ok := h.names[host]
	if !ok {
		h.t.Errorf("the resolver was asked for %q", host)
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range list {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

// listener is a TCP listener on loopback that tells whether anything
// connected to it.
func listener(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return ln, port
}

// connected reports whether a connection is waiting on ln. A dial that
// returned has finished its handshake, so its connection is in the
// backlog already: a short deadline is enough.
func connected(t *testing.T, ln net.Listener) bool {
	t.Helper()
	ln.(*net.TCPListener).SetDeadline(time.Now().Add(200 * time.Millisecond))
	c, err := ln.Accept()
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func TestDialer(t *testing.T) {
	ln, port := listener(t)
	own := netip.MustParseAddrPort(ln.Addr().String())
	loopback := prefixes(t, "127.0.0.0/8")
	tests := []struct {
		name    string
		policy  Policy
		names   map[string][]string
		address string
		refused string // a part of the refusal's message; "" when the dial must succeed
	}{
		{"ok/allowed_literal", Policy{Allow: loopback}, nil, "127.0.0.1:" + port, ""},
		{"ok/allowed_name", Policy{Allow: loopback}, map[string][]string{"origin.test": {"127.0.0.1"}}, "origin.test:" + port, ""},
		{"fail/literal", Policy{}, nil, "127.0.0.1:" + port, "origin 127.0.0.1:" + port + " is in 127.0.0.0/8 (loopback)"},
		{"fail/name_resolving_to_loopback", Policy{}, map[string][]string{"origin.test": {"127.0.0.1"}},
			"origin.test:" + port, "origin origin.test (127.0.0.1:" + port + ") is in 127.0.0.0/8"},
		{"fail/one_bad_answer_spoils_the_name", Policy{Allow: loopback}, map[string][]string{"origin.test": {"127.0.0.1", "10.0.0.1"}},
			"origin.test:" + port, "(10.0.0.1:" + port + ") is in 10.0.0.0/8 (private)"},
		{"fail/localhost_before_dns", Policy{}, nil, "localhost:" + port, "origin localhost (127.0.0.1) is in 127.0.0.0/8"},
		{"fail/own_listener", Policy{Allow: loopback, Own: []netip.AddrPort{own}}, nil, "127.0.0.1:" + port, "own listeners"},
		{"fail/own_listener_by_name", Policy{Allow: loopback, Own: []netip.AddrPort{own}}, map[string][]string{"api.test": {"127.0.0.1"}},
			"api.test:" + port, "own listeners"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &Dialer{Policy: tt.policy, Resolver: &hosts{t: t, names: tt.names}, Timeout: 5 * time.Second}
			c, err := d.DialContext(t.Context(), "tcp", tt.address)
			if tt.refused == "" {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				if !connected(t, ln) {
					t.Error("the origin saw no connection")
				}
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("the dial was not refused")
			}
			if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), tt.refused) {
				t.Errorf("error %q, want ErrRefused saying %q", err, tt.refused)
			}
			if connected(t, ln) {
				t.Error("a refused origin was connected to")
			}
		})
	}
}

// TestControlChecksTheSocketAddress: the last check, on the address a
// socket really connects to, refuses what the policy refuses.
func TestControlChecksTheSocketAddress(t *testing.T) {
	d := &Dialer{Policy: Policy{Allow: prefixes(t, "10.0.0.0/8")}}
	for addr, refused := range map[string]bool{"127.0.0.1:80": true, "[fe80::1%eth0]:80": true, "[::ffff:169.254.169.254]:80": true,
		"10.0.0.1:80": false, "not an address": true} {
		if err := d.control("tcp4", addr, nil); (err != nil) != refused || err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("control(%s) = %v, want refused %v", addr, err, refused)
		}
	}
}
