package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/storetest"
)

// fakeClock advances by step at each reading.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) now() time.Time { c.t = c.t.Add(c.step); return c.t }

// TestMeterPlainLines: away from a terminal, a step writes a line when it
// starts, at each tenth and at its end, with the rate once a second has
// passed; a log line written meanwhile stays whole.
func TestMeterPlainLines(t *testing.T) {
	var out bytes.Buffer
	m := newMeter(&out, false, map[string]string{"copy": "rows"})
	clk := &fakeClock{t: time.Unix(0, 0), step: 10 * time.Millisecond}
	m.now = clk.now
	for i := 0; i <= 1000; i++ {
		m.Update("copy", i, 1000)
	}
	fmt.Fprintln(m.Writer(), `{"msg":"a log line"}`)
	m.Update("check", 0, 0)
	m.Finish()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	// Each reading of the clock is 10ms on: a row every 10ms is 100 rows/s.
	want := []string{"copy  0/1,000 rows  0%", "copy  100/1,000 rows  10%  100 rows/s", "copy  200/1,000 rows  20%  100 rows/s"}
	if len(lines) != 13 {
		t.Fatalf("got %d lines, want 11 for copy, the log line and one for check:\n%s", len(lines), out.String())
	}
	for i, w := range want {
		if lines[i] != w {
			t.Errorf("line %d: got %q, want %q", i, lines[i], w)
		}
	}
	if lines[10] != "copy  1,000/1,000 rows  100%  100 rows/s" || lines[11] != `{"msg":"a log line"}` || lines[12] != "check  0/0 items" {
		t.Errorf("the end:\n%s", strings.Join(lines[10:], "\n"))
	}
	if strings.Contains(out.String(), "\r") {
		t.Error("a plain log has carriage returns")
	}
}

// TestMeterTerminal: on a terminal, one line per step is redrawn in place
// at most every 100ms (and at the end), and a log line or the next step
// starts on a line of its own.
func TestMeterTerminal(t *testing.T) {
	var out bytes.Buffer
	m := newMeter(&out, true, map[string]string{"reseal": "keys"})
	clk := &fakeClock{t: time.Unix(0, 0), step: 30 * time.Millisecond}
	m.now = clk.now
	for i := 0; i <= 20; i++ {
		m.Update("reseal", i, 20)
	}
	fmt.Fprintln(m.Writer(), "resealed")
	m.Finish()
	got := out.String()
	draws := strings.Count(got, "\r\x1b[K")
	if draws < 5 || draws > 8 {
		t.Errorf("%d redraws for 21 updates 30ms apart, want one per 100ms and the last:\n%q", draws, got)
	}
	if !strings.HasSuffix(got, "\r\x1b[Kreseal  20/20 keys  100%\nresealed\n") {
		t.Errorf("the end of the output: %q", got[max(0, len(got)-80):])
	}
}

func TestGroup(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -12345: "-12,345"} {
		if got := group(n); got != want {
			t.Errorf("group(%d) = %q, want %q", n, got, want)
		}
	}
}

// seedNode starts a node on data, uploads one certificate through esacert
// api and stops the node: a database with one sealed key.
func seedNode(t *testing.T, data string) {
	t.Helper()
	addr, logs, stop := startServe(t, nil, "--data", data)
	env := map[string]string{"ESACERT_DATA": data, "ESACERT_API_ADDR": addr}
	site := answer(t, env, "api", "CreateSite", "--SiteName", "progress.com")["SiteId"].(json.Number).String()
	now := time.Now()
	ca := pkitest.NewCA(t, "Progress Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.progress.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	answer(t, env, "api", "SetCertificate", "--SiteId", site, "--Type", "upload",
		"--Certificate", "@"+writeFile(t, "c.pem", leaf.ChainPEM, 0o600), "--PrivateKey", "@"+writeFile(t, "k.pem", leaf.KeyPEM, 0o600))
	if err := stop(); err != nil {
		t.Fatalf("the node did not stop cleanly: %v\n%s", err, logs)
	}
}

// TestRotateShowsProgress: rotate-master-key, away from a terminal, writes
// the reseal's progress as plain lines on stderr, between its log lines,
// and its result on stdout.
func TestRotateShowsProgress(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	seedNode(t, data)
	code, out, errOut := cli(map[string]string{"ESACERT_DATA": data, "ESACERT_LOG_FORMAT": "text"}, "rotate-master-key")
	if code != 0 {
		t.Fatalf("rotate-master-key: exit %d\n%s", code, errOut)
	}
	if !strings.HasPrefix(out, "resealed 2 private keys") { // the certificate's and the edge's ticket key
		t.Errorf("stdout:\n%s", out)
	}
	lines := strings.Split(errOut, "\n")
	i := slices.Index(lines, "reseal  0/2 keys  0%")
	if i < 0 || i+3 >= len(lines) || lines[i+1] != "reseal  1/2 keys  50%" || lines[i+2] != "reseal  2/2 keys  100%" ||
		!strings.Contains(lines[i+3], "resealed every private key") {
		t.Errorf("stderr does not show the reseal's progress, then the log line:\n%s", errOut)
	}
}

// TestMigrateShowsProgress: migrate writes the copy's and the check's
// progress on stderr, and the tables it copied on stdout.
func TestMigrateShowsProgress(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	data := filepath.Join(t.TempDir(), "data")
	seedNode(t, data)
	code, out, errOut := cli(map[string]string{"ESACERT_DATA": data}, "migrate", "--to", dsn)
	if code != 0 {
		t.Fatalf("migrate: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "certificates            1 rows  sha256 ") || strings.Contains(out, "copy  ") {
		t.Errorf("stdout:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(errOut), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "copy  0/") || !strings.HasPrefix(lines[len(lines)-1], "check  ") ||
		!strings.Contains(lines[len(lines)-1], " rows  100%") {
		t.Fatalf("stderr:\n%s", errOut)
	}
	copied := strings.Fields(lines[0])[1] // 0/N
	total := strings.TrimPrefix(copied, "0/")
	if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, "copy  "+total+"/"+total+" rows  100%") }) {
		t.Errorf("the copy never reached %s of %s rows:\n%s", total, total, errOut)
	}
}
