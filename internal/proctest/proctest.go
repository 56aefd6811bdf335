// Package proctest reads what the kernel reports about a process, for
// tests and benchmarks that run esacert (or a part of it) as a child
// process and measure it. Linux only: it reads /proc.
package proctest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// StatusMB reads a field of /proc/<pid>/status given in kB (VmRSS, VmHWM,
// ...), in MB. A missing file or field fails tb.
func StatusMB(tb testing.TB, pid int, field string) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				tb.Fatal(err)
			}
			return kb / 1024
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
