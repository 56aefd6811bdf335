package edge

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
)

// BenchmarkHTTP3 compares the edge over QUIC (HTTP/3, quic-go's client)
// with the edge over TCP and TLS 1.3, on loopback, one site with Http3 on
// (ECDSA P-256) proxied to a local origin answering 1 KiB:
//
//   - handshakes: one client, a new connection at a time, closed once its
//     handshake is done (TCP: tls.Dial; QUIC: quic.DialAddr, each on a new
//     UDP socket as a TCP connection is);
//   - requests: GETs through the edge to the origin on kept connections,
//     8 goroutines sharing one client (TCP: HTTP/2, the multiplexed
//     protocol HTTP/3 replaces; HTTP/1.1 too for reference).
//
// Besides the rates it reports the process's CPU time per operation
// (client and edge together, the origin's included for requests; Linux
// only), which the load of other processes on a shared machine sways less
// than the rates.
//
//	go test ./internal/edge -run '^$' -bench HTTP3 -benchtime 2s
func BenchmarkHTTP3(b *testing.B) {
	f := newFixture(b)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	body := strings.Repeat("x", 1024)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
	defer origin.Close()
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Policy = sitePolicy(sitePolicies([]httpsconf.HTTPSConfig{
		httpsconf.HTTPSBasic{ConfigID: 1, SiteID: 1, ConfigType: httpsconf.ConfigGlobal, Http3: "on"}.Config(),
	}), 1)
	st.Routes = []Route{{Name: "www.example.com", Origin: strings.TrimPrefix(origin.URL, "http://")}}
	src := newMemSource()
	src.put(st)
	_, tcpAddr, udpAddr := h3Edge(b, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour})
	tlsCfg := &tls.Config{InsecureSkipVerify: true, ServerName: "www.example.com", MinVersion: tls.VersionTLS13}
	// cpuPerOp starts measuring the CPU time; the function it returns
	// reports it per operation.
	cpuPerOp := func(b *testing.B) func() {
		start, ok := selfCPU()
		return func() {
			if end, _ := selfCPU(); ok {
				b.ReportMetric(float64((end-start).Microseconds())/float64(b.N), "cpu-µs/op")
			}
		}
	}

	b.Run("handshakes/tcp_tls13", func(b *testing.B) {
		defer cpuPerOp(b)()
		for b.Loop() {
			conn, err := tls.Dial("tcp", tcpAddr, tlsCfg)
			if err != nil {
				b.Fatal(err)
			}
			conn.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})
	b.Run("handshakes/quic", func(b *testing.B) {
		cfg := tlsCfg.Clone()
		cfg.NextProtos = []string{http3.NextProtoH3}
		defer cpuPerOp(b)()
		for b.Loop() {
			conn, err := quic.DialAddr(context.Background(), udpAddr, cfg, &quic.Config{})
			if err != nil {
				b.Fatal(err)
			}
			conn.CloseWithError(0, "")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	})

	requests := func(b *testing.B, rt http.RoundTripper, proto int) {
		client := &http.Client{Transport: rt, Timeout: 30 * time.Second}
		get := func() error {
			resp, err := client.Get("https://www.example.com/")
			if err != nil {
				return err
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || n != int64(len(body)) || resp.ProtoMajor != proto {
				b.Errorf("answered %s %d with %d bytes", resp.Proto, resp.StatusCode, n)
			}
			return nil
		}
		if err := get(); err != nil { // the connection made before the timer
			b.Fatal(err)
		}
		b.SetParallelism(4) // 8 goroutines on 2 cores
		b.ResetTimer()
		defer cpuPerOp(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := get(); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "requests/s")
	}
	tcpTransport := func(h2 bool) *http.Transport {
		return &http.Transport{TLSClientConfig: tlsCfg.Clone(), ForceAttemptHTTP2: h2, MaxIdleConnsPerHost: 16,
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, tcpAddr)
			}}
	}
	b.Run("requests/tcp_tls13_h2", func(b *testing.B) {
		tr := tcpTransport(true)
		defer tr.CloseIdleConnections()
		requests(b, tr, 2)
	})
	b.Run("requests/tcp_tls13_h1", func(b *testing.B) {
		tr := tcpTransport(false)
		tr.TLSClientConfig.NextProtos = []string{"http/1.1"}
		defer tr.CloseIdleConnections()
		requests(b, tr, 1)
	})
	b.Run("requests/quic_h3", func(b *testing.B) {
		tr := &http3.Transport{TLSClientConfig: tlsCfg.Clone(),
			Dial: func(ctx context.Context, _ string, cfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				return quic.DialAddr(ctx, udpAddr, cfg, qc)
			}}
		defer tr.Close()
		requests(b, tr, 3)
	})
}
