package node

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"slices"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/metrics"
)

// Why a node is not ready (/readyz, esacert_ready).
var (
	errNotReached   = errors.New("the database has not been reached yet")
	errDatabaseDown = errors.New("the database cannot be reached")
	errEdgeStale    = errors.New("the edge cannot read the database: it serves its snapshot or its last good state")
)

// newMetrics builds the node's metrics when cfg has a metrics address (nil
// otherwise: no metrics are kept) and binds their listener, which serves
// once the node has started (serveMetrics). The certificates' series come
// from nodes with the renewer role only, so that a fleet of edges does not
// repeat them (see internal/metrics on cardinality).
func (n *Node) newMetrics(cfg config.Config) error {
	if cfg.MetricsAddr == "" {
		return nil
	}
	src := metrics.Sources{
		Ready: n.readiness,
		Pool: func() (sql.DBStats, bool) {
			if store := n.db.Load(); store != nil {
				return store.Stats(), true
			}
			return sql.DBStats{}, false
		},
	}
	if dirs, err := cfg.ACMEDirectories(); err == nil {
		for name := range dirs {
			src.CAs = append(src.CAs, name)
		}
		slices.Sort(src.CAs)
	}
	if cfg.Has("renewer") {
		src.Certificates = func(ctx context.Context) ([]cert.Summary, error) {
			store := n.db.Load()
			if store == nil {
				return nil, errNoDatabase
			}
			return store.CertificateSummaries(ctx)
		}
	}
	var outcomes []string
	if cfg.Has("edge") {
		outcomes = edge.HandshakeOutcomes
		// n.edge is set before the metrics' listener serves.
		src.Edge = func() (int64, int, bool) {
			ix := n.edge.Index()
			return ix.Revision(), ix.Names(), n.edge.Stale()
		}
		src.CertCache = func() metrics.CertCacheStats {
			s := n.edge.CertCacheStats()
			return metrics.CertCacheStats{Hits: s.Hits, Misses: s.Misses, Evictions: s.Evictions, Size: s.Size, Capacity: s.Capacity}
		}
		if cfg.AccessLog != "" {
			// n.accessLog is set before the metrics' listener serves.
			src.AccessLog = func() (uint64, uint64) { return n.accessLog.Written(), n.accessLog.Dropped() }
		}
		src.Revision = func(ctx context.Context) (int64, error) {
			store := n.db.Load()
			if store == nil {
				return 0, errNoDatabase
			}
			return store.Revision(ctx)
		}
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		return fmt.Errorf("listen for the metrics on %s: %w", cfg.MetricsAddr, err)
	}
	n.metrics, n.metricsLn = metrics.New(src, outcomes), ln
	return nil
}

// serveMetrics serves the metrics' listener: /metrics, the runtime's
// profiles under /debug/pprof/ (registered on this mux only: no other
// listener of the node serves them; not the command line, which may hold a
// DSN's password), /healthz and /readyz.
func (n *Node) serveMetrics() {
	if n.metricsLn == nil {
		return
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", n.metrics.Handler())
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("GET /healthz", n.healthz)
	mux.HandleFunc("GET /readyz", n.readyz)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A CPU profile or a trace takes as long as asked (seconds=, 30 by
		// default); pprof refuses one longer than this.
		WriteTimeout:   10 * time.Minute,
		IdleTimeout:    2 * time.Minute,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       serverLog(n.log, slog.LevelWarn),
	}
	n.serve(srv, n.metricsLn, false)
	n.log.Info("esacert metrics listening", "url", "http://"+n.metricsLn.Addr().String()+"/metrics")
}

// MetricsAddr is the address of the metrics' listener ("" when it is off).
func (n *Node) MetricsAddr() string { return addrOf(n.metricsLn) }

// reached reports whether the node has reached its database and, with the
// api role, built the API on it.
func (n *Node) reached() bool {
	return n.db.Load() != nil && (!n.apiRole || n.api.Load() != nil)
}

// ping asks the database whether it answers, at most once a second (see
// health.Check), and counts a failure.
func (n *Node) ping(ctx context.Context) error {
	err := n.health.Do(ctx, n.db.Load().Healthy)
	if err != nil && n.metrics != nil {
		n.metrics.DBError(metrics.DBErrorPing)
	}
	return err
}

// readiness reports why the node is not ready, or nil: it has reached its
// database, the database answers, and its edge (when it runs one) serves
// what it read from the database, not its snapshot nor a last good state
// it keeps because it cannot read the database.
func (n *Node) readiness(ctx context.Context) error {
	if !n.reached() {
		return errNotReached
	}
	if n.ping(ctx) != nil {
		return errDatabaseDown
	}
	// n.edge is set before the node is reached (n.api, n.db) on a node
	// whose API serves, and before the metrics' listener serves.
	if n.edge != nil && n.edge.Stale() {
		return errEdgeStale
	}
	return nil
}

// healthz answers GET /healthz: 200 once the database is reached and
// answers, else 503 with the reason in plain text.
func (n *Node) healthz(w http.ResponseWriter, r *http.Request) {
	err := errNotReached
	if n.reached() {
		err = nil
		if n.ping(r.Context()) != nil {
			err = errDatabaseDown
		}
	}
	plain(w, err)
}

// readyz answers GET /readyz: 200 when the node is ready (readiness), else
// 503 with the reason in plain text.
func (n *Node) readyz(w http.ResponseWriter, r *http.Request) { plain(w, n.readiness(r.Context())) }

// plain answers "ok", or 503 and err's text.
func plain(w http.ResponseWriter, err error) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(err.Error() + "\n"))
		return
	}
	w.Write([]byte("ok\n"))
}
