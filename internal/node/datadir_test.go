package node

import (
	"bufio"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/store/storetest"
)

// startAt starts a node on cfg with fresh listeners and stops it when the
// test ends.
func startAt(t *testing.T, cfg config.Config) *Node {
	t.Helper()
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	return n
}

// TestSecondNodeOnADataDirFails: while a node runs, another Start on its
// data directory fails at once, says that the directory is in use and by
// which process, and leaves the running node alone; once the first node has
// stopped, the directory can be taken again.
func TestSecondNodeOnADataDirFails(t *testing.T) {
	cfg := testConfig(t)
	first := startAt(t, cfg)
	second, err := Start(t.Context(), cfg, quiet)
	if err == nil {
		second.Shutdown(context.Background())
		t.Fatal("a second node started on the same data directory")
	}
	if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("the second start = %v, want ErrDataDirInUse naming process %d", err, os.Getpid())
	}
	if got, _ := os.ReadFile(filepath.Join(cfg.DataDir, LockFile)); strings.TrimSpace(string(got)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("the lock file holds %q after the refused start, want the running node's process id", got)
	}
	call(t, first, "2024-09-10", "ListSites", nil) // the first node is untouched
	stop(t, first)
	startAt(t, cfg)
}

// TestDataDirLockAcrossProcesses: a lock held by another process refuses
// a start and names that process; when the process dies (SIGKILL, so it
// cleans nothing up) the file it leaves behind blocks nothing.
func TestDataDirLockAcrossProcesses(t *testing.T) {
	cfg := testConfig(t)
	holder := exec.Command(os.Args[0], "-test.run=^TestLockHolderProcess$")
	holder.Env = append(os.Environ(), "ESACERT_TEST_LOCK_DIR="+cfg.DataDir)
	out, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	ready := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			if pid, ok := strings.CutPrefix(s.Text(), "holding "); ok {
				ready <- pid
			}
		}
		close(ready)
	}()
	var pid string
	select {
	case pid = <-ready:
	case <-time.After(60 * time.Second):
		t.Fatal("the holder process did not take the lock")
	}
	if pid != strconv.Itoa(holder.Process.Pid) {
		t.Fatalf("the holder says it is %s, its process is %d", pid, holder.Process.Pid)
	}
	if n, err := Start(t.Context(), cfg, quiet); err == nil {
		n.Shutdown(context.Background())
		t.Fatal("a node started on a data directory another process holds")
	} else if !errors.Is(err, ErrDataDirInUse) || !strings.Contains(err.Error(), "process "+pid) {
		t.Fatalf("Start = %v, want ErrDataDirInUse naming process %s", err, pid)
	}
	holder.Process.Signal(syscall.SIGKILL)
	holder.Wait()
	if got, _ := os.ReadFile(filepath.Join(cfg.DataDir, LockFile)); strings.TrimSpace(string(got)) != pid {
		t.Fatalf("the dead process's lock file holds %q, want its id %s (the test means a stale file)", got, pid)
	}
	n := startAt(t, cfg)
	call(t, n, "2024-09-10", "ListSites", nil)
}

// TestLockHolderProcess is the other process of TestDataDirLockAcrossProcesses:
// it takes the lock, says so, and waits to be killed.
func TestLockHolderProcess(t *testing.T) {
	dir := os.Getenv("ESACERT_TEST_LOCK_DIR")
	if dir == "" {
		t.Skip("run by TestDataDirLockAcrossProcesses")
	}
	if _, err := lockDataDir(dir); err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("holding " + strconv.Itoa(os.Getpid()) + "\n")
	time.Sleep(10 * time.Minute)
}

// TestDataFilesOwnerOnly: under the usual umask 022, a node's data
// directory is 0700 and every file in it (the SQLite database and its -wal
// and -shm, the keys, the lock file) is 0600, while it runs and after.
func TestDataFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "esacert.db")
	n := startAt(t, cfg)
	call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "modes.com"})
	want := []string{"esacert.db", "esacert.db-shm", "esacert.db-wal", LockFile, MasterKeyFile, RootKeyFile}
	checkOwnerOnly(t, cfg.DataDir, want)
	stop(t, n)
	checkOwnerOnly(t, cfg.DataDir, []string{"esacert.db", LockFile, MasterKeyFile, RootKeyFile})
}

// TestDataFilesOwnerOnlyPostgres: an edge node on PostgreSQL keeps its
// snapshot owner-only too.
func TestDataFilesOwnerOnlyPostgres(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	cfg := testConfig(t)
	cfg.DataDir = filepath.Join(t.TempDir(), "data")
	cfg.DB = storetest.PostgresDatabase(t)
	cfg.MasterKey = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
	n := startAt(t, cfg)
	stop(t, n)
	checkOwnerOnly(t, cfg.DataDir, []string{SnapshotFile, LockFile, RootKeyFile})
}

// checkOwnerOnly fails unless dir is 0700 and holds at least the files in
// want, every file in it 0600.
func checkOwnerOnly(t *testing.T, dir string, want []string) {
	t.Helper()
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the data directory: %v, %v; want mode 0700", st.Mode(), err)
	}
	seen := map[string]bool{}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		seen[d.Name()] = true
		if st, err := os.Stat(path); err == nil && st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", d.Name(), st.Mode().Perm())
		}
		return nil
	})
	for _, name := range want {
		if !seen[name] {
			t.Errorf("%s is not in the data directory (it holds %v)", name, seen)
		}
	}
}

// TestInvalidSettingLeavesNothing: a start refused for a setting, or one
// that fails later (a port in use, a database that cannot be reached),
// leaves no data directory, lock or key it made.
func TestInvalidSettingLeavesNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		edit func(*config.Config)
		want string
	}{
		{"fail/roles", func(c *config.Config) { c.Roles = "api,gateway" }, "--roles"},
		{"fail/dns-provider", func(c *config.Config) { c.ACMEDNSProvider = "nosuchdns" }, "--acme-dns-provider"},
		{"fail/ca-roots", func(c *config.Config) { c.ACMECARoots = missing }, "--acme-ca-roots"},
		{"fail/api-tls-cert", func(c *config.Config) { c.APITLSCert, c.APITLSKey = missing, missing }, "TLS certificate"},
		{"fail/master-key-file", func(c *config.Config) { c.MasterKeyFile = missing }, "missing"},
		{"fail/sqlite-directory", func(c *config.Config) { c.DB = "sqlite:" + filepath.Join(missing, "esacert.db") }, "directory of the SQLite database"},
		{"fail/postgres-without-master-key", func(c *config.Config) { c.DB = "postgres://esacert@127.0.0.1:1/esacert" }, "master key"},
		{"fail/postgres-unreachable", func(c *config.Config) {
			c.DB, c.Roles, c.MasterKey = "postgres://esacert@127.0.0.1:1/esacert?connect_timeout=2", "api", strings.Repeat("ab", 32)
		}, "127.0.0.1"},
		{"fail/port-in-use", func(c *config.Config) { c.APIAddr = busy.Addr().String() }, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.DataDir = filepath.Join(t.TempDir(), "data")
			cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "esacert.db")
			tt.edit(&cfg)
			n, err := Start(t.Context(), cfg, quiet)
			if err == nil {
				n.Shutdown(context.Background())
				t.Fatal("the node started")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start = %v, want it to say %q", err, tt.want)
			}
			if _, err := os.Stat(cfg.DataDir); !errors.Is(err, fs.ErrNotExist) {
				entries, _ := os.ReadDir(cfg.DataDir)
				t.Errorf("the refused start left the data directory behind: %v", entries)
			}
		})
	}
}
