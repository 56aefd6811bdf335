package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// meanRow is the bare server's two runs as one: the mean of their rates.
func meanRow(a, b row) row {
	a.Full, a.Res13, a.Res12 = addResults(a.Full, b.Full), addResults(a.Res13, b.Res13), addResults(a.Res12, b.Res12)
	a.Paired, a.Paired13, a.Paired12 = addResults(a.Paired, b.Paired), addResults(a.Paired13, b.Paired13), addResults(a.Paired12, b.Paired12)
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
	pprof  string   // where to fetch the server's profiles (…/debug/pprof), if anywhere
	// paired is the address of a bare server kept running beside the one
	// measured, whose full handshakes are measured in turns with its
	// (see full); "" when there is none.
	paired      string
	pairedPprof string // where to fetch the paired bare server's profiles, if anywhere
	pairedOrder *order
	// pairedCPU reads the paired server's CPU time, when it is reported
	// (a server measured against esacert, versus.go); nil: not reported.
	pairedCPU func() time.Duration
}

// full measures the full handshakes of the server on addr, and, when a
// bare server is paired, its full handshakes too, in turns: the ratio of
// the two is then what the machine's load did to both alike, not the
// drift between measurements minutes apart.
func (m *measurer) full(addr string, o *order, cpu func() time.Duration) (server, paired result) {
	if m.paired == "" {
		return m.c.full(addr, o, m.o.clients, m.o.duration, cpu), result{}
	}
	server, paired = m.inTurns(
		func(d time.Duration) result { return m.c.full(addr, o, m.o.clients, d, cpu) },
		func(d time.Duration) result {
			return m.c.full(m.paired, m.pairedOrder, m.o.clients, d, m.pairedCPUFunc())
		})
	return server, paired
}

// noCPU is the CPU reading of the paired bare server: none (its CPU is
// not reported).
func noCPU() time.Duration { return 0 }

// pairedCPUFunc reads the paired server's CPU: pairedCPU, or noCPU.
func (m *measurer) pairedCPUFunc() func() time.Duration {
	if m.pairedCPU != nil {
		return m.pairedCPU
	}
	return noCPU
}

// inTurns runs the measured server's load and the paired bare server's by
// turns, -turns of each, each a -turns-th of the measurement's duration,
// and returns the sums.
func (m *measurer) inTurns(measured, bare func(time.Duration) result) (server, paired result) {
	turns := max(m.o.turns, 1)
	turn := m.o.duration / time.Duration(turns)
	for range turns {
		server = addResults(server, measured(turn))
		paired = addResults(paired, bare(turn))
	}
	return server, paired
}

// resumed measures the resumed handshakes of version of the server on
// addr, and, when a bare server is paired, those of the bare server too,
// in turns (as full does): the sessions of both are made first, then each
// resumes them for a -turns-th of the duration, by turns.
func (m *measurer) resumed(addr string, version uint16, cpu func() time.Duration) (server, paired result, err error) {
	if m.paired == "" {
		server, err = m.c.resumed(addr, m.resume, version, m.o.clients, m.o.duration, cpu)
		return server, result{}, err
	}
	rs, err := m.c.primeResumed(addr, m.resume, version, m.o.clients)
	if err != nil {
		return result{}, result{}, err
	}
	rb, err := m.c.primeResumed(m.paired, m.resume, version, m.o.clients)
	if err != nil {
		return result{}, result{}, fmt.Errorf("the paired bare server: %w", err)
	}
	server, paired = m.inTurns(
		func(d time.Duration) result { return rs.run(d, cpu) },
		func(d time.Duration) result { return rb.run(d, m.pairedCPUFunc()) })
	return server, paired, nil
}

// addResults is two measurements as one.
func addResults(x, y result) result {
	return result{Conns: x.Conns + y.Conns, Resumed: x.Resumed + y.Resumed, Errors: x.Errors + y.Errors,
		FirstErr: errors.Join(x.FirstErr, y.FirstErr), Elapsed: x.Elapsed + y.Elapsed, CPU: x.CPU + y.CPU}
}

// profiled runs f while fetching profiles of the server as long as the
// measurement, into the -profile directory: its CPU as NAME.pprof, what it
// allocated meanwhile as NAME.allocs.pprof, and the same of the paired bare
// server as bare-….pprof when there is one; what it holds at the end as
// NAME.heap.pprof.
func (m *measurer) profiled(name string, f func()) {
	if m.pprof == "" {
		f()
		return
	}
	// In turns with a paired bare server, a measurement takes twice its
	// duration, and resumed ones make their sessions first: a few seconds
	// more. (The server is idle during the bare server's turns.)
	length := m.o.duration
	if m.paired != "" {
		length = 2*m.o.duration + 3*time.Second
	}
	seconds := int(length.Seconds() + 0.5)
	type fetch struct{ url, file string }
	fetches := []fetch{
		{fmt.Sprintf("%s/profile?seconds=%d", m.pprof, seconds), name + ".pprof"},
		{fmt.Sprintf("%s/allocs?seconds=%d", m.pprof, seconds), name + ".allocs.pprof"},
	}
	if m.pairedPprof != "" && m.paired != "" {
		// The paired bare server over the same window: its turns are in it.
		bare := "bare-" + strings.TrimPrefix(name, "esacert-")
		fetches = append(fetches,
			fetch{fmt.Sprintf("%s/profile?seconds=%d", m.pairedPprof, seconds), bare + ".pprof"},
			fetch{fmt.Sprintf("%s/allocs?seconds=%d", m.pairedPprof, seconds), bare + ".allocs.pprof"})
	}
	done := make(chan error, len(fetches))
	for _, fe := range fetches {
		go func() { done <- fetchTo(fe.url, filepath.Join(m.o.profile, fe.file)) }()
	}
	f()
	for range fetches {
		if err := <-done; err != nil {
			log.Printf("profile %s: %v", name, err)
		}
	}
	// What it holds at the end, after a collection.
	if err := fetchTo(m.pprof+"/heap?gc=1", filepath.Join(m.o.profile, name+".heap.pprof")); err != nil {
		log.Printf("profile %s: %v", name, err)
	}
}

// fetchTo writes what a GET of url answers into file.
func fetchTo(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, resp.Body)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
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
// after the server stopped, to time a second start; alongside, when set,
// is called with the server still running on addr once its own
// measurements succeeded (esacert measured in turns with it, versus.go).
func (m *measurer) measure(name string, start func(addr string) (*proc, error), readyNames []string,
	restart func(addr string) (time.Duration, error), alongside func(addr string, p *proc)) (r row) {
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
		var res, paired result
		var err error
		m.profiled("esacert-resumed-"+strings.ReplaceAll(tls.VersionName(v.version), " ", ""), func() {
			res, paired, err = m.resumed(addr, v.version, cpu)
		})
		if err != nil {
			r.Failed = err.Error()
			log.Printf("%s: %v", name, err)
			break
		}
		*v.res = res
		if v.version == tls.VersionTLS13 {
			r.Paired13 = paired
		} else {
			r.Paired12 = paired
		}
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
	for _, res := range []result{r.Paired, r.Paired13, r.Paired12} { // a ratio to a failing bare server means nothing
		if res.Errors > 0 && r.Failed == "" {
			r.Failed = fmt.Sprintf("%d connections to the paired bare server failed, the first: %v", res.Errors, res.FirstErr)
		}
	}
	if alongside != nil && r.Failed == "" {
		alongside(addr, p)
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
