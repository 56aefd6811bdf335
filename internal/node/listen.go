package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/acme"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// serve runs srv on ln until Shutdown, and reports a failure to Wait.
func (n *Node) serve(srv *http.Server, ln net.Listener, tlsOn bool) {
	n.servers = append(n.servers, srv)
	go func() {
		var err error
		if tlsOn {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		n.done <- err
	}()
}

// startAPI binds the OpenAPI endpoint. Until the database is reached it
// answers every request with ServiceUnavailable.
func (n *Node) startAPI(cfg config.Config) error {
	unavailable := api.Unavailable(n.log, nil)
	// One plain handler, not a ServeMux: a ServeMux would answer some paths
	// (such as //) itself with redirects that are not ESA answers.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := n.api.Load()
		if r.URL.Path == "/healthz" && r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			if h == nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("the database has not been reached yet\n"))
				return
			}
			if err := n.health.Do(r.Context(), n.db.Load().Healthy); err != nil {
				w.WriteHeader(http.StatusServiceUnavailable)
				w.Write([]byte("the database cannot be reached\n"))
				return
			}
			w.Write([]byte("ok\n"))
			return
		}
		if h == nil {
			unavailable.ServeHTTP(w, r)
			return
		}
		(*h).ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", cfg.APIAddr)
	if err != nil {
		return fmt.Errorf("listen for the API on %s: %w", cfg.APIAddr, err)
	}
	// A request body has at most a minute in all, and is cut sooner when
	// it arrives more slowly than the rate allows. The answers are small:
	// the WriteTimeout bounds them, not the rate's idle bound.
	rate := n.rate
	rate.Limit = 60 * time.Second
	rate.WriteIdle = -1
	srv := &http.Server{
		Handler:           rate.Handler(handler),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          serverLog(n.log, slog.LevelWarn),
	}
	scheme := "http"
	if cfg.APITLSCert != "" {
		pair, err := tls.LoadX509KeyPair(cfg.APITLSCert, cfg.APITLSKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load the API's TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
		scheme = "https"
	}
	n.apiLn = ln
	n.serve(srv, ln, cfg.APITLSCert != "")
	database := sqlstore.Postgres
	if strings.HasPrefix(cfg.DB, "sqlite:") {
		database = sqlstore.SQLite
	}
	n.log.Info("esacert API listening", "url", scheme+"://"+ln.Addr().String(), "database", database,
		"access_key_id", n.rootKey.ID)
	return nil
}

// apiHandler is the API's handler once the database is reached.
func (n *Node) apiHandler(cfg config.Config, c *conn) *http.Handler {
	store := c.store
	s := &api.Server{
		Sites:       c.sites,
		Settings:    c.settings,
		Records:     c.records,
		HTTPS:       c.https,
		Certs:       c.svc,
		Keys:        accesskey.NewRing(n.rootKey),
		Log:         n.log,
		NameServers: cfg.NameServers,
		CnameZone:   cfg.CnameZone,
		Unreachable: sqlstore.Unreachable,
		Audit:       store,
		AuditReads:  cfg.AuditReads,
	}
	c.ram.wire(s)
	if store.Dialect() == sqlstore.Postgres {
		// Several API nodes may share the database: they must share nonces.
		s.Nonces = store.Nonces()
	}
	var h http.Handler = s
	return &h
}

// startEdge loads the edge's index (from its snapshot when the database
// has not been reached) and serves HTTPS and HTTP. Its listeners are bound
// first, so that the origin policy knows every listener of the node (the
// API's is bound before) and refuses them as origins.
func (n *Node) startEdge(ctx context.Context, cfg config.Config, sealer domain.Sealer) error {
	var err error
	if n.httpsLn, err = net.Listen("tcp", cfg.HTTPSAddr); err != nil {
		return fmt.Errorf("listen for the edge's https on %s: %w", cfg.HTTPSAddr, err)
	}
	if n.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		n.httpsLn.Close()
		return fmt.Errorf("listen for the edge's http on %s: %w", cfg.HTTPAddr, err)
	}
	origins := &origin.Dialer{Policy: origin.Policy{Allow: cfg.PrivateOriginRanges(), Own: n.listeners()}}
	e := &edge.Edge{Source: edgeSource{n}, Sealer: sealer, Log: n.log, Wake: n.wake, Snapshot: snapshotPath(cfg), Origins: origins,
		RequireVerified: cfg.VerifySiteOwnership,
		ACME: func(host, token string) (string, bool) {
			store := n.db.Load()
			if store == nil {
				return "", false
			}
			v, ok, err := store.Challenge(ctx, host, token, time.Now())
			if err != nil {
				n.log.Warn("read an ACME challenge", "host", redact.Clean(host, 255), "error", err)
			}
			return v, ok
		},
		ACMETLS: func(host string) (*tls.Certificate, bool) {
			store := n.db.Load()
			if store == nil {
				return nil, false
			}
			return acme.TLSALPNCertificate(ctx, store, host)
		},
		ACMETLSProtocol: acme.ALPNProtocol}
	if err := e.Start(ctx); err != nil {
		n.httpsLn.Close()
		n.httpLn.Close()
		return fmt.Errorf("load the edge: %w", err)
	}
	n.edge = e
	quiet := serverLog(n.log, slog.LevelDebug) // handshake failures are the clients'
	for _, l := range []struct {
		tls   bool
		ln    net.Listener
		h     http.Handler
		label string
	}{
		{true, n.httpsLn, e.HTTPSHandler(), "https"},
		{false, n.httpLn, e.HTTPHandler(), "http"},
	} {
		ln := l.ln
		if l.tls { // redirects to HTTPS name the port it really listens on
			_, e.HTTPSPort, _ = net.SplitHostPort(ln.Addr().String())
		}
		// No ReadTimeout nor WriteTimeout, which are total deadlines
		// counted from the request's headers: an upload, and an answer, may
		// take as long as they need while they move. A slow body is cut by
		// the rate instead, and a client that takes nothing of its answer
		// for the rate's idle bound by the handler's writes; over HTTP/2 a
		// connection whose writes stall that long is closed too. The TLS
		// handshake is bounded by ReadHeaderTimeout (net/http takes the
		// least of the timeouts set).
		srv := &http.Server{
			Handler:           n.rate.Handler(l.h),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			HTTP2:             &http.HTTP2Config{WriteByteTimeout: n.rate.WriteIdleBound()},
			ErrorLog:          quiet,
		}
		if l.tls {
			srv.TLSConfig = e.TLSConfig()
			ln = e.Listener(ln) // paused sites' connections go to their origins undecrypted
		}
		n.serve(srv, ln, l.tls)
		n.log.Info("esacert edge listening", "protocol", l.label, "addr", ln.Addr().String())
	}
	return nil
}

// listeners returns the addresses of the node's listeners bound so far.
func (n *Node) listeners() []netip.AddrPort {
	var out []netip.AddrPort
	for _, ln := range []net.Listener{n.apiLn, n.httpsLn, n.httpLn} {
		if ln == nil {
			continue
		}
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
			out = append(out, ap)
		}
	}
	return out
}
