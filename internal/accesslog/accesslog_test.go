package accesslog

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// lines reads a log file's JSON lines.
func lines(t *testing.T, path string) []map[string]any {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func TestWriteAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := Open(path, 1, quiet)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 5, 22, 0, 0, 0, time.UTC)
	for i := range 3 {
		l.Write(Entry{Time: at, ClientIP: "192.0.2.1", Scheme: "https", SNI: "www.example.com", Host: "www.example.com",
			Method: "GET", Path: "/a\n\"b", Proto: "HTTP/2.0", TLSVersion: "TLS 1.3", ALPN: "h2", Status: 200 + i,
			Bytes: 42, DurationMS: 1.5, OriginStatus: 200})
	}
	l.Close()
	got := lines(t, path)
	if len(got) != 3 || l.Written() != 3 || l.Dropped() != 0 {
		t.Fatalf("%d lines, written %d, dropped %d", len(got), l.Written(), l.Dropped())
	}
	want := map[string]any{"time": "2026-12-05T22:00:00Z", "client_ip": "192.0.2.1", "scheme": "https", "sni": "www.example.com",
		"host": "www.example.com", "method": "GET", "path": "/a\n\"b", "proto": "HTTP/2.0", "tls_version": "TLS 1.3",
		"alpn": "h2", "resumed": false, "status": 200.0, "bytes": 42.0, "duration_ms": 1.5, "origin_status": 200.0}
	for k, v := range want {
		if got[0][k] != v {
			t.Errorf("%s = %#v, want %#v", k, got[0][k], v)
		}
	}
	if len(got[0]) != len(want) {
		t.Errorf("line has fields %v, want exactly %v", got[0], want)
	}
	// Fields that do not apply are left out: plain HTTP, no origin.
	l, _ = Open(path, 1, quiet)
	l.Write(Entry{Time: at, Scheme: "http", Status: 404})
	l.Close()
	last := lines(t, path)[3]
	for _, k := range []string{"sni", "tls_version", "alpn", "origin_status"} {
		if _, ok := last[k]; ok {
			t.Errorf("plain HTTP line has %s: %v", k, last)
		}
	}
}

// blocked is a file whose writes wait until release is closed.
type blocked struct {
	release chan struct{}
	n       int
}

func (b *blocked) Write(p []byte) (int, error) {
	<-b.release
	b.n += strings.Count(string(p), "\n")
	return len(p), nil
}
func (b *blocked) Close() error { return nil }

// TestSlowDiskDrops: a file that does not take its lines never holds a
// Write up; what does not fit in the queue is dropped and counted.
func TestSlowDiskDrops(t *testing.T) {
	b := &blocked{release: make(chan struct{})}
	l := newLog("slow", 1, quiet, b)
	const total = QueueLines + 1000
	for range total { // returns although nothing is written
		l.Write(Entry{Status: 200})
	}
	close(b.release)
	l.Close()
	if l.Dropped() == 0 || l.Written()+l.Dropped() != total || int(l.Written()) != b.n {
		t.Errorf("written %d (file got %d), dropped %d, of %d", l.Written(), b.n, l.Dropped(), total)
	}
}

func TestSampling(t *testing.T) {
	for _, c := range []struct {
		sample   float64
		min, max int
	}{{0, 0, 0}, {1, 10000, 10000}, {0.25, 2000, 3000}} {
		l := newLog("-", c.sample, quiet, nopCloser{io.Discard})
		n := 0
		for range 10000 {
			if l.Sampled() {
				n++
			}
		}
		l.Close()
		if n < c.min || n > c.max {
			t.Errorf("sample %v: %d of 10000 sampled, want %d to %d", c.sample, n, c.min, c.max)
		}
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x"), 1.5, quiet); err == nil {
		t.Error("a sample of 1.5 opened")
	}
}

// TestReopen: after logrotate moves the file, Reopen writes to a new one
// at the path.
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	l, err := Open(path, 1, quiet)
	if err != nil {
		t.Fatal(err)
	}
	l.Write(Entry{Status: 201})
	waitWritten(t, l, 1)
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	l.Reopen()
	l.Write(Entry{Status: 202})
	waitWritten(t, l, 2)
	l.Close()
	old, cur := lines(t, path+".1"), lines(t, path)
	if len(old) != 1 || old[0]["status"] != 201.0 || len(cur) != 1 || cur[0]["status"] != 202.0 {
		t.Errorf("rotated file %v, new file %v", old, cur)
	}
}

// waitWritten waits for the writer to have written n lines (it works on
// its own goroutine); the bound only keeps a broken writer from hanging
// the test.
func waitWritten(t *testing.T, l *Log, n uint64) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); l.Written() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines written, want %d", l.Written(), n)
		}
	}
}

// TestEncodeMatchesJSON: the writer's own encoding writes what
// encoding/json writes for an Entry, byte for byte, hard strings included.
func TestEncodeMatchesJSON(t *testing.T) {
	at := time.Date(2026, 12, 5, 22, 0, 0, 123456789, time.FixedZone("x", 3600)).UTC()
	for _, e := range []Entry{
		{},
		{Time: at, ClientIP: "2001:db8::1", Scheme: "https", SNI: "www.example.com", Host: "www.example.com", Method: "GET",
			Path: "/a%20b/c", Proto: "HTTP/2.0", TLSVersion: "TLS 1.3", ALPN: "h2", Resumed: true, Status: 200, Bytes: 1 << 40,
			DurationMS: 0.001, OriginStatus: 503},
		{Time: at, Path: "/\"quote\\back\nline\t<tag>&amp;\x00\x1f", Host: "bücher.example", Method: "\xff\xfe",
			Status: 101, DurationMS: 12345.678},
		{Time: at, DurationMS: 1e21, Bytes: -1},
		{Time: at, DurationMS: 1.5e-7},
		{Time: at, DurationMS: 2e-10},
	} {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendEntry(nil, e); string(got) != string(want) {
			t.Errorf("appendEntry:\n got %s\nwant %s", got, want)
		}
	}
}
