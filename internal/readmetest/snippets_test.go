package readmetest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/config"
)

// runs says, per language, whether "run" and "serve" apply to its blocks.
var runs = map[string]struct{ run, serve bool }{
	"sh":   {run: true, serve: true},
	"go":   {run: true},
	"js":   {run: true},
	"json": {run: true},
}

// TestREADMESnippets runs the README's code blocks as its markers say (see
// the package doc): every block with a language has a marker, and every
// block marked run or serve works as written.
func TestREADMESnippets(t *testing.T) {
	s := newSandbox(t)
	data, err := os.ReadFile(filepath.Join(s.root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseBlocks(string(data))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	for _, b := range blocks {
		if b.Lang == "" {
			continue // text, such as the layout of the repository
		}
		switch {
		case b.Mode == "":
			t.Errorf("README.md %s: no marker before it: <!-- ci: run -->, <!-- ci: serve --> or <!-- ci: skip: why -->", b)
			continue
		case b.Mode == modeRun && !runs[b.Lang].run, b.Mode == modeServe && !runs[b.Lang].serve:
			t.Errorf("README.md %s: %q does not apply to %s blocks", b, b.Mode, b.Lang)
			continue
		}
		t.Run(fmt.Sprintf("line%d_%s", b.Line, b.Lang), func(t *testing.T) {
			if b.Mode == modeSkip {
				t.Skip(b.Reason)
			}
			s.block(t, b)
		})
	}
}

// block runs one block marked run or serve.
func (s *sandbox) block(t *testing.T, b block) {
	body, dbs := s.rewrite(b.Body)
	if needsPostgres(body) {
		if os.Getenv("ESACERT_TEST_POSTGRES_DSN") == "" {
			t.Skip("skipped: the block uses PostgreSQL on 127.0.0.1:5432; set ESACERT_TEST_POSTGRES_DSN (see \"Test it\")")
		}
		dropAfter(t, dbs)
	}
	dir := s.dir(t)
	out := &output{}
	switch {
	case b.Lang == "json":
		// A configuration file: esacert serve --config FILE must accept it.
		file := filepath.Join(dir, "esacert.json")
		if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		getenv := func(k string) string {
			if k == "ESACERT_DATA" {
				return filepath.Join(dir, "esacert-data")
			}
			return ""
		}
		if _, err := config.Load("esacert serve", []string{"--config", file}, getenv, io.Discard); err != nil {
			t.Fatalf("esacert serve --config refuses it: %v", err)
		}
	case b.Mode == modeServe:
		s.serve(t, dir, s.env(), body)
	case b.Lang == "sh":
		if strings.Contains(body, "./esacert ") && !strings.Contains(body, "go build -o esacert") {
			s.esacert(t, dir)
		}
		env := s.env(keyEnv(s.startNode(t, dir))...)
		run(t, command(dir, env, out, "bash", "-c", "set -euo pipefail\n"+body), out)
	case b.Lang == "go":
		// A whole program, compiled against this module's go.mod.
		if err := os.Mkdir(filepath.Join(dir, "snippet"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "snippet", "main.go"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		env := s.env(keyEnv(s.startNode(t, dir))...)
		run(t, command(dir, env, out, "go", "run", "./snippet"), out)
	case b.Lang == "js":
		modules := s.nodeClients(t)
		if err := os.Symlink(modules, filepath.Join(dir, "node_modules")); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "snippet.js"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := exec.LookPath("node"); err != nil {
			t.Fatal(err)
		}
		env := s.env(keyEnv(s.startNode(t, dir))...)
		run(t, command(dir, env, out, "node", "snippet.js"), out)
	}
}
