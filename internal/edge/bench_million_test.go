//go:build linux

package edge

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/memtune"
	"github.com/esacert/esacert/internal/proctest"
)

// The million-certificate benchmark: an edge process started on a snapshot
// of 1,000,000 sites (one ECDSA P-256 certificate for one name each, every
// leaf its own, issued by one intermediate), while its store cannot be
// read. The edge runs as a child process (this test binary, re-run as
// TestMillionChild), so that its RSS is the edge's alone, not the
// fixture's.
//
// The snapshot is made once and kept in the system's temporary directory
// (esacert-bench-million-<format>, with the test master key that sealed its
// keys; about 1 GB): minting a million leaves takes a minute or two. Set
// ESACERT_MILLION_N for another count (each count has its own fixture).
const (
	millionChildEnv = "ESACERT_MILLION_CHILD" // the fixture's directory, for the child
	millionCountEnv = "ESACERT_MILLION_N"
)

func millionCount() int {
	if n, err := strconv.Atoi(os.Getenv(millionCountEnv)); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// millionName is the one name of certificate i (and site millionSite(i)).
func millionName(i int) string { return "www.s" + strconv.Itoa(i) + ".test" }
func millionSite(i int) string { return "s" + strconv.Itoa(i) + ".test" }

// millionFixture returns the directory of the fixture for n certificates,
// making it when missing (or when its certificates are near expiry).
func millionFixture(tb testing.TB, n int) string {
	tb.Helper()
	version := strings.TrimSpace(strings.TrimPrefix(snapshotMagic, "esacert edge snapshot "))
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("esacert-bench-million-%s-%d", version, n))
	if b, err := os.ReadFile(filepath.Join(dir, "expires")); err == nil {
		if t, err := time.Parse(time.RFC3339, strings.TrimSpace(string(b))); err == nil && time.Until(t) > 30*24*time.Hour {
			return dir
		}
	}
	start := time.Now()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		tb.Fatal(err)
	}
	mk, _ := keyseal.Generate()
	sealer, err := keyseal.New(mk)
	if err != nil {
		tb.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	notBefore, notAfter := time.Now().Add(-time.Hour), time.Now().Add(365*24*time.Hour)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Million Intermediate"},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		tb.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	keyDER, _ := x509.MarshalECPrivateKey(leafKey)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})

	f, err := os.OpenFile(filepath.Join(dir, "edge-snapshot"), os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sw, err := newSnapshotWriter(f, 1, time.Now())
	if err != nil {
		tb.Fatal(err)
	}
	// Leaves are minted in parallel, in batches, and written in order.
	const batch = 4096
	workers := runtime.GOMAXPROCS(0)
	for lo := 0; lo < n; lo += batch {
		hi := min(lo+batch, n)
		sites := make([]snapshotSite, hi-lo)
		var wg sync.WaitGroup
		var failed atomic.Pointer[error]
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := lo + w; i < hi; i += workers {
					name := millionName(i)
					tmpl := &x509.Certificate{SerialNumber: big.NewInt(int64(i) + 2), Subject: pkix.Name{CommonName: name},
						DNSNames: []string{name}, NotBefore: notBefore, NotAfter: notAfter,
						KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
					der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &leafKey.PublicKey, caKey)
					if err != nil {
						failed.Store(&err)
						return
					}
					id := fmt.Sprintf("%032x", i)
					sealed, err := cert.SealKey(sealer, id, keyPEM)
					if err != nil {
						failed.Store(&err)
						return
					}
					sites[i-lo] = snapshotSite{ID: int64(i + 1), Name: millionSite(i), Status: "active",
						Policy: DefaultSitePolicy(), Certs: []snapshotCert{{ID: id, Leaf: der, Inters: []int{0},
							Sealed: sealed, NotAfter: notAfter, Names: []string{name}}}}
					if i == 0 { // the intermediate, written once
						sites[i-lo].Inters = [][]byte{caDER}
					}
				}
			}(w)
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			tb.Fatal(*err)
		}
		for _, s := range sites {
			if err := sw.site(s); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := sw.close(); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "master-key"), []byte(hex.EncodeToString(mk)), 0o600); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "expires"), []byte(notAfter.Format(time.RFC3339)), 0o600); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("made the fixture of %d certificates in %s in %v", n, dir, time.Since(start).Round(time.Second))
	return dir
}

// downSource is a store that cannot be read.
type downSource struct{}

var errStoreDown = errors.New("the store is down (benchmark)")

func (downSource) Changes(context.Context, int64) ([]Change, int64, bool, error) {
	return nil, 0, false, errStoreDown
}
func (downSource) Load(context.Context, []int64) ([]SiteState, int64, error) {
	return nil, 0, errStoreDown
}
func (downSource) LoadCertificates(context.Context, []string) ([]cert.Certificate, error) {
	return nil, errStoreDown
}

// TestMillionChild is the edge process of BenchmarkMillion; it does nothing
// unless started by it. It starts an edge on the fixture's snapshot, serves
// HTTPS on loopback, prints "ready <address> <ms to ready>" and serves until
// its standard input closes. ESACERT_MILLION_PROFILE, when set, is a file
// for a heap profile written when it is told "heap" on its input.
// ESACERT_MILLION_CPUPROFILE, when set, is a file for a CPU profile of the
// start.
func TestMillionChild(t *testing.T) {
	dir := os.Getenv(millionChildEnv)
	if dir == "" {
		t.Skip("the child process of BenchmarkMillion")
	}
	start := time.Now()
	if p := os.Getenv("ESACERT_MILLION_CPUPROFILE"); p != "" { // of the start
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}
	mk, err := os.ReadFile(filepath.Join(dir, "master-key"))
	if err != nil {
		t.Fatal(err)
	}
	key, _ := hex.DecodeString(string(mk))
	sealer, err := keyseal.New(key)
	if err != nil {
		t.Fatal(err)
	}
	e := &Edge{Source: downSource{}, Sealer: sealer, Poll: time.Hour, Snapshot: filepath.Join(dir, "edge-snapshot"),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: e.HTTPSHandler(), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quietErrorLog()}
	go e.ServeHTTPS(srv, ln) // as a node serves it
	defer srv.Close()
	pprof.StopCPUProfile()
	memtune.Follow() // as a node does once started
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Printf("ready %s %d %d %d\n", ln.Addr(), time.Since(start).Milliseconds(), e.Index().Names(), cpu.Milliseconds())
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch cmd := in.Text(); {
		case cmd == "stats":
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			fmt.Printf("heap-alloc %d MB, heap-inuse %d MB, heap-idle %d MB (released %d MB), sys %d MB, %d GCs, GC CPU %.1f%%\n",
				m.HeapAlloc>>20, m.HeapInuse>>20, m.HeapIdle>>20, m.HeapReleased>>20, m.Sys>>20, m.NumGC, 100*m.GCCPUFraction)
		case strings.HasPrefix(cmd, "heap "):
			runtime.GC()
			f, err := os.Create(strings.TrimPrefix(cmd, "heap "))
			if err == nil {
				pprof.WriteHeapProfile(f)
				f.Close()
			}
			fmt.Println("ok")
		}
	}
	runtime.KeepAlive(e)
}

// BenchmarkMillion starts an edge process on a snapshot of 1,000,000
// certificates (see millionFixture) and reports the seconds from the
// process's start to serving (its listener open, the index built from the
// snapshot) and the CPU seconds the process used until then (the figure
// to trust on a machine shared with other work), proven by handshakes to 1,000 names sampled over all of them;
// then drives full TLS 1.3 handshakes, each to a name not asked for before
// (spread over all names, so that the certificate cache, 10,000 by
// default, misses and evicts on every one), and reports the edge's RSS
// when ready, after the load, and its peak (VmHWM). ESACERT_MILLION_LOAD
// is the number of handshakes (default 20,000).
//
//	go test ./internal/edge -run '^$' -bench Million -benchtime 1x -timeout 30m
func BenchmarkMillion(b *testing.B) {
	n := millionCount()
	dir := millionFixture(b, n)
	load := 20_000
	if v, err := strconv.Atoi(os.Getenv("ESACERT_MILLION_LOAD")); err == nil && v > 0 {
		load = v
	}
	for i := 0; i < b.N; i++ {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestMillionChild$", "-test.v")
		cmd.Env = append(os.Environ(), millionChildEnv+"="+dir)
		stdin, _ := cmd.StdinPipe()
		stdout, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		started := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		out := bufio.NewScanner(stdout)
		var addr string
		var childMS, names, cpuMS int
		for out.Scan() {
			if _, err := fmt.Sscanf(out.Text(), "ready %s %d %d %d", &addr, &childMS, &names, &cpuMS); err == nil {
				break
			}
		}
		ready := time.Since(started)
		if addr == "" {
			cmd.Wait()
			b.Fatal("the edge process did not get ready")
		}
		if names != n {
			b.Fatalf("the edge serves %d names, want %d", names, n)
		}
		hs := func(name string) error {
			conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: name,
				MinVersion: tls.VersionTLS13, CurvePreferences: []tls.CurveID{tls.X25519}})
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().PeerCertificates[0].DNSNames; len(got) != 1 || got[0] != name {
				return fmt.Errorf("%s: served a certificate for %v", name, got)
			}
			return nil
		}
		for j := 0; j < 1000; j++ { // sampled over all names
			if err := hs(millionName(j * (n / 1000))); err != nil {
				b.Fatal(err)
			}
		}
		readyRSS := proctest.StatusMB(b, cmd.Process.Pid, "VmRSS")

		loadStart := time.Now()
		var next atomic.Int64
		var wg sync.WaitGroup
		var failed atomic.Pointer[error]
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					j := next.Add(1)
					if j > int64(load) {
						return
					}
					// 7919 is prime, so j*7919 mod n walks every name once.
					if err := hs(millionName(int((j * 7919) % int64(n)))); err != nil {
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
		took := time.Since(loadStart)
		fmt.Fprintln(stdin, "stats")
		if out.Scan() {
			b.Logf("edge process after the load: %s", out.Text())
		}
		if p := os.Getenv("ESACERT_MILLION_PROFILE"); p != "" {
			fmt.Fprintf(stdin, "heap %s\n", p)
			out.Scan()
		}
		b.ReportMetric(ready.Seconds(), "s-to-ready")
		b.ReportMetric(float64(childMS)/1000, "s-in-process")
		b.ReportMetric(float64(cpuMS)/1000, "cpu-s-to-ready")
		b.ReportMetric(readyRSS, "ready-rss-MB")
		b.ReportMetric(proctest.StatusMB(b, cmd.Process.Pid, "VmRSS"), "loaded-rss-MB")
		b.ReportMetric(proctest.StatusMB(b, cmd.Process.Pid, "VmHWM"), "peak-rss-MB")
		b.ReportMetric(float64(load)/took.Seconds(), "handshakes/s")
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}
