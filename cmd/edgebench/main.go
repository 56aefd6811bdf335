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
// not served yet, reads its memory again, and stops it. nginx and HAProxy
// are skipped, with a line saying so, when they are not installed. -quick
// is a short pass for CI.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
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
}

var allServers = []string{"bare", "esacert", "nginx", "nginx-sni", "haproxy"}

func main() {
	log.SetFlags(0)
	log.SetPrefix("edgebench: ")
	var o options
	var servers string
	var quick bool
	var bareAddr, bareCert string
	flag.IntVar(&o.certs, "certs", 10_000, "certificates (one name each) every server holds")
	flag.IntVar(&o.clients, "clients", 4, "concurrent clients")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "length of each timed measurement")
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
	flag.StringVar(&o.profile, "profile", "", "esacert: write a CPU profile of each measurement into this directory (esacert-full.pprof, …)")
	flag.BoolVar(&quick, "quick", false, "a short pass for CI: 200 certificates, 1.5 s a measurement (flags given win)")
	flag.StringVar(&bareAddr, "serve-bare", "", "internal: serve as the bare crypto/tls server on this address")
	flag.StringVar(&bareCert, "bare-cert", "", "internal: the bare server's certificate and key (PEM)")
	flag.Parse()
	if bareAddr != "" {
		log.Fatal(serveBare(bareAddr, bareCert))
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
	if o.certs < 1 || o.clients < 1 || o.resumeNames < 1 || o.sampleNames < 1 {
		log.Fatal("-certs, -clients, -resume-names and -sample must be at least 1")
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
		c.curves, keyExchange = []tls.CurveID{tls.X25519}, "X25519"
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
		}, []string{names[0]}, nil)
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
		p, _, err := m.start(func(addr string) (*proc, error) {
			return startProc("bare", self, []string{"-serve-bare", addr, "-bare-cert", pemFile(certDir, certs[0])}, nil, filepath.Join(dir, "bare-paired.log"))
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
			m.pprof = "http://" + metricsAddr + "/debug/pprof/profile"
		}
		startNode := func(addr string) (*proc, error) {
			return startEsacert(esacertBin, dataDir, addr, metricsAddr, filepath.Join(dir, "esacert.log"))
		}
		var restart func(addr string) (time.Duration, error)
		if o.snapshot {
			restart = func(addr string) (time.Duration, error) { return m.ready(startNode, addr, m.sample) }
		}
		rows = append(rows, m.measure("esacert", startNode, m.sample, restart))
		m.pprof = ""
	}
	if want("nginx") {
		if nginxWhy != "" {
			rows = append(rows, row{Server: "nginx", Skipped: nginxWhy})
		} else {
			ndir := filepath.Join(dir, "nginx")
			rows = append(rows, m.measure("nginx", func(addr string) (*proc, error) {
				return startNginx(nginxBin, ndir, nginxConfig(ndir, addr, runtime.NumCPU(), certDir, certs))
			}, m.sample, nil))
		}
	}
	if want("nginx-sni") {
		if nginxWhy != "" {
			rows = append(rows, row{Server: nginxLazyRow, Skipped: nginxWhy})
		} else {
			ndir := filepath.Join(dir, "nginx-sni")
			rows = append(rows, m.measure(nginxLazyRow, func(addr string) (*proc, error) {
				return startNginx(nginxBin, ndir, nginxLazyConfig(ndir, addr, runtime.NumCPU(), certDir, currentUser()))
			}, m.sample, nil))
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
			}, m.sample, nil))
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
	writeTable(os.Stdout, setup{Certs: o.certs, Clients: o.clients, Cores: runtime.NumCPU(), Duration: o.duration,
		ResumeNames: len(m.resume), KeyExchange: keyExchange, Versions: versions, Date: now}, bareRate, rows)
	for _, r := range rows {
		if r.Failed != "" {
			return errors.New("some measurements failed (see above)")
		}
	}
	return nil
}

// nginxLazyRow names nginx reading the certificate at each handshake.
const nginxLazyRow = "nginx, certificate file by SNI"

// meanRow is the bare server's two runs as one: the mean of their rates.
func meanRow(a, b row) row {
	a.Full, a.Res13, a.Res12 = addResults(a.Full, b.Full), addResults(a.Res13, b.Res13), addResults(a.Res12, b.Res12)
	if a.Failed == "" {
		a.Failed = b.Failed
	}
	return a
}

// measurer runs the measurements of one server.
type measurer struct {
	o      options
	c      client
	names  []string // every name
	sample []string // the names checked for readiness
	resume []string // the names resumed handshakes go round
	pprof  string   // where to fetch the server's CPU profile, if anywhere
	// paired is the address of a bare server kept running beside the one
	// measured, whose full handshakes are measured in turns with its
	// (see full); "" when there is none.
	paired      string
	pairedOrder *order
}

// pairRounds is how many turns a server's full handshakes and the paired
// bare server's take, each a pairRounds-th of the measurement's duration.
const pairRounds = 4

// full measures the full handshakes of the server on addr, and, when a
// bare server is paired, its full handshakes too, in turns: the ratio of
// the two is then what the machine's load did to both alike, not the
// drift between measurements minutes apart.
func (m *measurer) full(addr string, o *order, cpu func() time.Duration) (server, paired result) {
	if m.paired == "" {
		return m.c.full(addr, o, m.o.clients, m.o.duration, cpu), result{}
	}
	none := func() time.Duration { return 0 }
	for range pairRounds {
		server = addResults(server, m.c.full(addr, o, m.o.clients, m.o.duration/pairRounds, cpu))
		paired = addResults(paired, m.c.full(m.paired, m.pairedOrder, m.o.clients, m.o.duration/pairRounds, none))
	}
	return server, paired
}

// addResults is two measurements as one.
func addResults(x, y result) result {
	return result{Conns: x.Conns + y.Conns, Resumed: x.Resumed + y.Resumed, Errors: x.Errors + y.Errors,
		FirstErr: errors.Join(x.FirstErr, y.FirstErr), Elapsed: x.Elapsed + y.Elapsed, CPU: x.CPU + y.CPU}
}

// profiled runs f while fetching a CPU profile of the server as long as
// the measurement, into the -profile directory as NAME.pprof.
func (m *measurer) profiled(name string, f func()) {
	if m.pprof == "" {
		f()
		return
	}
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(fmt.Sprintf("%s?seconds=%d", m.pprof, int(m.o.duration.Seconds()+0.5)))
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		out, err := os.Create(filepath.Join(m.o.profile, name+".pprof"))
		if err == nil {
			_, err = io.Copy(out, resp.Body)
			out.Close()
		}
		done <- err
	}()
	f()
	if err := <-done; err != nil {
		log.Printf("profile %s: %v", name, err)
	}
}

// ready starts a server on a free port and times it until each of names
// is served, then stops it.
func (m *measurer) ready(start func(addr string) (*proc, error), addr string, names []string) (time.Duration, error) {
	p, since, err := m.start(start, addr, names)
	if err != nil {
		return 0, err
	}
	stop(p)
	return since, nil
}

// start starts the server on addr and waits until each of names is served.
func (m *measurer) start(start func(addr string) (*proc, error), addr string, names []string) (*proc, time.Duration, error) {
	t0 := time.Now()
	p, err := start(addr)
	if err != nil {
		return nil, 0, err
	}
	if err := track(p); err != nil {
		return nil, 0, err
	}
	at, err := m.c.waitReady(addr, names, p.running, t0.Add(m.o.readyTimeout))
	if err != nil {
		stop(p)
		return nil, 0, err
	}
	return p, at.Sub(t0), nil
}

// measure measures one server (see the package comment). readyNames are
// the names whose being served means ready; restart, when set, is called
// after the server stopped, to time a second start.
func (m *measurer) measure(name string, start func(addr string) (*proc, error), readyNames []string,
	restart func(addr string) (time.Duration, error)) (r row) {
	r.Server = name
	log.Printf("%s: starting", name)
	addr, err := freeAddr()
	if err != nil {
		r.Failed = err.Error()
		return r
	}
	p, since, err := m.start(start, addr, readyNames)
	if err != nil {
		r.Failed = err.Error()
		log.Printf("%s: %v", name, err)
		return r
	}
	r.Ready = since
	if idle, busy, err := waitIdle(p, m.o.settle); err != nil {
		r.Failed = err.Error()
		log.Printf("%s: %v", name, err)
		stop(p)
		return r
	} else if busy {
		r.Settled, r.StillBusy = since+idle, true
		log.Printf("%s: ready after %s, but still busy (background work) %s after start; measuring meanwhile", name, seconds(r.Ready), seconds(r.Settled))
	} else if idle > time.Second {
		r.Settled = since + idle
		log.Printf("%s: ready after %s, but busy (background work) until %s after start; measuring from then", name, seconds(r.Ready), seconds(r.Settled))
	}
	runtime.GC()
	r.MemReady = groupMemory(p.pgid)
	log.Printf("%s: ready after %s, %s", name, seconds(r.Ready), memCell(r.MemReady))
	cpu := func() time.Duration { return groupCPU(p.pgid) }
	o := newOrder(m.names, uint64(len(m.names)))
	m.profiled("esacert-full", func() { r.Full, r.Paired = m.full(addr, o, cpu) })
	log.Printf("%s: full handshakes: %s/s, %d µs of server CPU each", name, thousands(r.Full.rate()), r.Full.cpuPer().Microseconds())
	for _, v := range []struct {
		version uint16
		res     *result
	}{{tls.VersionTLS13, &r.Res13}, {tls.VersionTLS12, &r.Res12}} {
		var res result
		var err error
		m.profiled("esacert-resumed-"+strings.ReplaceAll(tls.VersionName(v.version), " ", ""), func() {
			res, err = m.c.resumed(addr, m.resume, v.version, m.o.clients, m.o.duration, cpu)
		})
		if err != nil {
			r.Failed = err.Error()
			log.Printf("%s: %v", name, err)
			break
		}
		*v.res = res
		log.Printf("%s: resumed %s: %s/s, %d%% resumed, %s µs of server CPU each", name, tls.VersionName(v.version), thousands(res.rate()), res.Resumed*100/max(res.Conns, 1), cpuCell(res))
	}
	if m.o.touch && len(readyNames) > 1 && name != nginxLazyRow { // nginx by SNI keeps no certificate
		t0 := time.Now()
		rest := m.c.rest(addr, o, m.o.clients)
		if rest.Errors > 0 && r.Failed == "" {
			r.Failed = fmt.Sprintf("%d handshakes failed serving every name once: %v", rest.Errors, rest.FirstErr)
		}
		runtime.GC()
		r.MemAll = groupMemory(p.pgid)
		log.Printf("%s: served the %d names not served yet in %.1f s; %s", name, rest.Conns, time.Since(t0).Seconds(), memCell(r.MemAll))
	}
	if err := p.running(); err != nil && r.Failed == "" {
		r.Failed = err.Error()
	}
	for _, res := range []result{r.Full, r.Res13, r.Res12} {
		if res.Errors > 0 && r.Failed == "" {
			r.Failed = fmt.Sprintf("%d connections failed, the first: %v", res.Errors, res.FirstErr)
		}
	}
	stop(p)
	if restart != nil && r.Failed == "" {
		if r.Restart, err = restart(addr); err != nil {
			r.Failed = "restart: " + err.Error()
		} else {
			log.Printf("%s: started again: ready after %s", name, seconds(r.Restart))
		}
	}
	return r
}

// waitIdle waits until p's group uses less than a twentieth of a core
// over a second, and returns how long that took: a server that starts
// serving before its background start-up work is done (esacert's OCSP
// bookkeeping of new certificates, say) is measured once that is done, or,
// when it is still busy after timeout, meanwhile (busy).
func waitIdle(p *proc, timeout time.Duration) (took time.Duration, busy bool, err error) {
	t0 := time.Now()
	last := groupCPU(p.pgid)
	for {
		time.Sleep(time.Second)
		cpu := groupCPU(p.pgid)
		if cpu-last < 50*time.Millisecond {
			return time.Since(t0) - time.Second, false, nil
		}
		last = cpu
		if err := p.running(); err != nil {
			return 0, false, err
		}
		if time.Since(t0) > timeout {
			return time.Since(t0), true, nil
		}
	}
}

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
func serveBare(addr, certFile string) error {
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		return err
	}
	pair, err := tls.X509KeyPair(pemBytes, pemBytes)
	if err != nil {
		return err
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
