//go:build linux

package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestWriteFaceOffs: esacert's rates over the other server's, each
// measurement's rates and each server's CPU a connection, one row a server
// beside it; a measurement that stopped says why under the table, and its
// missing figures are dashes; no measurement, no table.
func TestWriteFaceOffs(t *testing.T) {
	res := func(conns int, cpu time.Duration) result {
		return result{Conns: conns, Resumed: conns, Elapsed: 10 * time.Second, CPU: cpu}
	}
	fs := []faceOff{
		{Against: "nginx",
			Full: res(10_000, 5*time.Second), Res13: res(15_000, 4500*time.Millisecond), Res12: res(40_000, 5*time.Second),
			OtherFull: res(11_000, 5500*time.Millisecond), OtherRes13: res(12_000, 3600*time.Millisecond), OtherRes12: res(40_000, 4*time.Second)},
		{Against: "HAProxy", Failed: "esacert: exited", Full: res(9_000, 0), OtherFull: res(10_000, 0)},
	}
	fs[1].OtherFull.Errors, fs[1].OtherFull.FirstErr = 2, errors.New("reset")
	var b strings.Builder
	writeFaceOffs(&b, 10, 10*time.Second, fs)
	out := b.String()
	for _, want := range []string{
		"(10 turns each, 10s in all a measurement, the same clients)",
		"| nginx | 0.91× / 1.25× / 1.00× | 1,000 / 1,500 / 4,000 | 1,100 / 1,200 / 4,000 | 500 / 300 / 125 µs | 500 / 300 / 100 µs |",
		"| HAProxy | 0.90× / — / — | 900 / — / — | 1,000 (2 failed: reset) / — / — | — / — / — µs | — / — / — µs |",
		"esacert beside HAProxy: stopped: esacert: exited",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	b.Reset()
	writeFaceOffs(&b, 10, 10*time.Second, nil)
	if b.Len() != 0 {
		t.Errorf("a table without measurements: %q", b.String())
	}
}
