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
	// The node a run block runs against is started with the flags of the
	// serve block before it in its section, when that block starts one node.
	var flags []string
	section := ""
	for _, b := range blocks {
		if b.Section != section {
			flags, section = nil, b.Section
		}
		if b.Mode == modeServe {
			body, _ := s.rewrite(b.Body)
			flags = serveFlags(body)
		}
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
			s.block(t, b, flags)
		})
	}
}

// block runs one block marked run or serve; a run block's node is started
// with flags.
func (s *sandbox) block(t *testing.T, b block, flags []string) {
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
		env := s.env(keyEnv(s.startNode(t, dir, flags))...)
		run(t, command(dir, env, out, "bash", "-c", "set -euo pipefail\n"+body), out)
	case b.Lang == "go":
		// A whole program, compiled against this module's go.mod.
		if err := os.Mkdir(filepath.Join(dir, "snippet"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "snippet", "main.go"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		env := s.env(keyEnv(s.startNode(t, dir, flags))...)
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
		env := s.env(keyEnv(s.startNode(t, dir, flags))...)
		run(t, command(dir, env, out, "node", "snippet.js"), out)
	}
}

// serveFlags are the flags of the node a serve block starts with "esacert
// serve FLAGS" (go run ./cmd/esacert serve, or ./esacert serve), when it
// starts one; nil when it starts none or several.
func serveFlags(body string) []string {
	var cmds [][]string
	for _, line := range strings.Split(strings.ReplaceAll(body, "\\\n", " "), "\n") {
		words := strings.Fields(line)
		for i := 0; i+1 < len(words); i++ {
			if strings.HasSuffix(words[i], "esacert") && words[i+1] == "serve" {
				var flags []string
				for _, w := range words[i+2:] {
					if w == "&" || w == ";" || w == "|" || strings.HasPrefix(w, "#") {
						break
					}
					flags = append(flags, strings.Trim(w, `'"`))
				}
				cmds = append(cmds, flags)
				break
			}
		}
	}
	if len(cmds) != 1 {
		return nil
	}
	return cmds[0]
}

func TestServeFlags(t *testing.T) {
	for _, c := range []struct {
		body string
		want []string
	}{
		{"go run ./cmd/esacert serve\n", nil},
		{"go run ./cmd/esacert serve --data ./d --private-origins 127.0.0.1/32 \\\n  --api-addr 127.0.0.1:8788   # a comment\n",
			[]string{"--data", "./d", "--private-origins", "127.0.0.1/32", "--api-addr", "127.0.0.1:8788"}},
		{"./esacert serve --roles api --data ./api1 &\n./esacert serve --roles edge --data ./edge1 &\n", nil}, // several nodes
		{"echo no node\n", nil},
	} {
		if got := serveFlags(c.body); strings.Join(got, " ") != strings.Join(c.want, " ") {
			t.Errorf("serveFlags(%q) = %q, want %q", c.body, got, c.want)
		}
	}
}
