//go:build linux

package node

import (
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	nethttp "net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/freeport"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/proctest"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// BenchmarkNodeServedRSS measures a whole esacert node as a user runs it:
// it builds cmd/esacert, seeds a SQLite database in a data directory with
// 50,000 sites of one ECDSA P-256 certificate each (www.siteI.test and
// *.siteI.test), starts `esacert serve --data DIR` as a child process with
// its default roles (API, edge, renewer) and settings, waits until its edge
// serves, then makes one full TLS 1.3 handshake to each of the 50,000
// www names (4 clients at once, so that the certificate cache, 10,000 by
// default, fills and evicts). It reports the node's RSS (VmRSS of
// /proc/<pid>/status) when ready, right after the load, and 5 s later, and
// its peak (VmHWM), and logs the Go runtime's own account (from the
// node's /debug/pprof/ on its metrics listener). ESACERT_NODE_PROFILE, when
// set, is a file for the node's heap profile after the load.
//
//	go test ./internal/node -run '^$' -bench NodeServedRSS -benchtime 1x -timeout 20m
func BenchmarkNodeServedRSS(b *testing.B) {
	const n = 50_000
	bin := filepath.Join(b.TempDir(), "esacert")
	build := exec.Command("go", "build", "-o", bin, "github.com/esacert/esacert/cmd/esacert")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	data := b.TempDir()
	os.Chmod(data, 0o700) // as a data directory should be (the node warns otherwise)
	mk, _ := keyseal.Generate()
	sealer, _ := keyseal.New(mk)
	if err := os.WriteFile(filepath.Join(data, MasterKeyFile), []byte(hex.EncodeToString(mk)+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	store, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(data, "esacert.db"))
	if err != nil {
		b.Fatal(err)
	}
	seedSites(b, store, sealer, n)
	store.Close()

	for i := 0; i < b.N; i++ {
		api, https, http, metricsAddr := freeAddr(b), freeAddr(b), freeAddr(b), freeAddr(b)
		cmd := exec.Command(bin, "serve", "--data", data, "--api-addr", api, "--https-addr", https, "--http-addr", http,
			"--metrics-addr", metricsAddr, "--log-level", "warn")
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		started := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		stopped := false
		stop := func() {
			if !stopped {
				stopped = true
				cmd.Process.Signal(syscall.SIGTERM)
				cmd.Wait()
			}
		}
		b.Cleanup(stop)
		pid := cmd.Process.Pid
		hs := func(name string) error {
			conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", https, &tls.Config{
				InsecureSkipVerify: true, ServerName: name, MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			defer conn.Close()
			if len(conn.ConnectionState().PeerCertificates) == 0 {
				return fmt.Errorf("%s: no certificate served", name)
			}
			return nil
		}
		for deadline := time.Now().Add(5 * time.Minute); hs("www.site0.test") != nil || hs(fmt.Sprintf("www.site%d.test", n-1)) != nil; {
			if time.Now().After(deadline) {
				b.Fatal("the node does not serve after 5 minutes")
			}
			time.Sleep(50 * time.Millisecond)
		}
		ready := time.Since(started)
		readyRSS := proctest.StatusMB(b, pid, "VmRSS")

		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Pointer[error]
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					j := next.Add(1) - 1
					if j >= n {
						return
					}
					if err := hs("www.site" + strconv.FormatInt(j, 10) + ".test"); err != nil {
						failed.Store(&err)
						return
					}
				}
			}()
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			b.Fatal(*err)
		}
		served := proctest.StatusMB(b, pid, "VmRSS")
		time.Sleep(5 * time.Second)
		b.ReportMetric(ready.Seconds(), "s-to-ready")
		b.ReportMetric(readyRSS, "ready-rss-MB")
		b.ReportMetric(served, "served-rss-MB")
		b.ReportMetric(proctest.StatusMB(b, pid, "VmRSS"), "served+5s-rss-MB")
		b.ReportMetric(proctest.StatusMB(b, pid, "VmHWM"), "peak-rss-MB")
		// The Go runtime's own account, from the node's pprof endpoint.
		if resp, err := nethttp.Get("http://" + metricsAddr + "/debug/pprof/heap?debug=1"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var stats []string
			for _, line := range strings.Split(string(body), "\n") {
				for _, k := range []string{"HeapAlloc", "HeapInuse", "HeapIdle", "HeapReleased", "Sys", "StackInuse", "NextGC", "NumGC"} {
					if strings.HasPrefix(line, "# "+k+" = ") {
						stats = append(stats, strings.TrimPrefix(line, "# "))
					}
				}
			}
			b.Logf("node's runtime after the load: %s", strings.Join(stats, ", "))
		}
		if p := os.Getenv("ESACERT_NODE_PROFILE"); p != "" { // a heap profile of the node, after the load
			if resp, err := nethttp.Get("http://" + metricsAddr + "/debug/pprof/heap?gc=1"); err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				os.WriteFile(p, body, 0o600)
			}
		}
		stop()
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(b *testing.B) string {
	addr, err := freeport.Addr()
	if err != nil {
		b.Fatal(err)
	}
	return addr
}
