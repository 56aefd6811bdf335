package readmetest

import (
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/config"
)

// CI's machine has no Docker engine and does not run systemd, so the
// Dockerfile and the unit are checked as files: what they configure must be
// settings esacert reads and accepts, and the unit must pass systemd's own
// check where systemd-analyze is installed.

var envNameRe = regexp.MustCompile(`\bESACERT_[A-Z0-9_]+\b`)

// documentedSettings are the environment variables of the README's
// configuration table.
func documentedSettings(t *testing.T, root string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range strings.Split(string(data), "\n") {
		if cells := strings.Split(l, "|"); len(cells) > 3 && strings.HasPrefix(l, "|") {
			names = append(names, envNameRe.FindAllString(cells[2], -1)...)
		}
	}
	if len(names) < 20 {
		t.Fatalf("found %d settings in the README's configuration table; is it still there?", len(names))
	}
	return names
}

// dockerfile is the Dockerfile's instructions of the final stage, each
// joined across its continuation lines.
func dockerfile(t *testing.T, root string) [][]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]string
	cur := ""
	for _, l := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "#") {
			continue
		}
		cur += strings.TrimSuffix(l, "\\") + " "
		if strings.HasSuffix(l, "\\") {
			continue
		}
		if f := strings.Fields(cur); len(f) > 0 {
			if strings.EqualFold(f[0], "FROM") {
				out = nil // only the last stage is the image
			}
			out = append(out, f)
		}
		cur = ""
	}
	return out
}

func TestDockerfile(t *testing.T) {
	root := repoRoot(t)
	known := documentedSettings(t, root)
	env := map[string]string{}
	var exposed []string
	var volume, user string
	for _, ins := range dockerfile(t, root) {
		switch strings.ToUpper(ins[0]) {
		case "ENV":
			for _, kv := range ins[1:] {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = v
			}
		case "EXPOSE":
			exposed = append(exposed, ins[1:]...)
		case "VOLUME":
			volume = strings.Trim(strings.Join(ins[1:], ""), `[]"`)
		case "USER":
			user = ins[1]
		}
	}
	for k := range env {
		if !slices.Contains(known, k) {
			t.Errorf("the Dockerfile sets %s, which is not in the README's configuration table", k)
		}
	}
	cfg, err := config.Load("esacert serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("esacert serve refuses the image's settings: %v", err)
	}
	if volume == "" || filepath.Clean(cfg.DataDir) != volume {
		t.Errorf("the data directory is %q, the volume %q: they must be one", cfg.DataDir, volume)
	}
	host, _, _ := net.SplitHostPort(cfg.APIAddr)
	if host != "0.0.0.0" && host != "" && host != "::" {
		t.Errorf("the API listens on %s in the container: a published port reaches only every-address listeners", cfg.APIAddr)
	}
	for _, addr := range []string{cfg.APIAddr, cfg.HTTPSAddr, cfg.HTTPAddr} {
		_, port, _ := net.SplitHostPort(addr)
		if !slices.Contains(exposed, port) {
			t.Errorf("%s is not exposed (EXPOSE %v)", addr, exposed)
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("the image runs as %q, want an unprivileged user", user)
	}
}

// unitEnv is what a unit's Environment= lines set.
func unitEnv(unit string) map[string]string {
	env := map[string]string{}
	for _, l := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Environment="); ok {
			for _, kv := range strings.Fields(v) {
				k, v, _ := strings.Cut(kv, "=")
				env[k] = strings.ReplaceAll(v, "%S", "/var/lib")
			}
		}
	}
	return env
}

func TestSystemdUnit(t *testing.T) {
	root := repoRoot(t)
	path := filepath.Join(root, "deploy", "systemd", "esacert.service")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(data)
	known := documentedSettings(t, root)
	env := unitEnv(unit)
	for k := range env {
		if !slices.Contains(known, k) {
			t.Errorf("the unit sets %s, which is not in the README's configuration table", k)
		}
	}
	cfg, err := config.Load("esacert serve", nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatalf("esacert serve refuses the unit's settings: %v", err)
	}
	if cfg.DataDir != "/var/lib/esacert" || !strings.Contains(unit, "\nStateDirectory=esacert\n") {
		t.Errorf("the data directory is %s; want the unit's StateDirectory, /var/lib/esacert", cfg.DataDir)
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit's syntax is not checked")
	}
	// verify also checks that ExecStart's program exists: stand this test's
	// own binary in for esacert.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/esacert serve") {
		t.Fatal("the unit's ExecStart is not /usr/local/bin/esacert serve")
	}
	copyPath := filepath.Join(t.TempDir(), "esacert.service")
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(unit, "/usr/local/bin/esacert", self)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(analyze, "verify", copyPath).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
