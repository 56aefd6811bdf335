// Package freeport finds loopback ports for another process to listen on
// a moment later: an origin's openssl s_server in a README walkthrough, a
// node or nginx started by a benchmark, chromedriver.
//
// A port taken by listening on 127.0.0.1:0 and closing comes from the
// kernel's range of ephemeral ports, the range outgoing connections take
// their local ports from: between its choice and the other process's bind,
// any connection on the machine (another test's, running beside) may take
// it, and the bind fails with "address already in use". So the ports here
// are chosen below that range, where no outgoing connection takes a local
// port, and are free when chosen. (Another process may still bind one
// meanwhile, as with any port chosen ahead of its use; a random choice
// among some 20,000 makes two choosers meeting unlikely.)
package freeport

import (
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// rangeFile holds the kernel's range of ephemeral ports (Linux).
const rangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

const (
	ephemeralStart = 32768 // where Linux's range starts by default
	least          = 10000 // above the ports services commonly take
	tries          = 100
)

// Listen listens on a loopback port below the ephemeral range, or, when
// none of those it tries is free (or the range starts too low to leave
// any), on a port the kernel picks.
func Listen() (net.Listener, error) {
	if low := belowEphemeral(); low > least {
		for range tries {
			port := least + rand.IntN(low-least)
			if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
				return l, nil
			}
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// Addr returns a loopback address (127.0.0.1:port) whose port was free
// when chosen, below the ephemeral range where possible (see Listen).
func Addr() (string, error) {
	l, err := Listen()
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// belowEphemeral returns the first port of the kernel's ephemeral range,
// Linux's default where it cannot be read.
func belowEphemeral() int {
	b, err := os.ReadFile(rangeFile)
	if err != nil {
		return ephemeralStart
	}
	return parseRangeStart(string(b))
}

// parseRangeStart reads the first port of "START\tEND"; Linux's default
// when it is not that.
func parseRangeStart(s string) int {
	f := strings.Fields(s)
	if len(f) != 2 {
		return ephemeralStart
	}
	n, err := strconv.Atoi(f[0])
	if err != nil || n < 1 || n > 65535 {
		return ephemeralStart
	}
	return n
}
