package sqlstore

import (
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/store/storetest"
)

// TestPoolSize: pool_max_conns in a PostgreSQL DSN sizes the node's pool and
// is not passed on to the server (which would refuse it); a bad value is
// refused without quoting the DSN.
func TestPoolSize(t *testing.T) {
	for _, c := range []struct {
		dsn, want string
		n         int
	}{
		{"postgres://u:pw@h:5432/db?sslmode=disable", "postgres://u:pw@h:5432/db?sslmode=disable", DefaultPoolSize},
		{"postgres://u:pw@h:5432/db?pool_max_conns=5&sslmode=disable", "postgres://u:pw@h:5432/db?sslmode=disable", 5},
	} {
		got, n, err := poolSize(c.dsn)
		if err != nil || got != c.want || n != c.n {
			t.Errorf("poolSize(%q) = %q, %d, %v; want %q, %d", c.dsn, got, n, err, c.want, c.n)
		}
	}
	for _, bad := range []string{"pool_max_conns=0", "pool_max_conns=x", "pool_max_conns=1001", "pool_max_conns=2&pool_max_conns=3"} {
		_, _, err := poolSize("postgres://u:secretpw@h/db?" + bad)
		if err == nil || strings.Contains(err.Error(), "secretpw") {
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
