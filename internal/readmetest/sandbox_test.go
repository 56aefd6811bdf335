package readmetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/freeport"
	"github.com/esacert/esacert/internal/node"
)

// readmePorts are the ports the README's walkthroughs use: esacert's, and
// their origins' (openssl s_server). The test moves each to a free port, in
// the blocks it runs (":PORT", and --OriginHttpPort / --OriginHttpsPort
// PORT) and in the defaults it gives them, so that it runs beside anything
// else on the machine, another run of itself included.
var readmePorts = []string{"8787", "8788", "8443", "8080", "9443", "9080", "3443", "4443", "5443"}

// sandbox is what every block of one README run shares.
type sandbox struct {
	root  string            // the repository
	work  string            // the directory the blocks run in, one after the other
	ports map[string]string // README port → free port
	bin   string            // esacert built from the module, once a block needs it
	tmp   string            // where the test keeps what outlives one block
}

// moduleFiles are what a block's directory holds of the repository.
var moduleFiles = []string{"go.mod", "go.sum", "cmd", "internal"}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	s := &sandbox{root: repoRoot(t), work: t.TempDir(), tmp: t.TempDir(), ports: map[string]string{}}
	for _, name := range moduleFiles {
		if err := os.Symlink(filepath.Join(s.root, name), filepath.Join(s.work, name)); err != nil {
			t.Fatal(err)
		}
	}
	var ls []net.Listener
	for _, p := range readmePorts {
		l, err := freeport.Listen() // below the ephemeral ports: no connection takes one before the blocks bind it
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		_, s.ports[p], _ = net.SplitHostPort(l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return s
}

// addr is the loopback address standing for a README port.
func (s *sandbox) addr(port string) string { return "127.0.0.1:" + s.ports[port] }

// dir is the directory a block runs in, emptied of what the block before it
// left: it holds the module, as a clone of the repository does, so "go run
// ./cmd/esacert" works there as written. It is the same directory for every
// block, so that the go command builds esacert there once, not per block.
func (s *sandbox) dir(t *testing.T) string {
	t.Helper()
	entries, err := os.ReadDir(s.work)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !slices.Contains(moduleFiles, e.Name()) {
			if err := os.RemoveAll(filepath.Join(s.work, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	return s.work
}

// esacert puts the binary that "go build -o esacert ./cmd/esacert" makes
// into dir, for a block that runs ./esacert without building it (as the
// README's "Command line" builds it). It is built once per test run.
func (s *sandbox) esacert(t *testing.T, dir string) {
	t.Helper()
	if s.bin == "" {
		bin := filepath.Join(s.tmp, "esacert")
		out := &output{}
		run(t, command(s.work, s.env(), out, "go", "build", "-o", bin, "./cmd/esacert"), out)
		s.bin = bin
	}
	data, err := os.ReadFile(s.bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "esacert"), data, 0o755); err != nil {
		t.Fatal(err)
	}
}

// env is the environment of a block: the test's own, without any ESACERT_
// setting of the machine's, with the README's default addresses moved to
// the free ports, and extra.
func (s *sandbox) env(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ESACERT_") {
			env = append(env, kv)
		}
	}
	env = append(env, "ESACERT_API_ADDR="+s.addr("8787"), "ESACERT_HTTPS_ADDR="+s.addr("8443"),
		"ESACERT_HTTP_ADDR="+s.addr("8080"))
	// The blocks' directory changes from run to run; -trimpath keeps it out
	// of what the go command caches, so that esacert is compiled there once
	// per change of its sources, not once per run of this test.
	env = append(env, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -trimpath"))
	return append(env, extra...)
}

var (
	portRe       = regexp.MustCompile(`:(\d{4,5})\b`)
	originPortRe = regexp.MustCompile(`(--OriginHttps?Port[ =])(\d{4,5})\b`)
	createdbRe   = regexp.MustCompile(`(?m)^(\s*createdb\b.*\s)([A-Za-z_][A-Za-z0-9_]*)(\s*)$`)
)

// rewrite moves a block's README ports to the free ones, and gives each
// database it creates (createdb NAME, and NAME in its DSNs) a unique name.
// It returns the new body and the databases' new names.
func (s *sandbox) rewrite(body string) (string, []string) {
	body = portRe.ReplaceAllStringFunc(body, func(m string) string {
		if p, ok := s.ports[m[1:]]; ok {
			return ":" + p
		}
		return m
	})
	body = originPortRe.ReplaceAllStringFunc(body, func(m string) string {
		sub := originPortRe.FindStringSubmatch(m)
		if p, ok := s.ports[sub[2]]; ok {
			return sub[1] + p
		}
		return m
	})
	var dbs []string
	for _, m := range createdbRe.FindAllStringSubmatch(body, -1) {
		name := m[2]
		suffix := make([]byte, 4)
		rand.Read(suffix)
		unique := name + "_readme_" + hex.EncodeToString(suffix)
		body = strings.ReplaceAll(body, m[0], m[1]+unique+m[3])
		body = strings.ReplaceAll(body, ":5432/"+name+"?", ":5432/"+unique+"?")
		dbs = append(dbs, unique)
	}
	return body, dbs
}

// needsPostgres reports whether a block creates or uses a PostgreSQL
// database; such a block runs only where ESACERT_TEST_POSTGRES_DSN is set.
func needsPostgres(body string) bool {
	return strings.Contains(body, "createdb") || strings.Contains(body, "postgres://")
}

// dropAfter drops the databases a block created when the test ends.
func dropAfter(t *testing.T, dbs []string) {
	t.Cleanup(func() {
		for _, db := range dbs {
			out, err := exec.Command("dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", "--force", db).CombinedOutput()
			if err != nil {
				t.Errorf("dropdb %s: %v\n%s", db, err, out)
			}
		}
	})
}

// startNode starts a node in dir as "Run it" does (./esacert-data, the
// README's default addresses), with flags laid over that (a --data relative
// to dir), and returns its root key, read from the key file that the README
// sources.
func (s *sandbox) startNode(t *testing.T, dir string, flags []string) accesskey.Key {
	t.Helper()
	flags = slices.Clone(flags)
	for i, f := range flags {
		switch {
		case (f == "--data" || f == "-data") && i+1 < len(flags) && !filepath.IsAbs(flags[i+1]):
			flags[i+1] = filepath.Join(dir, flags[i+1])
		case strings.HasPrefix(f, "--data=") && !filepath.IsAbs(strings.TrimPrefix(f, "--data=")):
			flags[i] = "--data=" + filepath.Join(dir, strings.TrimPrefix(f, "--data="))
		}
	}
	env := map[string]string{
		"ESACERT_DATA":       filepath.Join(dir, "esacert-data"),
		"ESACERT_API_ADDR":   s.addr("8787"),
		"ESACERT_HTTPS_ADDR": s.addr("8443"),
		"ESACERT_HTTP_ADDR":  s.addr("8080"),
	}
	cfg, err := config.Load("esacert serve", flags, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("esacert serve %s: %v", strings.Join(flags, " "), err)
	}
	logs := &output{}
	n, err := node.Start(t.Context(), cfg, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatalf("the node did not start: %v\n%s", err, logs.tail())
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		n.Shutdown(ctx)
		if t.Failed() {
			t.Logf("the node's log:\n%s", logs.tail())
		}
	})
	key, err := accesskey.Load(filepath.Join(cfg.DataDir, node.RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// output collects what processes print, safe for concurrent use.
type output struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.Write(p)
}

// tail is the last 16 KiB printed.
func (o *output) tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf.Bytes()
	if len(b) > 16<<10 {
		return "…" + string(b[len(b)-16<<10:])
	}
	return string(b)
}

// command is name args in dir with env, in a process group of its own so
// that whatever it starts can be stopped with it.
func command(dir string, env []string, out *output, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

// run runs a command to its end; it fails the test unless it succeeds.
// Anything it left running is killed: a process it started in the
// background and did not stop (an origin of a walkthrough whose check
// failed) holds its output open, and is given 2 s to end before that is
// closed. A command that succeeds but leaves a process running fails too.
func run(t *testing.T, cmd *exec.Cmd, out *output) {
	t.Helper()
	cmd.WaitDelay = 2 * time.Second
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		err = errors.New("it ended but left a process running, which held its output open (killed)")
	}
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out.tail())
	}
	t.Logf("%s", out.tail())
}

var (
	apiAddrRe  = regexp.MustCompile(`--api-addr[ =](\S+)`)
	edgeAddrRe = regexp.MustCompile(`--https?-addr[ =](\S+)`)
)

// listeners are the addresses a serve block's nodes listen on: those its
// flags name, or the defaults of a node started without them.
func (s *sandbox) listeners(body string) (apis, edges []string) {
	loopback := func(a string) string {
		if strings.HasPrefix(a, ":") {
			return "127.0.0.1" + a
		}
		return a
	}
	for _, m := range apiAddrRe.FindAllStringSubmatch(body, -1) {
		apis = append(apis, loopback(m[1]))
	}
	for _, m := range edgeAddrRe.FindAllStringSubmatch(body, -1) {
		edges = append(edges, loopback(m[1]))
	}
	if len(apis) == 0 && len(edges) == 0 {
		apis, edges = []string{s.addr("8787")}, []string{s.addr("8443"), s.addr("8080")}
	}
	return apis, edges
}

// up reports whether every API answers /healthz with "ok" and every edge
// accepts a connection.
func up(apis, edges []string) bool {
	client := &http.Client{Timeout: 2 * time.Second}
	for _, a := range apis {
		resp, err := client.Get("http://" + a + "/healthz")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
			return false
		}
	}
	for _, a := range edges {
		c, err := net.DialTimeout("tcp", a, 2*time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// serve runs a block that starts nodes (in the foreground, or in the
// background with &) until all of them answer, then stops them with SIGINT,
// as a person would with Ctrl-C, and waits until they have stopped. The
// bash around the block waits for its background jobs, so that none is
// left behind.
func (s *sandbox) serve(t *testing.T, dir string, env []string, body string) {
	t.Helper()
	out := &output{}
	script := "set -euo pipefail\ntrap wait INT TERM\n" + body + "\nwait\n"
	cmd := command(dir, env, out, "bash", "-c", script)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop := func() error {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGINT)
		select {
		case <-done:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // nothing should be left; make sure
			return nil
		case <-time.After(time.Minute):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
			return errors.New("the block's processes did not stop within a minute of SIGINT")
		}
	}
	apis, edges := s.listeners(body)
	// The bound only keeps a broken block from hanging the suite: the first
	// build of esacert takes minutes on a slow machine.
	deadline := time.Now().Add(10 * time.Minute)
	for !up(apis, edges) {
		select {
		case err := <-done:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatalf("the block ended (%v) before its nodes answered (APIs %v, edges %v)\n%s", err, apis, edges, out.tail())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("its nodes did not answer (APIs %v, edges %v)\n%s", apis, edges, out.tail())
		}
	}
	t.Logf("serving: APIs %v answer /healthz, edges %v accept connections", apis, edges)
	if err := stop(); err != nil {
		t.Errorf("%v\n%s", err, out.tail())
	}
}

// nodeClients is where the Node.js clients of the end-to-end tests are
// installed (npm ci --prefix internal/clienttest/node).
func (s *sandbox) nodeClients(t *testing.T) string {
	t.Helper()
	modules := filepath.Join(s.root, "internal", "clienttest", "node", "node_modules")
	missing := func(why string) {
		if os.Getenv("ESACERT_REQUIRE_NODE_CLIENTS") == "1" {
			t.Fatalf("Node.js clients required but unavailable: %s", why)
		}
		t.Skipf("skipped: %s (run: npm ci --prefix internal/clienttest/node)", why)
	}
	if _, err := exec.LookPath("node"); err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(modules, "@alicloud", "esa20240910")); err != nil {
		missing("the npm packages are not installed")
	}
	return modules
}

// keyEnv is the root key as the README's key file sets it.
func keyEnv(k accesskey.Key) []string {
	return []string{"ESACERT_ACCESS_KEY_ID=" + k.ID, "ESACERT_ACCESS_KEY_SECRET=" + k.Secret}
}
