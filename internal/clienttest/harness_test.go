package clienttest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/node"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

// startNode starts a real node on loopback with a fresh data directory and
// SQLite database, and returns its API address and root key.
func startNode(t *testing.T) (addr string, key accesskey.Key) {
	t.Helper()
	n := startNodeOn(t, "", accesskey.Key{})
	return n.addr, n.key
}

// testNode is a running node as a test sees it.
type testNode struct {
	addr string
	key  accesskey.Key
	cfg  config.Config
	node *node.Node
}

// startNodeOn starts a node on the database dsn ("" for SQLite in its data
// directory) with the root key key (zero for a generated one).
func startNodeOn(t *testing.T, dsn string, key accesskey.Key) *testNode {
	t.Helper()
	return startNodeCfg(t, dsn, key, nil)
}

// startNodeWith starts a SQLite node whose configuration edit changes.
func startNodeWith(t *testing.T, edit func(*config.Config)) *testNode {
	t.Helper()
	return startNodeCfg(t, "", accesskey.Key{}, edit)
}

// e2eDatabases holds each test's PostgreSQL database when the suite runs
// on PostgreSQL: the nodes one test starts share it, as a fleet does.
var e2eDatabases sync.Map // *testing.T → DSN

// onPostgres reports whether the suite runs its single-node tests on
// PostgreSQL (ESACERT_TEST_E2E_DB=postgres; CI runs the suite both ways).
func onPostgres() bool { return os.Getenv("ESACERT_TEST_E2E_DB") == "postgres" }

func startNodeCfg(t *testing.T, dsn string, key accesskey.Key, edit func(*config.Config)) *testNode {
	t.Helper()
	if dsn == "" && onPostgres() {
		if v, ok := e2eDatabases.Load(t); ok {
			dsn = v.(string)
		} else {
			dsn = storetest.PostgresDatabase(t)
			e2eDatabases.Store(t, dsn)
			t.Cleanup(func() { e2eDatabases.Delete(t) })
		}
	}
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "esacert.db")
	if dsn != "" {
		cfg.DB = dsn
	}
	cfg.AccessKeyID, cfg.AccessKeySecret = key.ID, key.Secret
	if dsn != "" {
		cfg.MasterKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" // shared by the fleet
	}
	cfg.APIAddr = "127.0.0.1:0"
	cfg.HTTPSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.PrivateOrigins = "127.0.0.0/8" // the tests' origins listen on loopback
	if edit != nil {
		edit(&cfg)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(t.Context(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	if key.ID != "" {
		return &testNode{n.APIAddr(), n.RootKey(), cfg, n}
	}
	k, err := accesskey.Load(filepath.Join(cfg.DataDir, node.RootKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if k != n.RootKey() {
		t.Fatal("the key file and the node disagree")
	}
	return &testNode{n.APIAddr(), k, cfg, n}
}

// skewedServer is an API server whose clock runs shift ahead of the
// clients', to provoke InvalidTimeStamp.Expired from real clients.
func skewedServer(t *testing.T, key accesskey.Key, shift time.Duration) string {
	t.Helper()
	store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := func() time.Time { return time.Now().Add(shift) }
	s := &api.Server{
		Sites: &site.Service{Store: store, Now: now},
		Certs: &cert.Service{Sites: store, Now: now},
		Keys:  accesskey.NewRing(key),
		Now:   now,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return hs.Listener.Addr().String()
}

func accessKeyWithSecret(k accesskey.Key, secret string) accesskey.Key {
	return accesskey.Key{ID: k.ID, Secret: secret}
}
