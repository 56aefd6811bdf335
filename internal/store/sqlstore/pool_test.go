package sqlstore

import (
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/store/storetest"
)

// TestPoolSize: pool_max_conns in a PostgreSQL DSN sizes the node's pool and
// is not passed on to the server (which would refuse it); a bad value is
// refused. DSNs that pgx accepts stay accepted (a password with # or / in
// it), and no error quotes a password.
func TestPoolSize(t *testing.T) {
	for _, c := range []struct {
		dsn string
		n   int
	}{
		{"postgres://u:pw@h:5432/db?sslmode=disable", DefaultPoolSize},
		{"postgres://u:pw@h:5432/db?pool_max_conns=5&sslmode=disable", 5},
		{"postgres://u:p#w@h/db", DefaultPoolSize},
	} {
		s, err := open(c.dsn)
		if err != nil {
			t.Errorf("open(%q): %v", c.dsn, err)
			continue
		}
		if got := s.db.Stats().MaxOpenConnections; got != c.n {
			t.Errorf("open(%q): a pool of %d, want %d", c.dsn, got, c.n)
		}
		if _, ok := s.pgConfig.RuntimeParams["pool_max_conns"]; ok {
			t.Errorf("open(%q): pool_max_conns would be sent to the server", c.dsn)
		}
		s.db.Close()
	}
	for _, bad := range []string{"postgres://u:secretpw@h/db?pool_max_conns=0", "postgres://u:secretpw@h/db?pool_max_conns=x",
		"postgres://u:secretpw@h/db?pool_max_conns=1001", "postgres://u:se%cretpw@h/db", "postgres://u:secretpw@h:port/db"} {
		_, err := open(bad)
		if err == nil || strings.Contains(err.Error(), "secretpw") || strings.Contains(err.Error(), "cretpw") {
			t.Errorf("%s: %v", bad, err)
		}
	}
	dsn := storetest.PostgresDatabase(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	s, err := Open(t.Context(), dsn+sep+"pool_max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.db.Stats().MaxOpenConnections; got != 3 {
		t.Errorf("the pool holds up to %d connections, want 3", got)
	}
}
