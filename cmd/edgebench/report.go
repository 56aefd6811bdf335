package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// memory is what a process group holds: the sum of its processes' RSS,
// and of their PSS (proportional set size: a page shared by k processes
// counts 1/k in each, so that nginx's workers, which share the master's
// pages, are not counted k times over). Bytes.
type memory struct{ RSS, PSS int64 }

// row is what was measured of one server.
type row struct {
	Server  string
	Skipped string // why it was not measured: not installed, …
	Failed  string // why its measurement stopped

	Ready     time.Duration // from start to every sampled name served
	Restart   time.Duration // esacert: the same, started again (from its snapshot); 0: not measured
	Settled   time.Duration // from start to idle, when that was over a second after ready; 0: not
	StillBusy bool          // not idle at Settled yet: measured while busy

	MemReady memory // when ready
	MemAll   memory // after every name was served once; zero: not measured

	Full, Res13, Res12 result
	// Paired is the bare server's full handshakes measured in turns with
	// Full (see measurer.full); the ratio to bare is to it when measured.
	// Paired13 and Paired12 are its resumed handshakes, in turns with Res13
	// and Res12 (measurer.resumed).
	Paired, Paired13, Paired12 result
}

// setup describes a run, for the lines under the table.
type setup struct {
	Certs, Clients, Cores int
	Duration              time.Duration
	Turns                 int // with the bare server beside, in a measurement
	ResumeNames           int
	KeyExchange           string
	Versions              []string // the servers' versions, as they say them
	Date                  time.Time
}

// writeTable writes the run as markdown: a line on the setup, the table,
// and a line per server that was skipped or failed. bare is the row the
// ratios are to (its full-handshake rate, the mean of its runs).
func writeTable(w io.Writer, s setup, bareRate float64, rows []row) {
	fmt.Fprintf(w, "%s certificates (ECDSA P-256, one name each, a key each, sent with an intermediate), %d clients "+
		"on the same %d-core machine, %s a measurement, key exchange: %s; %s; %s.\n\n",
		thousands(float64(s.Certs)), s.Clients, s.Cores, s.Duration, s.KeyExchange, strings.Join(s.Versions, ", "), s.Date.UTC().Format("2006-01-02"))
	fmt.Fprintln(w, "| server | ready after start | full handshakes/s (+ GET) | × bare crypto/tls | server CPU a handshake: full / resumed 1.3 / resumed 1.2 | resumed TLS 1.3/s | resumed TLS 1.2/s | resumed × bare: TLS 1.3 / 1.2 | memory when ready | after each name was served |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	var notes []string
	paired := false
	for _, r := range rows {
		if r.Skipped != "" {
			notes = append(notes, fmt.Sprintf("%s: not measured: %s.", r.Server, r.Skipped))
			continue
		}
		if r.Failed != "" {
			notes = append(notes, fmt.Sprintf("%s: stopped: %s", r.Server, r.Failed))
		}
		ready := seconds(r.Ready)
		if r.StillBusy {
			ready += ", still busy at " + seconds(r.Settled) + " (measured busy)"
		} else if r.Settled > 0 {
			ready += ", busy until " + seconds(r.Settled)
		}
		if r.Restart > 0 {
			ready += " (restart: " + seconds(r.Restart) + ")"
		}
		ratio := "—"
		switch {
		case r.Full.Conns > 0 && r.Paired.Conns > 0:
			ratio = fmt.Sprintf("%.2f×", r.Full.rate()/r.Paired.rate())
			paired = true
		case bareRate > 0 && r.Full.Conns > 0:
			ratio = fmt.Sprintf("%.2f×", r.Full.rate()/bareRate)
		}
		cpu := "—"
		if r.Full.Conns > 0 && r.Full.CPU > 0 {
			cpu = cpuCell(r.Full) + " / " + cpuCell(r.Res13) + " / " + cpuCell(r.Res12) + " µs"
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Server, ready, rateCell(r.Full, false), ratio, cpu,
			rateCell(r.Res13, true), rateCell(r.Res12, true), pairedCell(r), memCell(r.MemReady), memCell(r.MemAll))
	}
	if paired {
		fmt.Fprintf(w, "\n× bare crypto/tls: each server's full handshakes against those of a bare server kept running beside it, "+
			"measured in %d turns each (the bare row is its own runs, at the start and at the end); resumed × bare: the same "+
			"for resumed handshakes. The rates of the other columns are measured minutes apart, and this machine's speed "+
			"drifts over minutes: compare servers by their ratios.\n", s.Turns)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
}

// pairedCell is the ratios of r's resumed handshakes to the paired bare
// server's, measured in turns, or "—".
func pairedCell(r row) string {
	ratio := func(x, bare result) string {
		if x.Conns == 0 || bare.Conns == 0 {
			return "—"
		}
		s := fmt.Sprintf("%.2f×", x.rate()/bare.rate())
		if bare.Resumed*100 < bare.Conns*99 {
			s += fmt.Sprintf(" (bare %d%% resumed)", bare.Resumed*100/bare.Conns)
		}
		if bare.Errors > 0 {
			s += fmt.Sprintf(" (bare: %d failed)", bare.Errors)
		}
		return s
	}
	if r.Paired13.Conns == 0 && r.Paired12.Conns == 0 {
		return "—"
	}
	return ratio(r.Res13, r.Paired13) + " / " + ratio(r.Res12, r.Paired12)
}

// rateCell is a measurement's rate, with what went wrong: failed
// connections, and for resumption how many did not resume.
func rateCell(r result, resume bool) string {
	if r.Conns == 0 && r.Errors == 0 {
		return "—"
	}
	s := thousands(r.rate())
	if resume && r.Conns > 0 && r.Resumed*100 < r.Conns*99 {
		s += fmt.Sprintf(" (%d%% resumed)", r.Resumed*100/r.Conns)
	}
	if r.Errors > 0 {
		s += fmt.Sprintf(" (%d failed: %v)", r.Errors, r.FirstErr)
	}
	return s
}

// cpuCell is the server's CPU a connection of r in microseconds, or "—".
func cpuCell(r result) string {
	if r.Conns == 0 || r.CPU <= 0 {
		return "—"
	}
	return thousands(float64(r.CPU.Nanoseconds()) / float64(r.Conns) / 1e3)
}

// memCell is a group's RSS in MB, with its PSS where sharing makes them
// differ by more than a tenth.
func memCell(m memory) string {
	if m.RSS == 0 {
		return "—"
	}
	s := fmt.Sprintf("%d MB", m.RSS>>20)
	if m.PSS > 0 && m.PSS*10 < m.RSS*9 {
		s += fmt.Sprintf(" (PSS %d MB)", m.PSS>>20)
	}
	return s
}

func seconds(d time.Duration) string {
	if d < 10*time.Second {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

// thousands is x rounded, with commas: 12,345.
func thousands(x float64) string {
	s := strconv.FormatInt(int64(x+0.5), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
