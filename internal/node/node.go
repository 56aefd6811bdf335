// Package node builds an esacert node from its Config and runs it: the
// store, one Service per noun of the domain (site, record, httpsconf, cert),
// the API listener, the edge and the renewer, as the node's roles say. It is
// the composition root; cmd/esacert only parses the command line and calls
// it.
//
// The package holds wiring only: which setting goes where, what starts when
// the database is reached, and the order of shutdown. What the parts do
// lives with them: the DNS lookups of VerifySite in internal/resolver, the
// /healthz check in internal/health, the copy of a database in sqlstore
// (Migrate), the master keys in internal/masterkey, the edge's routes and
// policies in internal/edge (States), the renewer's loop in cert
// (RunRenewer), the notifier's in notify (Run; notify.go gives it the
// webhooks of internal/webhook). settings.go checks the settings before
// anything is created, by building what can be built without the
// database; datadir.go holds the
// data directory's lock; edgesource.go hands the store to the edge; ram.go
// builds access control (the account and the RAM nouns) for the API;
// console.go binds the web console (--console-addr) to the API server;
// metrics.go the metrics, their listener, /healthz and /readyz.
package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go/http3"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/accesslog"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/health"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/masterkey"
	"github.com/esacert/esacert/internal/memtune"
	"github.com/esacert/esacert/internal/metrics"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/resolver"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"golang.org/x/net/publicsuffix"
)

// Node is a running esacert node.
type Node struct {
	log *slog.Logger
	db  atomic.Pointer[sqlstore.Store] // nil until the database is reached
	api atomic.Pointer[http.Handler]   // nil until the database is reached
	// apiServer is the API's server once the database is reached (the
	// console calls it); nil before.
	apiServer atomic.Pointer[api.Server]
	wake      chan struct{} // the edge's wake-ups, fed by the store's
	cancel    context.CancelFunc
	servers   []*http.Server
	apiLn     net.Listener
	consoleLn net.Listener
	httpsLn   net.Listener
	httpLn    net.Listener
	h3        *http3.Server  // the edge's HTTP/3 server; nil without (http3.go)
	h3Conn    net.PacketConn // its UDP socket
	edge      *edge.Edge
	accessLog *accesslog.Log // the edge's; nil without one
	done      chan error
	rootKey   accesskey.Key
	keys      *masterkey.Keeper // the master keys, kept in step with the key file and the database
	self      sqlstore.NodeInfo // how the node reports itself in the database's node list
	lock      *dataLock         // the hold on the data directory; Shutdown releases it
	rate      bodyrate.Rate     // request bodies' least transfer rate and answers' idle bound, on every listener

	health  health.Check     // the database's answer to /healthz, kept a moment
	apiRole bool             // the node runs the API
	metrics *metrics.Metrics // nil without a metrics address
	// metricsLn is the metrics' listener, bound before the others (so
	// that the origin policy refuses it) and served once they are up.
	metricsLn net.Listener

	mu     sync.Mutex     // orders a late connection against Shutdown
	closed bool           // Shutdown has begun
	wg     sync.WaitGroup // the goroutines that use the store
}

// RootKeyFile is the name of the root access key file in the data directory.
const RootKeyFile = "root-access-key"

// SnapshotFile is the name of the edge's snapshot in the data directory.
const SnapshotFile = "edge-snapshot"

// errNoDatabase is what the edge reads while the node has not reached its
// database yet.
var errNoDatabase = errors.New("the database has not been reached yet")

// Start builds the node that cfg describes and starts serving. It returns
// once the listeners are bound; Wait reports when serving stops.
//
// On PostgreSQL an edge node keeps a snapshot of what it serves in the data
// directory. Started while the database cannot be reached, it serves that
// snapshot, answers API requests with ServiceUnavailable, and keeps trying
// the database; once reached, the edge loads everything from it and the API
// and the renewer start. Without a snapshot, or without the edge role, a
// node that cannot reach its database does not start.
//
// A node holds its data directory (see LockFile) until Shutdown: a second
// Start on the same directory, in this process or another, fails at once
// with ErrDataDirInUse. Settings are checked before the directory, the lock
// or any key is created.
func Start(ctx context.Context, cfg config.Config, log *slog.Logger) (*Node, error) {
	return start(ctx, cfg, log, bodyrate.Rate{})
}

// start is Start with the least rate of request bodies and the idle bound
// of answers (tests shorten them).
func start(ctx context.Context, cfg config.Config, log *slog.Logger, rate bodyrate.Rate) (*Node, error) {
	// What can be checked without the database is checked before anything
	// is created: a start refused for a setting leaves nothing behind.
	if err := checkSettings(cfg, log); err != nil {
		return nil, err
	}
	checkDataDir(cfg.DataDir, log)
	_, statErr := os.Stat(cfg.DataDir)
	created := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	started := false
	defer func() {
		if !started {
			lock.release()
			if created {
				// A start that failed later (a database that refuses the node,
				// a port in use) leaves no directory or key it made behind.
				os.RemoveAll(cfg.DataDir)
			}
		}
	}()
	root, err := rootKey(cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.VerifySiteOwnership && len(config.List(cfg.NameServers)) == 0 {
		log.Warn("--verify-site-ownership without --name-servers: NS sites cannot pass VerifySite (CNAME sites can)")
	}
	keys := &masterkey.Keeper{Source: KeySource(cfg), Log: log}
	self := selfInfo(cfg)
	c, connErr := connect(ctx, cfg, log, keys, self)
	if connErr != nil {
		// Only a database that does not answer is waited for; any other
		// failure (a wrong master key, a missing database) needs the operator.
		snap := snapshotPath(cfg)
		_, serr := os.Stat(snap)
		if !cfg.Has("edge") || snap == "" || !sqlstore.Unreachable(connErr) {
			return nil, connErr
		}
		if serr != nil {
			return nil, fmt.Errorf("%w (an edge node starts without its database only from its snapshot, and %s does not exist yet)", connErr, snap)
		}
		// The local master keys open the snapshot's keys; the database
		// checks them once reached.
		if err := keys.OpenLocal(); err != nil {
			return nil, errors.Join(connErr, err)
		}
		attrs := []any{"error", connErr, "snapshot", snap}
		if waiting := slices.DeleteFunc(config.List(cfg.Roles), func(r string) bool { return r == "edge" }); len(waiting) > 0 {
			attrs = append(attrs, "waiting", strings.Join(waiting, ","))
		}
		log.Warn("the database cannot be reached: the edge starts from its snapshot and the node keeps trying the database", attrs...)
	}
	n := &Node{log: log, done: make(chan error, 8), rootKey: root, wake: make(chan struct{}, 1), keys: keys,
		self: self, lock: lock, rate: rate, apiRole: cfg.Has("api")}
	if c != nil {
		n.db.Store(c.store) // the edge loads from it; Shutdown closes it
	}
	ctx, n.cancel = context.WithCancel(context.Background())
	if err := n.newMetrics(cfg); err != nil {
		n.Shutdown(context.Background())
		return nil, err
	}
	if cfg.Has("api") {
		if err := n.startAPI(cfg); err != nil {
			n.Shutdown(context.Background())
			return nil, err
		}
		if cfg.ConsoleAddr != "" {
			if err := n.startConsole(cfg); err != nil {
				n.Shutdown(context.Background())
				return nil, err
			}
		}
	}
	if cfg.Has("edge") {
		if err := n.startEdge(ctx, cfg, keys.Ring()); err != nil {
			n.Shutdown(context.Background())
			if connErr != nil { // the reason the snapshot was needed comes first
				err = errors.Join(connErr, err)
			}
			return nil, err
		}
	}
	if c != nil {
		n.ready(ctx, cfg, c)
	} else {
		n.goTracked(func() { n.reconnect(ctx, cfg) })
	}
	n.serveMetrics()
	memtune.Follow()     // the collector's pace for a large edge index (memtune)
	memtune.HoldStacks() // connections' goroutines start with the stack a handshake needs
	started = true
	return n, nil
}

// conn is a node's way to its database: the store (the master keys checked
// against it) and the services on top.
type conn struct {
	store    *sqlstore.Store
	sites    *site.Service
	records  *record.Service
	https    *httpsconf.Service
	settings *sitesetting.Service
	svc      *cert.Service
	ram      *ramConn // access control (ram.go)
}

func (c *conn) close() {
	if c != nil {
		c.store.Close()
	}
}

// connect opens the database (migrating it), claims the master keys in it,
// and builds the service.
func connect(ctx context.Context, cfg config.Config, log *slog.Logger, keys *masterkey.Keeper, self sqlstore.NodeInfo) (*conn, error) {
	store, err := sqlstore.Open(ctx, cfg.DB)
	if err != nil {
		return nil, err
	}
	if err := keys.Claim(ctx, store, self); err != nil {
		store.Close()
		return nil, err
	}
	sites := &site.Service{Store: store, DefaultPlan: cfg.DefaultPlan, RequireVerified: cfg.VerifySiteOwnership,
		VerifyInterval: config.Duration(cfg.SiteVerifyInterval), Limits: cfg.Limits(), PublicSuffix: publicsuffix.PublicSuffix, NameServers: config.List(cfg.NameServers),
		Resolver: resolver.New(config.List(cfg.VerifyResolvers)),
		Log:      func(msg, name string, err error) { log.Warn(msg, "site", name, "error", err) }}
	records := &record.Service{Store: store, Sites: store, Sealer: keys.Ring(),
		// Write time knows the allowed ranges; the node's own listeners are
		// refused by the edge when it connects (an API node cannot know the
		// listeners of every edge node).
		Origins: origin.Policy{Allow: cfg.PrivateOriginRanges()}}
	https := &httpsconf.Service{Store: store, Sites: store}
	svc := &cert.Service{Sites: store, Certs: store, Repo: store, OCSP: store, Sealer: keys.Ring(), Limits: cfg.Limits(),
		RequireVerified: cfg.VerifySiteOwnership}
	if err := sites.EnsureDefaultInstance(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if err := setupIssuer(cfg, svc, store, log); err != nil {
		store.Close()
		return nil, err
	}
	ram, err := connectRAM(ctx, store, keys.Ring())
	if err != nil {
		store.Close()
		return nil, err
	}
	return &conn{store: store, sites: sites, records: records, https: https, settings: &sitesetting.Service{Store: store},
		svc: svc, ram: ram}, nil
}

// reconnect tries the database until it answers (or ctx ends), waiting
// longer after each failure, up to 5 seconds; then the node runs whole. A
// failure other than an unreachable database (such as a master key the
// database refuses) stops the node: Wait reports it.
func (n *Node) reconnect(ctx context.Context, cfg config.Config) {
	wait := 500 * time.Millisecond
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		attempt, cancel := context.WithTimeout(ctx, 30*time.Second)
		c, err := connect(attempt, cfg, n.log, n.keys, n.self)
		timedOut := attempt.Err() != nil
		cancel()
		if err == nil {
			n.log.Info("reached the database; the node runs whole")
			n.ready(ctx, cfg, c)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if !sqlstore.Unreachable(err) && !timedOut { // an attempt that ran out of time is one more try
			n.done <- fmt.Errorf("the database answered, but the node cannot use it: %w", err)
			return
		}
		wait = min(2*wait, 5*time.Second)
		n.log.Warn("the database cannot be reached yet", "error", err, "next_try_ms", wait.Milliseconds())
	}
}

// goTracked runs f in a goroutine that Shutdown waits for.
func (n *Node) goTracked(f func()) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		f()
	}()
}

// ready starts what needs the database: the API's actions, the edge's
// change feed, the renewer and the pruning of the feed.
func (n *Node) ready(ctx context.Context, cfg config.Config, c *conn) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		c.close()
		return
	}
	n.db.Store(c.store)
	n.mu.Unlock()
	if n.edge != nil && cfg.Has("api") {
		// The node's edge serves the certificates its API commits before
		// the API answers, without reading them back (the feed brings them
		// too, and every other node's changes).
		c.store.OnCertificateCommit(func(cc sqlstore.CertCommit) {
			n.edge.ApplyCommitted(edge.Committed{Rev: cc.Rev, SiteID: cc.SiteID, ID: cc.ID, Cert: cc.Cert})
		})
	}
	if cfg.Has("api") {
		n.api.Store(n.apiHandler(cfg, c))
		n.goTracked(func() { c.ram.follow(ctx, c.store, n.log) })
	}
	if n.edge != nil {
		storeWake, stop := c.store.Watch()
		n.goTracked(func() {
			defer stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-storeWake:
				}
				select {
				case n.wake <- struct{}{}:
				default:
				}
			}
		})
		select { // a node that started from its snapshot catches up at once
		case n.wake <- struct{}{}:
		default:
		}
	}
	if cfg.Has("renewer") {
		n.goTracked(func() { n.renew(ctx, cfg, c.svc) })
		n.goTracked(func() { c.sites.RunVerifier(ctx) })
		n.goTracked(func() { n.refreshOCSP(ctx, cfg, c.store) })
		if len(cfg.Notify) > 0 {
			n.goTracked(func() { n.notices(ctx, cfg, c.store) })
		}
	}
	n.goTracked(func() { n.pruneChanges(ctx, c.store) })
	n.goTracked(func() { n.pruneEvents(ctx, c.store, cfg.AuditRetention()) })
	n.goTracked(func() { n.keys.Heartbeat(ctx, c.store, n.self, masterkey.HeartbeatInterval) })
}

// snapshotPath is where an edge node keeps its snapshot: in the data
// directory on PostgreSQL, nowhere on SQLite (its database is a local file
// that is there whenever the node is).
func snapshotPath(cfg config.Config) string {
	if strings.HasPrefix(cfg.DB, "sqlite:") {
		return ""
	}
	return filepath.Join(cfg.DataDir, SnapshotFile)
}

// pruneChanges keeps the change feed short: an edge that falls further
// behind reloads everything instead.
func (n *Node) pruneChanges(ctx context.Context, store *sqlstore.Store) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := store.PruneChanges(ctx, 100_000); err != nil && ctx.Err() == nil {
				n.log.Warn("prune the change feed", "error", err)
			}
		}
	}
}

// APIAddr is the address the API listens on ("" without the api role).
func (n *Node) APIAddr() string { return addrOf(n.apiLn) }

// HTTPSAddr and HTTPAddr are the edge's addresses ("" without the edge role).
func (n *Node) HTTPSAddr() string { return addrOf(n.httpsLn) }

func (n *Node) HTTPAddr() string { return addrOf(n.httpLn) }

// Edge is the node's edge, or nil without the edge role.
func (n *Node) Edge() *edge.Edge { return n.edge }

func addrOf(ln net.Listener) string {
	if ln == nil {
		return ""
	}
	return ln.Addr().String()
}

// RootKey is the root access key the node accepts.
func (n *Node) RootKey() accesskey.Key { return n.rootKey }

// Wait blocks until the node stops serving and returns why.
func (n *Node) Wait() error { return <-n.done }

// Shutdown stops accepting requests, lets the ones in flight finish until
// ctx ends, and closes the database.
func (n *Node) Shutdown(ctx context.Context) error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true // a connection made from now on is closed at once
	n.mu.Unlock()
	if n.cancel != nil {
		n.cancel()
	}
	var err error
	for _, srv := range n.servers {
		if serr := srv.Shutdown(ctx); err == nil {
			err = serr
		}
	}
	n.stopHTTP3(ctx)
	if n.metricsLn != nil {
		n.metricsLn.Close() // bound, and not served when the start failed
	}
	waited := make(chan struct{}) // the store's users end before it closes
	go func() {
		n.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
	}
	if n.accessLog != nil { // the lines queued are written
		n.accessLog.Close()
	}
	if n.edge != nil { // the last state goes into the snapshot
		if _, serr := n.edge.SaveSnapshot(); serr != nil {
			n.log.Warn("edge cannot write its snapshot", "error", serr)
		}
	}
	if store := n.db.Load(); store != nil {
		lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		store.Leave(lctx, n.self.ID) // also when the heartbeat never started
		cancel()
		if cerr := store.Close(); err == nil {
			err = cerr
		}
	}
	n.lock.release()
	return err
}

// pruneEvents drops audit events older than the retention, once an hour
// (and at start).
func (n *Node) pruneEvents(ctx context.Context, store *sqlstore.Store, retention time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if gone, err := store.PruneEvents(ctx, time.Now().Add(-retention)); err != nil && ctx.Err() == nil {
			n.log.Warn("prune the audit trail", "error", err)
		} else if gone > 0 {
			n.log.Info("pruned the audit trail", "events", gone, "retention_days", int(retention.Hours()/24))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
