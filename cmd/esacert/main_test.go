package main

import (
	"bytes"
	"crypto/tls"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/freeport"
)

// buildBinary builds esacert once for the tests of this package.
var buildBinary = sync.OnceValues(func() (string, error) {
	// The build reads the module's sources in a subprocess, which go test's
	// cache cannot see: opening them here makes any change to them rerun
	// this package's tests instead of replaying a cached pass.
	filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".sql") ||
			d.Name() == "go.mod" || d.Name() == "go.sum") {
			if f, err := os.Open(path); err == nil {
				f.Close()
			}
		}
		return nil
	})
	dir, err := os.MkdirTemp("", "esacert-bin")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "esacert")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		return "", &buildError{out}
	}
	return bin, nil
})

type buildError struct{ out []byte }

func (e *buildError) Error() string { return "go build: " + string(e.out) }

func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// syncBuffer is a bytes.Buffer safe to write from the process's pipe.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// startServe starts "esacert serve" as a user would, and waits until it answers.
func startServe(t *testing.T, env []string, args ...string) (addr string, logs *syncBuffer, stop func() error) {
	t.Helper()
	addr, logs, stop, _ = startServeProc(t, env, args...)
	return addr, logs, stop
}

// startServeProc is startServe that also returns the process, for tests
// that kill it.
func startServeProc(t *testing.T, env []string, args ...string) (addr string, logs *syncBuffer, stop func() error, proc *os.Process) {
	t.Helper()
	bin, err := buildBinary()
	if err != nil {
		t.Fatal(err)
	}
	addr = freeAddr(t)
	cmd := exec.Command(bin, append([]string{"serve", "--api-addr", addr, "--https-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	logs = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stop = sync.OnceValue(func() error {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			return err
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			return <-done
		}
	})
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(20 * time.Second)
	health, hc := "http://"+addr+"/healthz", http.DefaultClient
	if slices.Contains(args, "--api-tls-cert") {
		health = "https://" + addr + "/healthz"
		hc = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	for {
		resp, err := hc.Get(health)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return addr, logs, stop, cmd.Process
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("esacert did not answer within 20s; it logged:\n%s", logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func listSites(t *testing.T, addr string, key accesskey.Key) (map[string]any, error) {
	t.Helper()
	return callAPI(addr, key.ID, key.Secret, "GET", "ListSites", nil)
}

// callAPI sends one RPC-signed ESA request and returns what the client
// answers.
func callAPI(addr, id, secret, method, action string, query map[string]string) (map[string]any, error) {
	c, err := openapi.NewClient(&openapiutil.Config{AccessKeyId: tea.String(id), AccessKeySecret: tea.String(secret),
		Endpoint: tea.String(addr), Protocol: tea.String("http")})
	if err != nil {
		return nil, err
	}
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	return c.CallApi(&openapiutil.Params{Action: tea.String(action), Version: tea.String("2024-09-10"),
		Protocol: tea.String("HTTP"), Pathname: tea.String("/"), Method: tea.String(method), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json")},
		&openapiutil.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
}

// TestServeFirstStart is the newcomer's path: esacert serve with nothing but
// a data directory creates the root key, logs where it is (never the
// secret), answers clients signed with it, and stops cleanly on SIGTERM.
func TestServeFirstStart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	addr, logs, stop := startServe(t, nil, "--data", data)
	keyFile := filepath.Join(data, "root-access-key")
	st, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("no root access key file: %v", err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("root-access-key mode %v, want 0600", st.Mode().Perm())
	}
	key, err := accesskey.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := listSites(t, addr, key); err != nil {
		t.Fatalf("ListSites with the root key: %v", err)
	}
	if err := stop(); err != nil {
		t.Fatalf("esacert did not exit cleanly on SIGTERM: %v\n%s", err, logs)
	}
	out := logs.String()
	if !strings.Contains(out, keyFile) {
		t.Errorf("the log does not say where the root key is:\n%s", out)
	}
	if strings.Contains(out, key.Secret) {
		t.Errorf("the log shows the root key's secret:\n%s", out)
	}
	// A second start keeps the key.
	addr, _, _ = startServe(t, nil, "--data", data)
	if _, err := listSites(t, addr, key); err != nil {
		t.Fatalf("ListSites after a restart: %v", err)
	}
}

// TestServeKeyFromEnvironment: with the key in the environment, that key
// works from the first request and no key file is written.
func TestServeKeyFromEnvironment(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	key := accesskey.Key{ID: "LTAIoperatorchosenkey1", Secret: "operator-chosen-secret-123456"}
	addr, _, _ := startServe(t, []string{"ESACERT_ACCESS_KEY_ID=" + key.ID, "ESACERT_ACCESS_KEY_SECRET=" + key.Secret}, "--data", data)
	if _, err := listSites(t, addr, key); err != nil {
		t.Fatalf("ListSites with the environment's key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "root-access-key")); !os.IsNotExist(err) {
		t.Errorf("a key file was written although the key came from the environment")
	}
}

func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"fail/no_command", nil, 2, "usage"},
		{"fail/unknown_command", []string{"frobnicate"}, 2, "unknown command"},
		{"fail/unknown_flag", []string{"serve", "--nope"}, 2, "nope"},
		{"fail/bad_config", []string{"serve", "--default-plan", "gold"}, 2, "--default-plan"},
		{"ok/version", []string{"version"}, 0, "esacert"},
		{"ok/help", []string{"serve", "-h"}, 0, "-api-addr"},
		{"ok/api_help", []string{"api", "--help"}, 0, "ESA (--Version 2024-09-10)"},
		{"ok/certs_help", []string{"certs", "-h"}, 0, "expired ones first"},
		{"ok/usage_lists_api", []string{"help"}, 0, "esacert api --help"},
		{"fail/certs_arguments", []string{"certs", "extra"}, 2, "unexpected arguments: extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, func(string) string { return "" }, &out, &errOut)
			if code != tt.code {
				t.Errorf("exit code %d, want %d", code, tt.code)
			}
			if !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Errorf("output does not mention %q:\n%s%s", tt.want, out.String(), errOut.String())
			}
		})
	}
}
