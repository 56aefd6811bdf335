package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestAddrBelowEphemeral: a chosen port lies below the kernel's ephemeral
// range (between least and its start), and is free to listen on again
// once given; ten choices in a row are.
func TestAddrBelowEphemeral(t *testing.T) {
	low := belowEphemeral()
	if low <= least {
		t.Skipf("the ephemeral range starts at %d: no port below it to choose", low)
	}
	for range 10 {
		addr, err := Addr()
		if err != nil {
			t.Fatal(err)
		}
		host, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		port, _ := strconv.Atoi(p)
		if host != "127.0.0.1" || port < least || port >= low {
			t.Fatalf("Addr() = %s, want 127.0.0.1 and a port in [%d, %d)", addr, least, low)
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("the port given is not free: %v", err)
		}
		l.Close()
	}
}

// TestListenHolds: Listen's listener accepts a connection on its port.
func TestListenHolds(t *testing.T) {
	l, err := Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err == nil {
			c.Close()
		}
		done <- err
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestParseRangeStart: the kernel's file as it is, and what is not it.
func TestParseRangeStart(t *testing.T) {
	for in, want := range map[string]int{
		"32768\t60999\n": 32768,
		"49152 65535":    49152,
		"":               ephemeralStart,
		"1024":           ephemeralStart,
		"x\t60999":       ephemeralStart,
		"0\t60999":       ephemeralStart,
		"70000\t80000":   ephemeralStart,
	} {
		if got := parseRangeStart(in); got != want {
			t.Errorf("parseRangeStart(%q) = %d, want %d", in, got, want)
		}
	}
}
