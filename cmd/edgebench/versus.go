//go:build linux

package main

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"time"
)

// esacert against another server, in turns. The "× bare" ratios of the
// main table put each server beside the same bare server, but minutes
// apart: nginx's ratio and esacert's are two measurements, and each moved
// by a few percent between runs of the same code. Whether esacert is ahead
// of nginx is answered directly by measuring the two in turns: while nginx
// (or HAProxy) still runs after its own measurements, esacert is started
// again from its data beside it, and the same clients give each a turn,
// -turns turns each, for full handshakes (and a GET) over all the names,
// then resumed TLS 1.3 and TLS 1.2 handshakes over the same names; each
// server's CPU is read over its own turns. The ratio of the two is what
// the machine did to both alike, not its drift.

// faceOff is esacert measured in turns with another server.
type faceOff struct {
	Against string // the other server
	Failed  string // why the measurement stopped, if it did
	// esacert's full and resumed handshakes, and the other server's, each
	// in turns with the other.
	Full, Res13, Res12                result
	OtherFull, OtherRes13, OtherRes12 result
}

// faceOff starts esacert (startEsacert, on a free address, until it serves
// the sampled names and is idle), measures it in turns with the server
// named against running on addr as the process p, and stops it.
func (m *measurer) faceOff(against string, startEsacert func(addr string) (*proc, error), addr string, other *proc) (f faceOff) {
	f.Against = against
	log.Printf("esacert beside %s: starting", against)
	esAddr, err := freeAddr()
	if err != nil {
		f.Failed = err.Error()
		return f
	}
	p, _, err := m.start(startEsacert, esAddr, m.sample)
	if err != nil {
		f.Failed = "esacert: " + err.Error()
		log.Printf("esacert beside %s: %s", against, f.Failed)
		return f
	}
	defer stop(p)
	if _, _, err := waitIdle(p, m.o.settle); err != nil {
		f.Failed = "esacert: " + err.Error()
		return f
	}
	v := *m
	v.pprof, v.pairedPprof = "", ""
	v.paired, v.pairedOrder = addr, newOrder(m.names, uint64(len(m.names)))
	v.pairedCPU = func() time.Duration { return groupCPU(other.pgid) }
	esCPU := func() time.Duration { return groupCPU(p.pgid) }
	f.Full, f.OtherFull = v.full(esAddr, newOrder(m.names, uint64(len(m.names))), esCPU)
	log.Printf("esacert beside %s: full handshakes %s/s against %s/s", against, thousands(f.Full.rate()), thousands(f.OtherFull.rate()))
	for _, x := range []struct {
		version     uint16
		es, against *result
	}{{tls.VersionTLS13, &f.Res13, &f.OtherRes13}, {tls.VersionTLS12, &f.Res12, &f.OtherRes12}} {
		es, them, err := v.resumed(esAddr, x.version, esCPU)
		if err != nil {
			f.Failed = err.Error()
			log.Printf("esacert beside %s: %v", against, err)
			break
		}
		*x.es, *x.against = es, them
		log.Printf("esacert beside %s: resumed %s %s/s against %s/s", against, tls.VersionName(x.version), thousands(es.rate()), thousands(them.rate()))
	}
	for _, res := range []result{f.Full, f.Res13, f.Res12, f.OtherFull, f.OtherRes13, f.OtherRes12} {
		if res.Errors > 0 && f.Failed == "" {
			f.Failed = fmt.Sprintf("%d connections failed, the first: %v", res.Errors, res.FirstErr)
		}
	}
	if err := p.running(); err != nil && f.Failed == "" {
		f.Failed = "esacert: " + err.Error()
	}
	if err := other.running(); err != nil && f.Failed == "" {
		f.Failed = against + ": " + err.Error()
	}
	return f
}

// writeFaceOffs writes the measurements of esacert in turns with each other
// server as a markdown table, after the main one; nothing when there are
// none.
func writeFaceOffs(w io.Writer, turns int, duration time.Duration, fs []faceOff) {
	if len(fs) == 0 {
		return
	}
	fmt.Fprintf(w, "\nesacert in turns with each server beside it (%d turns each, %s in all a measurement, the same clients):\n\n", turns, duration)
	fmt.Fprintln(w, "| beside | esacert ÷ it: full / resumed TLS 1.3 / resumed TLS 1.2 | esacert, per second: full / resumed 1.3 / resumed 1.2 | it, per second | server CPU a connection, esacert: full / resumed 1.3 / resumed 1.2 | it |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	var notes []string
	for _, f := range fs {
		if f.Failed != "" {
			notes = append(notes, fmt.Sprintf("esacert beside %s: stopped: %s", f.Against, f.Failed))
		}
		fmt.Fprintf(w, "| %s | %s / %s / %s | %s / %s / %s | %s / %s / %s | %s / %s / %s µs | %s / %s / %s µs |\n", f.Against,
			ratioCell(f.Full, f.OtherFull), ratioCell(f.Res13, f.OtherRes13), ratioCell(f.Res12, f.OtherRes12),
			rateCell(f.Full, false), rateCell(f.Res13, true), rateCell(f.Res12, true),
			rateCell(f.OtherFull, false), rateCell(f.OtherRes13, true), rateCell(f.OtherRes12, true),
			cpuCell(f.Full), cpuCell(f.Res13), cpuCell(f.Res12),
			cpuCell(f.OtherFull), cpuCell(f.OtherRes13), cpuCell(f.OtherRes12))
	}
	for _, n := range notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
}

// ratioCell is x's rate over y's, or "—" when either was not measured.
func ratioCell(x, y result) string {
	if x.Conns == 0 || y.Conns == 0 || x.Elapsed <= 0 || y.Elapsed <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f×", x.rate()/y.rate())
}
