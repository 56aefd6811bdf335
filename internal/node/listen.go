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
	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// serve runs srv on ln until Shutdown, and reports a failure to Wait.
func (n *Node) serve(srv *http.Server, ln net.Listener, tlsOn bool) {
	n.serveWith(srv, func() error {
		if tlsOn {
			return srv.ServeTLS(ln, "", "")
		}
		return srv.Serve(ln)
	})
}

// serveWith runs serve, which serves srv, in a goroutine, as serve does.
func (n *Node) serveWith(srv *http.Server, serve func() error) {
	n.servers = append(n.servers, srv)
	go func() {
		err := serve()
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		n.done <- err
	}()
}

// startAPI binds the OpenAPI endpoint. Until the database is reached it
// answers every request with ServiceUnavailable.
func (n *Node) startAPI(cfg config.Config) error {
	var obs api.Observer
	if n.metrics != nil {
		obs = n.metrics
	}
	unavailable := api.Unavailable(n.log, obs)
	// One plain handler, not a ServeMux: a ServeMux would answer some paths
	// (such as //) itself with redirects that are not ESA answers.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			switch r.URL.Path {
			case "/healthz":
				n.healthz(w, r)
				return
			case "/readyz":
				n.readyz(w, r)
				return
			}
		}
		h := n.api.Load()
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
		OriginCerts: &origincert.Service{Sites: store, Store: store, Clients: store, Sealer: c.svc.Sealer},
		ClientCAs:   &clientca.Service{Sites: store, Store: store},
		ClientCerts: &clientcert.Service{Sites: store, Store: store, Sealer: c.svc.Sealer},
		Keys:        accesskey.NewRing(n.rootKey),
		Log:         n.log,
		NameServers: cfg.NameServers,
		CnameZone:   cfg.CnameZone,
		Unreachable: sqlstore.Unreachable,
		Audit:       store,
		AuditReads:  cfg.AuditReads,
	}
	if n.metrics != nil {
		s.Observer = n.metrics
	}
	c.ram.wire(s)
	if store.Dialect() == sqlstore.Postgres {
		// Several API nodes may share the database: they must share nonces.
		s.Nonces = store.Nonces()
	}
	n.apiServer.Store(s)
	var h http.Handler = s
	return &h
}

// startEdge loads the edge's index (from its snapshot when the database
// has not been reached) and serves HTTPS and HTTP. Its listeners are bound
// first, so that the origin policy knows every listener of the node (the
// API's is bound before) and refuses them as origins.
func (n *Node) startEdge(ctx context.Context, cfg config.Config, sealer domain.Sealer) error {
	var err error
	// Without TCP keep-alive probes: the edge bounds each phase of a short
	// connection itself, and turns them on for long requests and hijacked
	// connections (edge.ProbeLongRequests).
	if n.httpsLn, err = edge.Listen(ctx, cfg.HTTPSAddr); err != nil {
		return fmt.Errorf("listen for the edge's https on %s: %w", cfg.HTTPSAddr, err)
	}
	if n.httpLn, err = edge.Listen(ctx, cfg.HTTPAddr); err != nil {
		n.httpsLn.Close()
		return fmt.Errorf("listen for the edge's http on %s: %w", cfg.HTTPAddr, err)
	}
	origins := &origin.Dialer{Policy: origin.Policy{Allow: cfg.PrivateOriginRanges(), Own: n.listeners()}}
	e := &edge.Edge{Source: edgeSource{n}, Staples: edgeSource{n}, Sealer: sealer, Log: n.log, Wake: n.wake, Snapshot: snapshotPath(cfg), Origins: origins,
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
	if n.metrics != nil {
		e.Handshakes = n.metrics
	}
	if k := n.startTickets(ctx, cfg, sealer); k != nil {
		e.Tickets = k
		e.ResumeHybrid = cfg.ResumeHybrid
	}
	e.NoSNIHost = cfg.NoSNIHost
	e.CertCache = cfg.EdgeCertCacheSize()
	if err := e.Start(ctx); err != nil {
		n.httpsLn.Close()
		n.httpLn.Close()
		return fmt.Errorf("load the edge: %w", err)
	}
	if err := n.openAccessLog(ctx, cfg, e); err != nil {
		n.httpsLn.Close()
		n.httpLn.Close()
		return err
	}
	n.edge = e
	if err := n.listenHTTP3(cfg, e); err != nil { // http3.go
		n.httpsLn.Close()
		n.httpLn.Close()
		return err
	}
	quiet := edgeServerLog(n.log, slog.LevelDebug) // the edge logs failed handshakes itself
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
		// handshake is bounded by the edge's HandshakeTimeout (10 seconds,
		// as ReadHeaderTimeout).
		srv := &http.Server{
			Handler:           n.rate.Handler(l.h),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			HTTP2:             &http.HTTP2Config{WriteByteTimeout: n.rate.WriteIdleBound()},
			ErrorLog:          quiet,
		}
		if l.tls {
			// The edge makes the connections TLS ones (paused sites' go to
			// their origins undecrypted), is told of their handshakes, and
			// gives the server the TLSConfig that lets it speak HTTP/2
			// where a handshake chose it.
			n.serveWith(srv, func() error { return e.ServeHTTPS(srv, ln) })
		} else {
			edge.ProbeLongRequests(srv) // as ServeHTTPS does for its connections
			n.serve(srv, ln, false)
		}
		n.log.Info("esacert edge listening", "protocol", l.label, "addr", ln.Addr().String())
	}
	n.serveHTTP3(e)
	return nil
}

// listeners returns the addresses of the node's listeners bound so far.
func (n *Node) listeners() []netip.AddrPort {
	var out []netip.AddrPort
	for _, ln := range []net.Listener{n.metricsLn, n.apiLn, n.consoleLn, n.httpsLn, n.httpLn} {
		if ln == nil {
			continue
		}
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
			out = append(out, ap)
		}
	}
	return out
}
