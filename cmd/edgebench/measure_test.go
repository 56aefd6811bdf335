package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestProfiled: a profiled measurement writes esacert's CPU, allocations
// and heap, and the paired bare server's CPU and allocations, each fetched
// from its own server over the measurement's length (twice the duration and
// 3 s in turns); a server that answers an error leaves no file and is
// reported, not fatal.
func TestProfiled(t *testing.T) {
	serve := func() *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(r.URL.RequestURI()))
		}))
	}
	node, bare := serve(), serve()
	defer node.Close()
	defer bare.Close()
	dir := t.TempDir()
	m := &measurer{o: options{duration: 2 * time.Second, profile: dir}, pprof: node.URL + "/debug/pprof",
		paired: "127.0.0.1:1", pairedPprof: bare.URL + "/debug/pprof"}
	ran := false
	m.profiled("esacert-full", func() { ran = true })
	if !ran {
		t.Fatal("the measurement did not run")
	}
	for file, want := range map[string]string{
		"esacert-full.pprof":        "/debug/pprof/profile?seconds=7",
		"esacert-full.allocs.pprof": "/debug/pprof/allocs?seconds=7",
		"esacert-full.heap.pprof":   "/debug/pprof/heap?gc=1",
		"bare-full.pprof":           "/debug/pprof/profile?seconds=7",
		"bare-full.allocs.pprof":    "/debug/pprof/allocs?seconds=7",
	} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Errorf("%s: %v", file, err)
			continue
		}
		if string(b) != want {
			t.Errorf("%s holds %q, want %q", file, b, want)
		}
	}

	// Without a paired server: esacert's alone. A failing server: no file.
	dir = t.TempDir()
	failing := httptest.NewServer(http.NotFoundHandler())
	defer failing.Close()
	m = &measurer{o: options{duration: time.Second, profile: dir}, pprof: failing.URL + "/debug/pprof",
		pairedPprof: bare.URL + "/debug/pprof"}
	m.profiled("esacert-resumed-TLS1.2", func() {})
	if files, _ := os.ReadDir(dir); len(files) != 0 {
		t.Fatalf("files written from a server answering 404, or for a bare server not paired: %v", files)
	}
}

// TestInTurns: the measured server and the bare one take -turns turns
// each, alternately and the measured first, each a -turns-th of the
// duration; the results are summed per server.
func TestInTurns(t *testing.T) {
	m := &measurer{o: options{duration: 10 * time.Second, turns: 5}}
	var order []string
	load := func(who string) func(time.Duration) result {
		return func(d time.Duration) result {
			if d != 2*time.Second {
				t.Errorf("%s's turn lasts %v, want 2s", who, d)
			}
			order = append(order, who)
			return result{Conns: 1, Elapsed: d}
		}
	}
	server, paired := m.inTurns(load("server"), load("bare"))
	if got := strings.Join(order, ","); got != "server,bare,server,bare,server,bare,server,bare,server,bare" {
		t.Errorf("turns in the order %s", got)
	}
	if server.Conns != 5 || paired.Conns != 5 || server.Elapsed != 10*time.Second || paired.Elapsed != 10*time.Second {
		t.Errorf("sums: server %+v, bare %+v; want 5 connections and 10s each", server, paired)
	}
}
