package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
)

// BenchmarkOriginProxy measures proxied requests per second to an HTTPS
// origin, through the edge and, side by side in the same run and on the
// same origins, through nginx's proxy_pass (skipped when nginx is not
// installed; see bench_nginx_test.go), and straight to the origin (direct:
// no proxy, the baseline of what the visitors and the origins cost).
//
// The origins are Go net/http servers on loopback with a certificate of a
// private CA: origin_h1 speaks HTTP/1.1 only, origin_h2 offers h2 as well
// (the edge takes it; nginx proxies HTTP/1.1 only), and origin_h1_close is
// origin_h1 answering "Connection: close", so that every request needs a
// new origin connection and TLS handshake: the cost the pool saves.
// Visitors speak HTTP/1.1 over TLS 1.3 to the proxy, with a certificate for
// the site that they verify, on c keep-alive connections (c concurrent
// clients); every answer is read whole and its size checked.
//
// The edge runs the real path: a site with a certificate, the origins' CA
// uploaded as the site's origin CA, two proxied records and origin rules
// (OriginScheme https, the origin's port, OriginSni, OriginVerify on).
// nginx is set up alike: proxy_ssl with the same SNI, verifying the origin
// against the same CA, a keep-alive upstream pool, the same X-Forwarded
// headers.
//
// Besides req/s, each run reports the origin TLS handshakes per 1,000
// requests (connections the origin accepted while timing) and the origin
// connections that served the timed requests: with the pool, about c (or 1
// over h2) and no handshakes; without it, one each per request. cpu-us/req
// is the CPU time of all that takes part (this process: visitors, origins
// and the edge; plus nginx's master and workers) per request: on a shared
// machine it varies less than req/s, and the edge's and nginx's differ by
// what the proxy costs. Allocations are this process's: for nginx the
// visitors' and the origins', for the edge theirs and the edge's.
//
//	go test ./internal/edge -run '^$' -bench OriginProxy -benchtime 2s -count 3 -benchmem
func BenchmarkOriginProxy(b *testing.B) {
	f := newFixture(b)
	siteCert, siteLeaf := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.bench.test")
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert)

	originCA := pkitest.NewCA(b, "Origin CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	originLeaf := originCA.Leaf(b, pkitest.LeafOptions{DNSNames: []string{benchOriginSNI}})
	originCert, err := tls.X509KeyPair([]byte(originLeaf.ChainPEM), []byte(originLeaf.KeyPEM))
	if err != nil {
		b.Fatal(err)
	}
	h1 := startBenchOrigin(b, originCert, false)
	h2 := startBenchOrigin(b, originCert, true)
	origins := map[string]*benchOrigin{"origin_h1": h1, "origin_h2": h2, "origin_h1_close": h1}

	// The edge: one site that trusts the origins' CA, a record per origin,
	// an origin rule per record.
	st := siteState(1, "bench.test", site.SiteActive, siteCert)
	st.OriginCAs = []origincert.CA{{ID: "origin-ca", SiteID: 1, CertPEM: originCA.CertPEM}}
	var configs []httpsconf.HTTPSConfig
	for i, o := range []*benchOrigin{h1, h2} {
		host := o.host()
		st.Routes = append(st.Routes, Route{Name: host, Origin: o.addr})
		configs = append(configs, httpsconf.OriginRule{ConfigID: int64(i + 1), SiteID: 1, ConfigType: httpsconf.ConfigRule,
			Rule: `(http.host eq "` + host + `")`, OriginScheme: "https", OriginHttpsPort: o.port(),
			OriginSni: benchOriginSNI, OriginVerify: "on"}.Config())
	}
	st.Policy = sitePolicy(sitePolicies(configs), 1)
	src := newMemSource()
	src.put(st)
	_, edgeAddr := startEdge(b, src, f.sealer)
	// Where the visitors connect, with the TLS settings they verify the
	// server with and the CPU time that all taking part (this process:
	// visitors, origins and the edge; and nginx) have used so far. direct
	// is no proxy: the visitors connect to the origin itself, the baseline
	// of what the visitors and the origin cost.
	type proxy struct {
		name string
		addr func(o *benchOrigin) string
		tls  *tls.Config
		cpu  func() (time.Duration, bool)
	}
	siteTLS := &tls.Config{RootCAs: roots}
	originRoots := x509.NewCertPool()
	originRoots.AddCert(originCA.Cert)
	proxies := []proxy{
		{"direct", func(o *benchOrigin) string { return o.addr }, &tls.Config{RootCAs: originRoots, ServerName: benchOriginSNI}, selfCPU},
		{"edge", func(*benchOrigin) string { return edgeAddr }, siteTLS, selfCPU},
	}

	// nginx on the same origins with the same certificate, when installed.
	nginxAddr, nginxCPU, why := startNginx(b, nginxSetup{Chain: siteLeaf.ChainPEM, Key: siteLeaf.KeyPEM, OriginCA: originCA.CertPEM,
		Origins: []*benchOrigin{h1, h2}})
	if why != "" {
		b.Log("nginx part skipped: " + why)
	} else {
		proxies = append(proxies, proxy{"nginx", func(*benchOrigin) string { return nginxAddr }, siteTLS, func() (time.Duration, bool) {
			self, ok := selfCPU()
			return self + nginxCPU(), ok
		}})
	}

	for _, variant := range []string{"origin_h1", "origin_h2", "origin_h1_close"} {
		o := origins[variant]
		for _, c := range []int{16, 64} {
			for _, size := range []int{1 << 10, 64 << 10} {
				if variant == "origin_h1_close" && size != 1<<10 {
					continue // a new connection per request: the answer's size adds nothing to see
				}
				path := "/" + strconv.Itoa(size)
				if variant == "origin_h1_close" {
					path = "/close" + path
				}
				name := fmt.Sprintf("%s/c%d/%dKiB", variant, c, size>>10)
				for _, p := range proxies {
					if p.name == "direct" && variant == "origin_h1_close" {
						continue // the visitors would make a connection a request: nothing like the others
					}
					b.Run(name+"/"+p.name, func(b *testing.B) {
						runProxied(b, p.addr(o), "https://"+o.host()+path, size, c, p.tls, o, p.cpu)
					})
				}
				if why != "" {
					b.Run(name+"/nginx", func(b *testing.B) { b.Skip(why) })
				}
			}
		}
	}
}

// nginxSetup is what startNginx serves: the site's certificate (chain and
// key, PEM) for *.bench.test, the origins to proxy each host to, and the CA
// (PEM) to verify them with.
type nginxSetup struct {
	Chain, Key string
	Origins    []*benchOrigin
	OriginCA   string
	// Tickets, for BenchmarkResumption: one server answering 200 itself,
	// with session tickets on (nginx's default key, made at start).
	Tickets bool
}

// benchOriginSNI is the name the proxies send the origins and the origins'
// certificate holds.
const benchOriginSNI = "origin.bench.test"

// benchOrigin is an HTTPS origin on loopback answering GET /<size> (and
// /close/<size>, with "Connection: close") with size bytes. It counts the
// connections it accepts and those that serve a request of the current
// round.
type benchOrigin struct {
	addr     string
	h2       bool
	accepted atomic.Int64
	round    atomic.Int64 // the current round; a connection is counted once a round
	used     atomic.Int64 // connections that served a request of the current round
}

// host is the site's host that proxies to o.
func (o *benchOrigin) host() string {
	if o.h2 {
		return "h2.bench.test"
	}
	return "h1.bench.test"
}

func (o *benchOrigin) port() string {
	_, p, _ := net.SplitHostPort(o.addr)
	return p
}

// newRound starts counting the connections used afresh.
func (o *benchOrigin) newRound() {
	o.round.Add(1)
	o.used.Store(0)
}

// connRound is the round a connection last served a request in.
type connRound struct{ round atomic.Int64 }

type connRoundKey struct{}

func startBenchOrigin(b *testing.B, cert tls.Certificate, h2 bool) *benchOrigin {
	b.Helper()
	o := &benchOrigin{h2: h2}
	body := make([]byte, 64<<10)
	for i := range body {
		body[i] = 'a' + byte(i%26)
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cr, ok := r.Context().Value(connRoundKey{}).(*connRound); ok {
			if round := o.round.Load(); cr.round.Swap(round) != round {
				o.used.Add(1)
			}
		}
		p := r.URL.Path
		if rest, ok := strings.CutPrefix(p, "/close"); ok {
			p = rest
			w.Header().Set("Connection", "close")
		}
		n, err := strconv.Atoi(p[1:])
		if err != nil || n < 0 || n > len(body) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(body[:n])
	})
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetHTTP2(h2)
	srv := &http.Server{
		Handler:           handler,
		Protocols:         &protocols,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          log.New(io.Discard, "", 0),
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connRoundKey{}, &connRound{})
		},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	o.addr = ln.Addr().String()
	go srv.ServeTLS(&countingListener{Listener: ln, n: &o.accepted}, "", "")
	b.Cleanup(func() { srv.Close() })
	return o
}

// countingListener counts the connections it accepts.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// runProxied sends b.N GETs of url (answered with size bytes by o) to the
// proxy at addr from c concurrent clients, each on a keep-alive HTTP/1.1
// connection over TLS 1.3 that verifies the server as tlsConf says. cpu is
// the CPU time the processes taking part have used so far.
func runProxied(b *testing.B, addr, url string, size, c int, tlsConf *tls.Config, o *benchOrigin, cpu func() (time.Duration, bool)) {
	tlsConf = tlsConf.Clone()
	tlsConf.NextProtos, tlsConf.MinVersion = []string{"http/1.1"}, tls.VersionTLS13
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
		TLSClientConfig:     tlsConf,
		MaxIdleConnsPerHost: c,
		MaxConnsPerHost:     c,
		IdleConnTimeout:     time.Minute,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	load := func(n int) error {
		var (
			next    atomic.Int64
			wg      sync.WaitGroup
			errOnce sync.Once
			first   error
		)
		for range c {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(n) {
					if err := getSized(client, url, size); err != nil {
						errOnce.Do(func() { first = err })
						next.Store(int64(n)) // stop the others
						return
					}
				}
			}()
		}
		wg.Wait()
		return first
	}
	// Warm up: the visitors' connections and the proxy's origin pool.
	if err := load(4 * c); err != nil {
		b.Fatal(err)
	}
	o.newRound()
	accepted := o.accepted.Load()
	cpu0, _ := cpu()
	b.ReportAllocs()
	b.ResetTimer()
	if err := load(b.N); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if cpu1, ok := cpu(); ok {
		b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "cpu-us/req")
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(o.accepted.Load()-accepted)*1000/float64(b.N), "origin-handshakes/1k-req")
	b.ReportMetric(float64(o.used.Load()), "origin-conns")
}

// getSized GETs url and reads the answer, which must be 200 with size bytes.
func getSized(client *http.Client, url string, size int) error {
	resp, err := client.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || n != int64(size) {
		return errors.New(url + ": " + resp.Status + ", " + strconv.FormatInt(n, 10) + " bytes, want 200 with " + strconv.Itoa(size))
	}
	return nil
}
