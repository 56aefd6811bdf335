// Package node builds an esacert node from its Config and runs it: the store,
// the domain service, the API listener (and, in later roles, the edge). It is
// the composition root; cmd/esacert only parses the command line and calls it.
package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"golang.org/x/net/publicsuffix"
)

// Node is a running esacert node.
type Node struct {
	log     *slog.Logger
	store   *sqlstore.Store
	apiLn   net.Listener
	apiSrv  *http.Server
	done    chan error
	rootKey accesskey.Key
}

// RootKeyFile is the name of the root access key file in the data directory.
const RootKeyFile = "root-access-key"

// Start builds the node that cfg describes and starts serving. It returns
// once the listeners are bound; Wait reports when serving stops.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (*Node, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	root, err := rootKey(cfg, log)
	if err != nil {
		return nil, err
	}
	store, err := sqlstore.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	svc := &cert.Service{Sites: store, DefaultPlan: cfg.DefaultPlan, VerifyOwnership: cfg.VerifySiteOwnership,
		PublicSuffix: publicsuffix.PublicSuffix}
	if err := svc.EnsureDefaultInstance(ctx); err != nil {
		store.Close()
		return nil, err
	}
	apiHandler := &api.Server{
		Service:     svc,
		Keys:        accesskey.NewRing(root),
		Log:         log,
		NameServers: cfg.NameServers,
		CnameZone:   cfg.CnameZone,
	}
	if store.Dialect() == sqlstore.Postgres {
		// Several API nodes may share the database: they must share nonces.
		apiHandler.Nonces = store.Nonces()
	}
	// One plain handler, not a ServeMux: a ServeMux would answer some paths
	// (such as //) itself with redirects that are not ESA answers.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Write([]byte("ok\n"))
			return
		}
		apiHandler.ServeHTTP(w, r)
	})

	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("listen for the API on %s: %w", cfg.APIAddr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if cfg.APITLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.APITLSCert, cfg.APITLSKey)
		if err != nil {
			ln.Close()
			store.Close()
			return nil, fmt.Errorf("load the API's TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
		scheme = "https"
	}
	n := &Node{log: log, store: store, apiLn: ln, apiSrv: srv, done: make(chan error, 1), rootKey: root}
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		n.done <- err
	}()
	log.Info("esacert API listening", "url", scheme+"://"+ln.Addr().String(), "database", store.Dialect(),
		"access_key_id", root.ID)
	return n, nil
}

// rootKey returns the root access key: from the environment when given,
// else from the key file in the data directory, generated on first start.
func rootKey(cfg config.Config, log *slog.Logger) (accesskey.Key, error) {
	if cfg.AccessKeyID != "" {
		return accesskey.Key{ID: cfg.AccessKeyID, Secret: cfg.AccessKeySecret}, nil
	}
	path := filepath.Join(cfg.DataDir, RootKeyFile)
	k, created, err := accesskey.LoadOrCreate(path, nil)
	if err != nil {
		return accesskey.Key{}, err
	}
	if created {
		log.Info("created the root access key; its id and secret are in the file", "file", path, "access_key_id", k.ID)
	} else {
		log.Info("using the root access key", "file", path, "access_key_id", k.ID)
	}
	return k, nil
}

// APIAddr is the address the API listens on.
func (n *Node) APIAddr() string { return n.apiLn.Addr().String() }

// RootKey is the root access key the node accepts.
func (n *Node) RootKey() accesskey.Key { return n.rootKey }

// Wait blocks until the node stops serving and returns why.
func (n *Node) Wait() error { return <-n.done }

// Shutdown stops accepting requests, lets the ones in flight finish until
// ctx ends, and closes the database.
func (n *Node) Shutdown(ctx context.Context) error {
	err := n.apiSrv.Shutdown(ctx)
	if cerr := n.store.Close(); err == nil {
		err = cerr
	}
	return err
}
