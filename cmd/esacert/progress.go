package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// meter shows how far a long command (migrate, rotate-master-key) has
// come, on stderr, so that stdout keeps only the command's result. On a
// terminal it redraws one line per step in place, at most ten times a
// second: "copy  12,345/50,000 rows  24%  8,120 rows/s". Anywhere else it
// writes plain lines: when a step starts, at each tenth of it, and when it
// ends. It is safe for concurrent use; Writer interleaves log lines with it.
type meter struct {
	w    io.Writer
	tty  bool
	unit map[string]string // per step, what it counts ("rows")
	now  func() time.Time

	mu        sync.Mutex
	step      string
	start     time.Time
	drawn     time.Time // when the line was last redrawn
	open      bool      // a redrawn line is on the screen without its new line
	tenth     int       // the last tenth written as a plain line
	done, max int
}

// newMeter returns a meter writing to w; tty chooses the redrawn line.
// unit names what each step counts.
func newMeter(w io.Writer, tty bool, unit map[string]string) *meter {
	return &meter{w: w, tty: tty, unit: unit, now: time.Now}
}

// isTerminal reports whether f is a terminal (a character device, and TERM
// is not "dumb"): there a redrawn progress line is seen, not stored.
func isTerminal(w io.Writer, getenv func(string) string) bool {
	f, ok := w.(*os.File)
	if !ok || getenv("TERM") == "dumb" {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Update reports done of total units through in step. A new step ends the
// previous one's line.
func (m *meter) Update(step string, done, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if step != m.step {
		m.endLocked()
		m.step, m.start, m.tenth = step, now, -1
		m.drawn = time.Time{}
	}
	m.done, m.max = done, total
	switch {
	case m.tty:
		// The line stays open: the next step, a log line or Finish ends it.
		if done >= total || now.Sub(m.drawn) >= 100*time.Millisecond {
			fmt.Fprintf(m.w, "\r\x1b[K%s", m.lineLocked(now))
			m.drawn, m.open = now, true
		}
	default:
		tenth := 10
		if total > 0 {
			tenth = done * 10 / total
		}
		if tenth > m.tenth {
			fmt.Fprintln(m.w, m.lineLocked(now))
			m.tenth = tenth
		}
	}
}

// Finish ends the line of the step under way, if one is open.
func (m *meter) Finish() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endLocked()
	m.step = ""
}

func (m *meter) endLocked() {
	if m.open {
		fmt.Fprintln(m.w)
		m.open = false
	}
}

// lineLocked is the progress line of the step under way.
func (m *meter) lineLocked(now time.Time) string {
	unit := m.unit[m.step]
	if unit == "" {
		unit = "items"
	}
	line := fmt.Sprintf("%s  %s/%s %s", m.step, group(m.done), group(m.max), unit)
	if m.max > 0 {
		line += fmt.Sprintf("  %d%%", m.done*100/m.max)
	}
	if el := now.Sub(m.start); el >= time.Second && m.done > 0 {
		line += fmt.Sprintf("  %s %s/s", group(int(float64(m.done)/el.Seconds())), unit)
	}
	return line
}

// Writer returns a writer for log lines: each write first ends an open
// progress line, so that a log line never lands in the middle of one.
func (m *meter) Writer() io.Writer { return meterWriter{m} }

type meterWriter struct{ m *meter }

func (w meterWriter) Write(p []byte) (int, error) {
	w.m.mu.Lock()
	defer w.m.mu.Unlock()
	w.m.endLocked()
	return w.m.w.Write(p)
}

// group writes n with commas between thousands: 12,345.
func group(n int) string {
	s := fmt.Sprint(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}
