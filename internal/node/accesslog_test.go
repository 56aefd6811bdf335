//go:build unix

package node

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestAccessLogFile: a node started with --access-log writes a line for a
// request to its edge, opens the file again on SIGHUP (after logrotate
// moved it), and writes what is queued when it shuts down.
func TestAccessLogFile(t *testing.T) {
	cfg := testConfig(t)
	cfg.AccessLog = filepath.Join(t.TempDir(), "access.log")
	n, err := Start(context.Background(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	get := func(path string) {
		req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr()+path+"?key=secret", nil)
		req.Host = "nobody.example"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	get("/first")
	waitFor(t, "the first line", func() bool { return n.accessLog.Written() == 1 })
	if err := os.Rename(cfg.AccessLog, cfg.AccessLog+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the file opened again", func() bool { _, err := os.Stat(cfg.AccessLog); return err == nil })
	get("/second")
	stop(t, n)
	for file, path := range map[string]string{cfg.AccessLog + ".1": "/first", cfg.AccessLog: "/second"} {
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		var got []map[string]any
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %q: %v", file, sc.Text(), err)
			}
			got = append(got, m)
		}
		f.Close()
		if len(got) != 1 || got[0]["path"] != path || got[0]["status"] != 404.0 || got[0]["host"] != "nobody.example" {
			t.Errorf("%s holds %v, want one line for %s answered 404", file, got, path)
		}
	}
}
