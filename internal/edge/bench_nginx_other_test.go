//go:build !unix

package edge

import "testing"

// startNginx: the nginx comparison of BenchmarkOriginProxy starts and stops
// nginx as a process group, which only unix systems have.
func startNginx(b *testing.B, s nginxSetup) (addr, why string) {
	return "", "the nginx comparison runs on unix systems only"
}
