//go:build !linux

package edge

import (
	"testing"
	"time"
)

// startNginx: the nginx comparison of BenchmarkOriginProxy starts and stops
// nginx as a process group and reads its CPU time from /proc: Linux only.
func startNginx(b *testing.B, s nginxSetup) (addr string, cpu func() time.Duration, why string) {
	return "", nil, "the nginx comparison runs on Linux only"
}

// selfCPU: not measured here.
func selfCPU() (time.Duration, bool) { return 0, false }
