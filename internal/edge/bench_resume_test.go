package edge

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// resumptionClients is how many clients BenchmarkResumption runs at once,
// each dialling one connection after another.
const resumptionClients = 4

// BenchmarkResumption compares full handshakes with resumed ones (each
// client's session cache holding a ticket) in one run: on the edge with
// tickets on, on nginx with session tickets on when it is installed
// (skipped with a message otherwise), and on a bare crypto/tls server
// (crypto_tls: the same certificate, its own session tickets, no checks and
// no HTTP after the handshake: what Go's TLS server does at best). The same
// ECDSA P-256 certificate everywhere, 4 clients at once on loopback, each
// connection closed right after its handshake. The clients run in this
// process, on the same cores as the servers: their share of the work
// counts, as it would for a load generator on the machine.
//
// Three client setups: TLS 1.3 as Go's client offers it (key shares for
// X25519MLKEM768 and X25519; nginx 1.22 with OpenSSL 3.0 knows no ML-KEM and
// answers X25519, the edge answers X25519MLKEM768 to full handshakes), TLS
// 1.3 offering X25519 only (the same key exchange on every server), and TLS
// 1.2. Each reports handshakes/s and the CPU time a handshake took, the
// clients' and the server's together (cpu-µs/handshake: this process's for
// the edge and crypto_tls, this process's and nginx's for nginx). A resumed
// benchmark also reports resumed/full: how many resumed handshakes the CPU
// time of a full one pays for, on the same server in that setup; and the
// edge's report edge/nginx, the same for the edge over nginx and the same
// kind of handshake. The ratios are of CPU time, which other work on the
// machine does not skew as it skews handshakes/s; on an idle machine whose
// cores the clients keep busy they are the ratios of handshakes/s. Where
// the CPU time cannot be read (not on Linux) they are of handshakes/s.
//
//	go test ./internal/edge -run '^$' -bench Resumption -benchtime 2s
func BenchmarkResumption(b *testing.B) {
	f := newFixture(b)
	c, leaf := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, c))
	keys := &ticketkeyKeeper{}
	keys.init(b, f)
	_, edgeAddr := serveEdge(b, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Tickets: keys.k})
	nginxAddr, nginxCPU, why := startNginx(b, nginxSetup{Chain: leaf.ChainPEM, Key: leaf.KeyPEM, Tickets: true})
	pair, err := tls.X509KeyPair([]byte(leaf.ChainPEM), []byte(leaf.KeyPEM))
	if err != nil {
		b.Fatal(err)
	}
	bare, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		b.Fatal(err)
	}
	defer bare.Close()
	go acceptLoop(bare)
	setups := []struct {
		name    string
		version uint16
		curves  []tls.CurveID
	}{
		{"TLS1.3", tls.VersionTLS13, nil},
		{"TLS1.3_X25519", tls.VersionTLS13, []tls.CurveID{tls.X25519}},
		{"TLS1.2", tls.VersionTLS12, nil},
	}
	costs := map[string]float64{} // "setup/server_mode" → CPU time (or wall time) a handshake took
	for _, s := range setups {
		b.Run(s.name, func(b *testing.B) {
			for _, server := range []string{"nginx", "crypto_tls", "edge"} {
				addr := map[string]string{"nginx": nginxAddr, "crypto_tls": bare.Addr().String(), "edge": edgeAddr}[server]
				for _, resume := range []bool{false, true} {
					mode := map[bool]string{false: "full", true: "resumed"}[resume]
					b.Run(server+"_"+mode, func(b *testing.B) {
						if server == "nginx" && why != "" {
							b.Skip(why)
						}
						cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "www.example.com",
							MinVersion: s.version, MaxVersion: s.version, CurvePreferences: s.curves}
						serverCPU := func() time.Duration { return 0 } // the edge's and crypto_tls's are this process's
						if server == "nginx" {
							serverCPU = nginxCPU
						}
						cost := handshakeLoad(b, addr, cfg, resume, serverCPU)
						costs[s.name+"/"+server+"_"+mode] = cost
						if full, ok := costs[s.name+"/"+server+"_full"]; ok && resume {
							b.ReportMetric(full/cost, "resumed/full")
						}
						if ng, ok := costs[s.name+"/nginx_"+mode]; ok && server == "edge" {
							b.ReportMetric(ng/cost, "edge/nginx")
						}
					})
				}
			}
		})
	}
}

// handshakeLoad runs b.N handshakes on addr with cfg, from
// resumptionClients clients at once, reports the handshakes per second and
// the CPU time a handshake took (this process's and serverCPU's), and
// returns that CPU time in µs (the wall time a handshake took, where CPU
// time cannot be read). With resume, every client first gets a ticket of
// its own and every handshake must resume; without, none may.
func handshakeLoad(b *testing.B, addr string, cfg *tls.Config, resume bool, serverCPU func() time.Duration) float64 {
	cfgs := make([]*tls.Config, resumptionClients)
	for i := range cfgs {
		cfgs[i] = cfg.Clone()
		if resume {
			cfgs[i].ClientSessionCache = tls.NewLRUClientSessionCache(8)
			// The ticket comes after the handshake: read until it is here.
			for try := 0; ; try++ {
				if resumed, _, err := visit(b, addr, cfg.ServerName, cfgs[i]); err != nil {
					b.Fatal(err)
				} else if resumed {
					break
				}
				if try == 20 {
					b.Fatal("no ticket after 20 handshakes")
				}
			}
		}
	}
	var (
		next   atomic.Int64
		failed atomic.Pointer[error]
		wg     sync.WaitGroup
	)
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	b.ResetTimer()
	cpu0, cpuOK := selfCPU()
	server0 := serverCPU()
	for _, cfg := range cfgs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) && failed.Load() == nil {
				conn, err := tls.DialWithDialer(dialer, "tcp", addr, cfg)
				if err == nil && conn.ConnectionState().DidResume != resume {
					err = fmt.Errorf("resumed %v, want %v", !resume, resume)
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
					return
				}
				conn.Close()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	cpu1, _ := selfCPU()
	cpu := cpu1 - cpu0 + serverCPU() - server0
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	rate := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(rate, "handshakes/s")
	if !cpuOK {
		return 1e6 / rate
	}
	perHandshake := float64(cpu.Microseconds()) / float64(b.N)
	b.ReportMetric(perHandshake, "cpu-µs/handshake")
	return perHandshake
}
