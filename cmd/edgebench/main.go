//go:build linux

// Command edgebench measures esacert's edge beside nginx and HAProxy
// serving the same certificates, and a bare crypto/tls server with one
// certificate as the baseline, and prints a markdown table (the README's
// "Benchmarks"):
//
//	go run ./cmd/edgebench -certs 50000
//
// It generates the certificates (ECDSA P-256, one name and one key each),
// writes them for nginx (a server block per name) and HAProxy (a crt-list),
// seeds a data directory for an esacert node built from ./cmd/esacert, and
// then for each server in turn: starts it, times it until every sampled
// name is served its certificate, reads its memory, measures full TLS 1.3
// handshakes (and a GET) from concurrent clients over all the names, then
// resumed TLS 1.3 and TLS 1.2 handshakes, makes a handshake with every name
// not served yet, reads its memory again, and stops it. While nginx and
// HAProxy still run, esacert is started again beside each and measured in
// turns with it (-versus, versus.go). nginx and HAProxy are skipped, with a
// line saying so, when they are not installed. -quick is a short pass for
// CI.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"net/http/pprof"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
)

type options struct {
	certs        int
	clients      int
	duration     time.Duration
	turns        int
	resumeNames  int
	sampleNames  int
	readyTimeout time.Duration
	settle       time.Duration
	servers      []string
	curves       string
	esacert      string
	nginx        string
	haproxy      string
	dir          string
	keep         bool
	touch        bool
	snapshot     bool
	profile      string
	versus       bool
}

var allServers = []string{"bare", "esacert", "nginx", "nginx-sni", "haproxy"}

func main() {
	log.SetFlags(0)
	log.SetPrefix("edgebench: ")
	var o options
	var servers string
	var quick bool
	var bareAddr, bareCert, barePprof string
	flag.IntVar(&o.certs, "certs", 10_000, "certificates (one name each) every server holds")
	flag.IntVar(&o.clients, "clients", 4, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each timed measurement")
	flag.IntVar(&o.turns, "turns", 10, "turns a measured server and the bare server beside it take by turns in a measurement (more, shorter turns cancel more of the machine's drift)")
	flag.IntVar(&o.resumeNames, "resume-names", 1000, "names the resumed handshakes go round (each client has a ticket for its share)")
	flag.IntVar(&o.sampleNames, "sample", 100, "names checked to call a server ready (spread over all, the first and last among them)")
	flag.DurationVar(&o.readyTimeout, "ready-timeout", 15*time.Minute, "how long a server may take to be ready")
	flag.DurationVar(&o.settle, "settle", 2*time.Minute, "how long to wait, once a server is ready, for its background work to end before measuring (then it is measured busy, and the table says so)")
	flag.StringVar(&servers, "servers", strings.Join(allServers, ","), "servers to measure, comma-separated: "+strings.Join(allServers, ", "))
	flag.StringVar(&o.curves, "curves", "default", "key exchanges the clients offer: default (Go's: X25519MLKEM768, X25519, …, as browsers offer) or x25519")
	flag.StringVar(&o.esacert, "esacert", "", "esacert binary (default: built from ./cmd/esacert)")
	flag.StringVar(&o.nginx, "nginx", "", "nginx binary (default: $ESACERT_NGINX, nginx on the PATH, or /usr/sbin/nginx)")
	flag.StringVar(&o.haproxy, "haproxy", "", "HAProxy binary (default: $ESACERT_HAPROXY, haproxy on the PATH, or /usr/sbin/haproxy)")
	flag.StringVar(&o.dir, "dir", "", "working directory for certificates, configurations, data and logs (default: a temporary one, removed at the end)")
	flag.BoolVar(&o.keep, "keep", false, "keep the working directory")
	flag.BoolVar(&o.touch, "touch-all", true, "serve every name once before the second memory reading")
	flag.BoolVar(&o.snapshot, "restart", true, "esacert: also time a restart (from the edge's snapshot)")
	flag.BoolVar(&o.versus, "versus", true, "esacert: also measure it in turns with nginx and with HAProxy, each while that one runs (the direct comparison, with the machine's drift cancelled)")
	flag.StringVar(&o.profile, "profile", "", "esacert: write a CPU profile of each measurement into this directory (esacert-full.pprof, …)")
	flag.BoolVar(&quick, "quick", false, "a short pass for CI: 200 certificates, 1.5 s a measurement (flags given win)")
	flag.StringVar(&bareAddr, "serve-bare", "", "internal: serve as the bare crypto/tls server on this address")
	flag.StringVar(&bareCert, "bare-cert", "", "internal: the bare server's certificate and key (PEM)")
	flag.StringVar(&barePprof, "bare-pprof", "", "internal: the bare server's profiles (/debug/pprof/profile, /debug/pprof/allocs) on this address")
	flag.Parse()
	if bareAddr != "" {
		log.Fatal(serveBare(bareAddr, bareCert, barePprof))
	}
	if quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		if !set["certs"] {
			o.certs = 200
		}
		if !set["duration"] {
			o.duration = 1500 * time.Millisecond
		}
		if !set["resume-names"] {
			o.resumeNames = 40
		}
		if !set["sample"] {
			o.sampleNames = 20
		}
		if !set["settle"] {
			o.settle = 30 * time.Second
		}
		if !set["ready-timeout"] {
			o.readyTimeout = 2 * time.Minute
		}
		if !set["restart"] {
			o.snapshot = false
		}
	}
	for _, s := range strings.Split(servers, ",") {
		if s = strings.TrimSpace(s); !slices.Contains(allServers, s) {
			log.Fatalf("-servers: unknown server %q (known: %s)", s, strings.Join(allServers, ", "))
		}
		o.servers = append(o.servers, strings.TrimSpace(s))
	}
	if o.certs < 1 || o.clients < 1 || o.resumeNames < 1 || o.sampleNames < 1 || o.turns < 1 {
		log.Fatal("-certs, -clients, -resume-names, -sample and -turns must be at least 1")
	}
	if err := run(o); err != nil {
		log.Fatal(err)
	}
}

// running holds the servers started and not stopped yet, stopped on an
// interrupt.
var running struct {
	sync.Mutex
	procs    []*proc
	stopping bool // interrupted: what starts now is stopped at once
}

func track(p *proc) error {
	running.Lock()
	stopping := running.stopping
	if !stopping {
		running.procs = append(running.procs, p)
	}
	running.Unlock()
	if stopping {
		p.stop()
		return errors.New("interrupted")
	}
	return nil
}

func stop(p *proc) {
	p.stop()
	running.Lock()
	running.procs = slices.DeleteFunc(running.procs, func(q *proc) bool { return q == p })
	running.Unlock()
}

func run(o options) error {
	begun := time.Now()
	dir := o.dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "edgebench-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	cleanup := func() {
		running.Lock()
		running.stopping = true
		procs := slices.Clone(running.procs)
		running.Unlock()
		for _, p := range procs {
			p.stop()
		}
		if !o.keep && o.dir == "" {
			os.RemoveAll(dir)
		}
	}
	defer cleanup()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-sig
		log.Print("interrupted: stopping the servers")
		cleanup()
		os.Exit(1)
	}()
	if o.keep || o.dir != "" {
		log.Printf("working directory: %s", dir)
	}

	c := client{}
	keyExchange := "Go's default (X25519MLKEM768 where the server has it, else X25519)"
	if o.curves == "x25519" {
		// P-256 after X25519: in TLS 1.2 the groups a client lists are
		// also the curves of the ECDSA certificates it accepts (RFC 8422
		// §5.1.1), and OpenSSL refuses a P-256 certificate to a client that
		// lists X25519 alone. Every server here exchanges with X25519, the
		// first; a TLS 1.3 client sends its share alone.
		c.curves, keyExchange = []tls.CurveID{tls.X25519, tls.CurveP256}, "X25519"
	} else if o.curves != "default" {
		return fmt.Errorf("-curves: %q is neither default nor x25519", o.curves)
	}
	want := func(s string) bool { return slices.Contains(o.servers, s) }

	// Which servers there are, said first.
	versions := []string{runtime.Version()}
	var nginxBin, haproxyBin, nginxWhy, haproxyWhy string
	if want("nginx") {
		if nginxBin, nginxWhy = findBinary(o.nginx, "ESACERT_NGINX", "nginx"); nginxWhy == "" {
			versions = append(versions, binaryVersion(nginxBin, "-v"))
		} else {
			log.Printf("nginx: skipped: %s", nginxWhy)
		}
	}
	if want("nginx-sni") && !want("nginx") {
		if nginxBin, nginxWhy = findBinary(o.nginx, "ESACERT_NGINX", "nginx"); nginxWhy == "" {
			versions = append(versions, binaryVersion(nginxBin, "-v"))
		} else {
			log.Printf("nginx: skipped: %s", nginxWhy)
		}
	}
	if want("haproxy") {
		if haproxyBin, haproxyWhy = findBinary(o.haproxy, "ESACERT_HAPROXY", "haproxy"); haproxyWhy == "" {
			versions = append(versions, binaryVersion(haproxyBin, "-v"))
		} else {
			log.Printf("HAProxy: skipped: %s", haproxyWhy)
		}
	}

	esacertBin := o.esacert
	if want("esacert") && esacertBin == "" {
		log.Print("building ./cmd/esacert")
		var err error
		if esacertBin, err = buildEsacert(dir); err != nil {
			return err
		}
	}

	now := time.Now()
	start := time.Now()
	certs, err := generate(o.certs, now)
	if err != nil {
		return err
	}
	names := make([]string, len(certs))
	for i, ct := range certs {
		names[i] = ct.Name
	}
	log.Printf("generated %d certificates in %.1f s", len(certs), time.Since(start).Seconds())
	certDir := filepath.Join(dir, "certs")
	if err := writeFiles(certDir, certs[:1]); err != nil { // the bare server's
		return err
	}
	if nginxWhy == "" && (want("nginx") || want("nginx-sni")) || haproxyWhy == "" && want("haproxy") {
		start = time.Now()
		if err := writeFiles(certDir, certs); err != nil {
			return err
		}
		log.Printf("wrote their files in %.1f s", time.Since(start).Seconds())
	}
	m := &measurer{o: o, c: c, names: names, sample: sample(names, o.sampleNames), resume: sample(names, o.resumeNames)}

	var rows []row
	var bareRates []float64
	var esacertAgain func(addr string) (*proc, error) // esacert started from its data, once measured
	var versus []faceOff
	bare := func() {
		if !want("bare") {
			return
		}
		self, err := os.Executable()
		if err != nil {
			rows = append(rows, row{Server: "crypto/tls, 1 certificate", Failed: err.Error()})
			return
		}
		paired := m.paired
		m.paired = "" // not in turns with itself
		defer func() { m.paired = paired }()
		r := m.measure("crypto/tls, 1 certificate", func(addr string) (*proc, error) {
			return startProc("bare", self, []string{"-serve-bare", addr, "-bare-cert", pemFile(certDir, certs[0])}, nil, filepath.Join(dir, "bare.log"))
		}, []string{names[0]}, nil, nil)
		if r.Full.Conns > 0 {
			bareRates = append(bareRates, r.Full.rate())
		}
		rows = append(rows, r)
	}
	bare()
	if want("bare") && len(o.servers) > 1 {
		// A second bare server, idle but while the others are measured in
		// turns with it (measurer.full).
		self, err := os.Executable()
		if err != nil {
			return err
		}
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		args := []string{"-serve-bare", addr, "-bare-cert", pemFile(certDir, certs[0])}
		if o.profile != "" {
			// Profiled too, for esacert's profiles to be read against it.
			pprofAddr, err := freeAddr()
			if err != nil {
				return err
			}
			args = append(args, "-bare-pprof", pprofAddr)
			m.pairedPprof = "http://" + pprofAddr + "/debug/pprof"
		}
		p, _, err := m.start(func(addr string) (*proc, error) {
			return startProc("bare", self, args, nil, filepath.Join(dir, "bare-paired.log"))
		}, addr, []string{names[0]})
		if err != nil {
			return fmt.Errorf("the paired bare server: %w", err)
		}
		defer stop(p)
		m.paired, m.pairedOrder = addr, newOrder(names, 2)
	}
	if want("esacert") {
		dataDir := filepath.Join(dir, "esacert-data")
		start = time.Now()
		if err := seedEsacert(context.Background(), dataDir, certs, now); err != nil {
			return fmt.Errorf("seed esacert: %w", err)
		}
		log.Printf("seeded esacert's database in %.1f s", time.Since(start).Seconds())
		var metricsAddr string
		if o.profile != "" {
			if metricsAddr, err = freeAddr(); err != nil {
				return err
			}
			if err := os.MkdirAll(o.profile, 0o755); err != nil {
				return err
			}
			m.pprof = "http://" + metricsAddr + "/debug/pprof"
		}
		startNode := func(addr string) (*proc, error) {
			return startEsacert(esacertBin, dataDir, addr, metricsAddr, filepath.Join(dir, "esacert.log"))
		}
		var restart func(addr string) (time.Duration, error)
		if o.snapshot {
			restart = func(addr string) (time.Duration, error) { return m.ready(startNode, addr, m.sample) }
		}
		esRow := m.measure("esacert", startNode, m.sample, restart, nil)
		rows = append(rows, esRow)
		m.pprof = ""
		if o.versus && esRow.Failed == "" {
			esacertAgain = func(addr string) (*proc, error) {
				return startEsacert(esacertBin, dataDir, addr, "", filepath.Join(dir, "esacert-versus.log"))
			}
		}
	}
	// esacert measured in turns with a server running on addr (versus.go).
	beside := func(name string) func(addr string, p *proc) {
		if esacertAgain == nil {
			return nil
		}
		return func(addr string, p *proc) { versus = append(versus, m.faceOff(name, esacertAgain, addr, p)) }
	}
	if want("nginx") {
		if nginxWhy != "" {
			rows = append(rows, row{Server: "nginx", Skipped: nginxWhy})
		} else {
			ndir := filepath.Join(dir, "nginx")
			rows = append(rows, m.measure("nginx", func(addr string) (*proc, error) {
				return startNginx(nginxBin, ndir, nginxConfig(ndir, addr, runtime.NumCPU(), certDir, certs))
			}, m.sample, nil, beside("nginx")))
		}
	}
	if want("nginx-sni") {
		if nginxWhy != "" {
			rows = append(rows, row{Server: nginxLazyRow, Skipped: nginxWhy})
		} else {
			ndir := filepath.Join(dir, "nginx-sni")
			rows = append(rows, m.measure(nginxLazyRow, func(addr string) (*proc, error) {
				return startNginx(nginxBin, ndir, nginxLazyConfig(ndir, addr, runtime.NumCPU(), certDir, currentUser()))
			}, m.sample, nil, nil))
		}
	}
	if want("haproxy") {
		if haproxyWhy != "" {
			rows = append(rows, row{Server: "HAProxy", Skipped: haproxyWhy})
		} else {
			hdir := filepath.Join(dir, "haproxy")
			rows = append(rows, m.measure("HAProxy", func(addr string) (*proc, error) {
				if err := os.MkdirAll(hdir, 0o700); err != nil {
					return nil, err
				}
				list := filepath.Join(hdir, "crt-list.txt")
				if err := os.WriteFile(list, []byte(crtList(certDir, certs)), 0o600); err != nil {
					return nil, err
				}
				conf := filepath.Join(hdir, "haproxy.cfg")
				if err := os.WriteFile(conf, []byte(haproxyConfig(addr, runtime.NumCPU(), list)), 0o600); err != nil {
					return nil, err
				}
				return startProc("HAProxy", haproxyBin, []string{"-db", "-f", conf}, nil, filepath.Join(hdir, "output.log"))
			}, m.sample, nil, beside("HAProxy")))
		}
	}
	if len(rows) > 1 {
		bare() // again at the end: the machine's load may have changed meanwhile
	}
	var bareRate float64
	for _, r := range bareRates {
		bareRate += r / float64(len(bareRates))
	}
	if len(bareRates) == 2 {
		// One row for the baseline, its two runs' mean.
		first := slices.IndexFunc(rows, func(r row) bool { return r.Server == "crypto/tls, 1 certificate" })
		last := len(rows) - 1
		rows[first] = meanRow(rows[first], rows[last])
		rows = rows[:last]
	}
	log.Printf("done in %s", time.Since(begun).Round(time.Second))
	fmt.Println()
	writeTable(os.Stdout, setup{Certs: o.certs, Clients: o.clients, Cores: runtime.NumCPU(), Duration: o.duration, Turns: o.turns,
		ResumeNames: len(m.resume), KeyExchange: keyExchange, Versions: versions, Date: now}, bareRate, rows)
	writeFaceOffs(os.Stdout, o.turns, o.duration, versus)
	for _, r := range rows {
		if r.Failed != "" {
			return errors.New("some measurements failed (see above)")
		}
	}
	for _, f := range versus {
		if f.Failed != "" {
			return errors.New("some measurements failed (see above)")
		}
	}
	return nil
}

// nginxLazyRow names nginx reading the certificate at each handshake.
const nginxLazyRow = "nginx, certificate file by SNI"

// binaryVersion is the first line a server prints for its version flag,
// shortened to NAME VERSION.
func binaryVersion(bin, flagName string) string {
	out, _ := exec.Command(bin, flagName).CombinedOutput()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	line = strings.TrimPrefix(line, "nginx version: ")
	if f := strings.Fields(line); len(f) >= 3 && f[0] == "HAProxy" && f[1] == "version" {
		line = "HAProxy " + strings.SplitN(f[2], "-", 2)[0]
	}
	return line
}

// serveBare is the bare crypto/tls server: the certificate in certFile for
// every name, Go's defaults otherwise (TLS 1.2 and 1.3, session tickets),
// and net/http answering "ok" to every request.
func serveBare(addr, certFile, pprofAddr string) error {
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		return err
	}
	if pprofAddr != "" {
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.Handle("/debug/pprof/allocs", pprof.Handler("allocs"))
		go func() { log.Fatal(http.ListenAndServe(pprofAddr, mux)) }()
	}
	srv := &http.Server{Addr: addr, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}},
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })}
	return srv.ListenAndServeTLS("", "")
}

// startNginx writes config to nginx.conf in dir (made if missing), nginx's
// prefix, and starts nginx on it.
func startNginx(bin, dir, config string) (*proc, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		return nil, err
	}
	return startProc("nginx", bin, []string{"-p", dir + "/", "-c", conf, "-e", filepath.Join(dir, "error.log")}, nil, filepath.Join(dir, "output.log"))
}
