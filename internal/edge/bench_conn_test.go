package edge

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/site"
)

// connClientEnv hands TestConnClientChild what to dial (see
// BenchmarkConnection).
const connClientEnv = "ESACERT_CONN_CLIENT"

// BenchmarkConnection measures what one connection costs the server, made
// as cmd/edgebench's clients make them: a handshake, GET / with
// Connection: close, the answer read to its end, the connection closed.
// The clients run in a process of their own (TestConnClientChild, 4
// clients at once), so that this process's allocations and CPU time are
// the server's alone: it reports, per connection, the server's mallocs
// (allocs/conn), the bytes they took (B/conn), its CPU time
// (cpu-µs/conn, a noisy figure on a shared machine, unlike the first two)
// and the connections per second.
//
// Two servers: a bare one (crypto/tls and net/http, its own session
// tickets, answering 200 "ok\n" as cmd/edgebench's nginx does: what Go's
// TLS and HTTP servers cost at least), and the edge with tickets on, served
// as a node serves it (Edge.ServeHTTPS, the body rate handler, the
// server's timeouts), for a site with no origin (answered 404, as
// cmd/edgebench's sites are). The edge's rows also report what it costs
// over the bare server (edge-allocs/conn, edge-B/conn). Three setups:
// resumed TLS 1.2 and TLS 1.3 handshakes (every one must resume), and full
// TLS 1.3 ones (Go's client: X25519MLKEM768). With -cpuprofile the profile
// is the server's.
//
//	go test ./internal/edge -run '^$' -bench Connection -benchtime 3000x
func BenchmarkConnection(b *testing.B) {
	f := newFixture(b)
	c, leaf := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, c))
	keys := &ticketkeyKeeper{}
	keys.init(b, f)
	quiet := quietErrorLog()

	e := &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Tickets: keys.k,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ctx := b.Context()
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	rate := bodyrate.Rate{}
	edgeSrv := &http.Server{ // as internal/node serves the HTTPS listener
		Handler:           rate.Handler(e.HTTPSHandler()),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		HTTP2:             &http.HTTP2Config{WriteByteTimeout: rate.WriteIdleBound()},
		ErrorLog:          quiet,
	}
	edgeLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go e.ServeHTTPS(edgeSrv, edgeLn)
	defer edgeSrv.Close()

	pair, err := tls.X509KeyPair([]byte(leaf.ChainPEM), []byte(leaf.KeyPEM))
	if err != nil {
		b.Fatal(err)
	}
	bareSrv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "ok\n")
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          quiet,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{pair}},
	}
	bareLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go bareSrv.ServeTLS(bareLn, "", "")
	defer bareSrv.Close()

	setups := []struct {
		name    string
		version uint16
		resume  bool
	}{
		{"TLS1.2_resumed", tls.VersionTLS12, true},
		{"TLS1.3_resumed", tls.VersionTLS13, true},
		{"TLS1.3_full", tls.VersionTLS13, false},
	}
	type cost struct{ allocs, bytes float64 }
	bare := map[string]cost{}
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			for _, server := range []string{"bare", "edge"} {
				addr := map[string]string{"bare": bareLn.Addr().String(), "edge": edgeLn.Addr().String()}[server]
				b.Run(server, func(b *testing.B) {
					allocs, bytes := connLoad(b, addr, "www.example.com", s.version, s.resume)
					if server == "bare" {
						bare[s.name] = cost{allocs, bytes}
					} else if c, ok := bare[s.name]; ok {
						b.ReportMetric(allocs-c.allocs, "edge-allocs/conn")
						b.ReportMetric(bytes-c.bytes, "edge-B/conn")
					}
				})
			}
		})
	}
}

// connLoad has a client process make b.N connections to addr (see
// BenchmarkConnection), reports the server's cost of one, and returns its
// mallocs and bytes.
func connLoad(b *testing.B, addr, name string, version uint16, resume bool) (allocs, bytes float64) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestConnClientChild$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%s|%d|%t", connClientEnv, addr, name, version, resume))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	out := bufio.NewScanner(stdout)
	await := func(what string) {
		for out.Scan() {
			switch line := out.Text(); {
			case line == what:
				return
			case strings.HasPrefix(line, "error "):
				b.Fatal(strings.TrimPrefix(line, "error "))
			}
		}
		b.Fatalf("the client process ended before saying %q", what)
	}
	await("ready") // the clients hold their tickets
	settle()
	idle := runtime.NumGoroutine()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0, cpuOK := selfCPU()
	b.ResetTimer()
	fmt.Fprintln(stdin, b.N)
	await("done")
	// The server may still be closing the last connections.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > idle && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cpu1, _ := selfCPU()
	runtime.ReadMemStats(&after)
	n := float64(b.N)
	allocs = float64(after.Mallocs-before.Mallocs) / n
	bytes = float64(after.TotalAlloc-before.TotalAlloc) / n
	b.ReportMetric(allocs, "allocs/conn")
	b.ReportMetric(bytes, "B/conn")
	b.ReportMetric(n/b.Elapsed().Seconds(), "conns/s")
	if cpuOK {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/n, "cpu-µs/conn")
	}
	return allocs, bytes
}

// settle lets the goroutines of connections that just ended finish.
func settle() {
	for range 50 {
		n := runtime.NumGoroutine()
		time.Sleep(2 * time.Millisecond)
		if runtime.NumGoroutine() == n {
			return
		}
	}
}

// TestConnClientChild is BenchmarkConnection's client process: 4 clients
// that, once they hold a ticket each (when resuming), make the number of
// connections read from stdin, line after line, and say "done" (or
// "error" and why).
func TestConnClientChild(t *testing.T) {
	spec := os.Getenv(connClientEnv)
	if spec == "" {
		t.Skip("the client process of BenchmarkConnection")
	}
	parts := strings.Split(spec, "|")
	addr, name := parts[0], parts[1]
	version, _ := strconv.Atoi(parts[2])
	resume := parts[3] == "true"
	const clients = 4
	cfgs := make([]*tls.Config, clients)
	for i := range cfgs {
		cfgs[i] = &tls.Config{ServerName: name, InsecureSkipVerify: true, MinVersion: uint16(version), MaxVersion: uint16(version)}
		if resume {
			cfgs[i].ClientSessionCache = tls.NewLRUClientSessionCache(8)
			for try := 0; ; try++ { // the ticket comes after the handshake
				resumed, err := connVisit(addr, name, cfgs[i])
				if err != nil {
					fmt.Println("error", err)
					return
				}
				if resumed {
					break
				}
				if try == 20 {
					fmt.Println("error no ticket after 20 connections")
					return
				}
			}
		}
	}
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		total, _ := strconv.Atoi(in.Text())
		var next atomic.Int64
		var failed atomic.Pointer[error]
		var wg sync.WaitGroup
		for _, cfg := range cfgs {
			wg.Go(func() {
				for next.Add(1) <= int64(total) && failed.Load() == nil {
					resumed, err := connVisit(addr, name, cfg)
					if err == nil && resumed != resume {
						err = fmt.Errorf("resumed %v, want %v", resumed, resume)
					}
					if err != nil {
						failed.CompareAndSwap(nil, &err)
					}
				}
			})
		}
		wg.Wait()
		if err := failed.Load(); err != nil {
			fmt.Println("error", *err)
			return
		}
		fmt.Println("done")
	}
}

// connVisit makes one connection as cmd/edgebench does (a handshake, GET /
// with Connection: close, the answer read whole) and reports whether it
// resumed a session.
func connVisit(addr, name string, cfg *tls.Config) (bool, error) {
	raw, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return false, err
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(10 * time.Second))
	conn := tls.Client(raw, cfg)
	if err := conn.Handshake(); err != nil {
		return false, err
	}
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: "+name+"\r\nConnection: close\r\n\r\n"); err != nil {
		return false, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return false, fmt.Errorf("GET: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return false, fmt.Errorf("GET: %w", err)
	}
	if resp.StatusCode >= 500 {
		return false, fmt.Errorf("GET: %s", resp.Status)
	}
	return conn.ConnectionState().DidResume, nil
}
