package sqlstore_test

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/esacert/esacert/internal/store/sqlstore"
)

// TestSQLiteFilesOwnerOnly: under the usual umask 022 the database and the
// -wal and -shm files SQLite makes beside it are 0600, and a database an
// earlier version left 0644 is narrowed to 0600 when it is opened.
func TestSQLiteFilesOwnerOnly(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	dir := t.TempDir()
	path := filepath.Join(dir, "esacert.db")
	s, err := sqlstore.Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	// The migrations wrote through the WAL, and the connections stay open:
	// the -wal and -shm files are there.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", filepath.Base(p), st.Mode().Perm())
		}
	}
	s.Close()

	loose := filepath.Join(dir, "loose.db")
	if err := os.WriteFile(loose, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err = sqlstore.Open(t.Context(), "sqlite:"+loose)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if st, _ := os.Stat(loose); st.Mode().Perm() != 0o600 {
		t.Errorf("a 0644 database opened keeps mode %v, want 0600", st.Mode().Perm())
	}
}

// TestSQLiteOpenErrorsNameThePath: a database that cannot be opened (its
// directory missing, a directory, a file that is no database) is named in
// the error, so that the operator knows which file to look at.
func TestSQLiteOpenErrorsNameThePath(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	if err := os.WriteFile(junk, []byte(strings.Repeat("not a database ", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing", "esacert.db"), dir, junk} {
		s, err := sqlstore.Open(t.Context(), "sqlite:"+path)
		if err == nil {
			s.Close()
			t.Errorf("%s opened", path)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("the error does not name %s: %v", path, err)
		}
	}
}
