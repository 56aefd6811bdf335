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
// (RunRenewer). settings.go checks the settings before anything is created,
// by building what can be built without the database; datadir.go holds the
// data directory's lock; edgesource.go hands the store to the edge.
package node

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/acme"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/health"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/masterkey"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/redact"
	"github.com/esacert/esacert/internal/resolver"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"golang.org/x/net/publicsuffix"
)

// Node is a running esacert node.
type Node struct {
	log     *slog.Logger
	db      atomic.Pointer[sqlstore.Store] // nil until the database is reached
	api     atomic.Pointer[http.Handler]   // nil until the database is reached
	wake    chan struct{}                  // the edge's wake-ups, fed by the store's
	cancel  context.CancelFunc
	servers []*http.Server
	apiLn   net.Listener
	httpsLn net.Listener
	httpLn  net.Listener
	edge    *edge.Edge
	done    chan error
	rootKey accesskey.Key
	keys    *masterkey.Keeper // the master keys, kept in step with the key file and the database
	self    sqlstore.NodeInfo // how the node reports itself in the database's node list
	lock    *dataLock         // the hold on the data directory; Shutdown releases it
	rate    bodyrate.Rate     // request bodies' least transfer rate and answers' idle bound, on every listener

	health health.Check // the database's answer to /healthz, kept a moment

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
	n := &Node{log: log, done: make(chan error, 4), rootKey: root, wake: make(chan struct{}, 1), keys: keys,
		self: self, lock: lock, rate: rate}
	if c != nil {
		n.db.Store(c.store) // the edge loads from it; Shutdown closes it
	}
	ctx, n.cancel = context.WithCancel(context.Background())
	if cfg.Has("api") {
		if err := n.startAPI(cfg); err != nil {
			n.Shutdown(context.Background())
			return nil, err
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
	started = true
	return n, nil
}

// conn is a node's way to its database: the store (the master keys checked
// against it) and the services on top.
type conn struct {
	store   *sqlstore.Store
	sites   *site.Service
	records *record.Service
	https   *httpsconf.Service
	svc     *cert.Service
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
	sites := &site.Service{Store: store, DefaultPlan: cfg.DefaultPlan, VerifyOwnership: cfg.VerifySiteOwnership,
		Limits: cfg.Limits(), PublicSuffix: publicsuffix.PublicSuffix, NameServers: config.List(cfg.NameServers),
		Resolver: resolver.New(config.List(cfg.VerifyResolvers)),
		Log:      func(msg, id string, err error) { log.Warn(msg, "certificate", id, "error", err) }}
	records := &record.Service{Store: store, Sites: store, Sealer: keys.Ring(),
		// Write time knows the allowed ranges; the node's own listeners are
		// refused by the edge when it connects (an API node cannot know the
		// listeners of every edge node).
		Origins: origin.Policy{Allow: cfg.PrivateOriginRanges()}}
	https := &httpsconf.Service{Store: store, Sites: store}
	svc := &cert.Service{Sites: store, Certs: store, Repo: store, Sealer: keys.Ring(), Limits: cfg.Limits()}
	if err := sites.EnsureDefaultInstance(ctx); err != nil {
		store.Close()
		return nil, err
	}
	if err := setupIssuer(cfg, svc, store, log); err != nil {
		store.Close()
		return nil, err
	}
	return &conn{store: store, sites: sites, records: records, https: https, svc: svc}, nil
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
	if cfg.Has("api") {
		n.api.Store(n.apiHandler(cfg, c))
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
	}
	n.goTracked(func() { n.pruneChanges(ctx, c.store) })
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

// setupIssuer gives the service its ACME issuer and free-certificate store.
func setupIssuer(cfg config.Config, svc *cert.Service, store *sqlstore.Store, log *slog.Logger) error {
	dirs, err := cfg.ACMEDirectories()
	if err != nil {
		return err
	}
	iss := &acme.Issuer{CAs: map[string]acme.CA{}, Email: cfg.ACMEEmail, Challenges: store,
		Accounts: cert.AccountKeys{Store: store, Sealer: svc.Sealer}}
	iss.Types = config.List(cfg.ACMEChallenges)
	if cfg.ACMEDNSProvider != "" {
		if iss.DNS, err = acme.NewDNSProvider(cfg.ACMEDNSProvider); err != nil {
			return fmt.Errorf("--acme-dns-provider: %w", err)
		}
	}
	if resolvers := config.List(cfg.ACMEDNSResolvers); len(resolvers) > 0 {
		acme.UseResolvers(resolvers)
		iss.DNSResolversOnly = true
	}
	eabs, err := cfg.ACMEBindings()
	if err != nil {
		return err
	}
	for name, url := range dirs {
		iss.CAs[name] = acme.CA{Directory: url, EABKeyID: eabs[name].KeyID, EABHMAC: eabs[name].HMAC}
	}
	if cfg.ACMECARoots != "" {
		pemRoots, err := os.ReadFile(cfg.ACMECARoots)
		if err != nil {
			return fmt.Errorf("--acme-ca-roots: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemRoots) {
			return fmt.Errorf("--acme-ca-roots: %s holds no PEM certificate", cfg.ACMECARoots)
		}
		iss.HTTPClient = &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: pool}, ResponseHeaderTimeout: 30 * time.Second}}
	}
	acme.UseLogger(log.With("component", "acme"))
	svc.Frees, svc.Issuer, svc.Challenges, svc.Kick = store, iss, store, make(chan struct{}, 1)
	svc.Log = func(msg, id string, err error) { log.Warn(msg, "certificate", id, "error", err) }
	return nil
}

// renew runs the renewer (cert.Service.RunRenewer) with the node's settings.
func (n *Node) renew(ctx context.Context, cfg config.Config, svc *cert.Service) {
	host, _ := os.Hostname()
	opt := cert.RenewOptions{Owner: fmt.Sprintf("%s/%d/%p", host, os.Getpid(), n), KeyType: cfg.FreeCertKeyType,
		RetryBase: config.Duration(cfg.RetryBase), RSATwin: cfg.FreeCertRSATwin, Log: n.log}
	n.log.Info("renewer started", "owner", opt.Owner, "poll", cfg.RenewPoll)
	svc.RunRenewer(ctx, opt, config.Duration(cfg.RenewPoll))
}

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
	unavailable := api.Unavailable(n.log)
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
		Records:     c.records,
		HTTPS:       c.https,
		Certs:       c.svc,
		Keys:        accesskey.NewRing(n.rootKey),
		Log:         n.log,
		NameServers: cfg.NameServers,
		CnameZone:   cfg.CnameZone,
		Unreachable: sqlstore.Unreachable,
	}
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

// MasterKeyFile is the name of the master key file in the data directory.
const MasterKeyFile = "master.key"

// KeySource is where cfg's master keys come from: ESACERT_MASTER_KEY, else
// the --master-key-file, else master.key in the data directory (generated
// on first start).
func KeySource(cfg config.Config) masterkey.Source {
	switch {
	case cfg.MasterKey != "":
		return masterkey.Source{Env: cfg.MasterKey}
	case cfg.MasterKeyFile != "":
		return masterkey.Source{File: cfg.MasterKeyFile}
	}
	return masterkey.Source{File: filepath.Join(cfg.DataDir, MasterKeyFile), Default: true}
}

// selfInfo is how a node reports itself in the database's node list.
func selfInfo(cfg config.Config) sqlstore.NodeInfo {
	host, _ := os.Hostname()
	var id [8]byte
	rand.Read(id[:])
	return sqlstore.NodeInfo{ID: hex.EncodeToString(id[:]), Host: host, PID: os.Getpid(), Roles: cfg.Roles, Started: time.Now()}
}

// APIAddr is the address the API listens on ("" without the api role).
func (n *Node) APIAddr() string { return addrOf(n.apiLn) }

// HTTPSAddr and HTTPAddr are the edge's addresses ("" without the edge role).
func (n *Node) HTTPSAddr() string { return addrOf(n.httpsLn) }
func (n *Node) HTTPAddr() string  { return addrOf(n.httpLn) }

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
	waited := make(chan struct{}) // the store's users end before it closes
	go func() {
		n.wg.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-ctx.Done():
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

// RotateMasterKey moves the database, and every node running on it, to a
// new master key without a restart (see masterkey.Rotation): the key named
// by cfg.NewMasterKeyFile, else the newest key of the node's key file when
// the database does not use it yet, else a generated one added to that
// file. It refuses, naming them, while running nodes do not hold the new key.
func RotateMasterKey(ctx context.Context, cfg config.Config, log *slog.Logger) (masterkey.Result, error) {
	store, err := sqlstore.Open(ctx, cfg.DB)
	if err != nil {
		return masterkey.Result{}, err
	}
	defer store.Close()
	r := &masterkey.Rotation{Store: store, Source: KeySource(cfg), NewKeyFile: cfg.NewMasterKeyFile, Log: log}
	return r.Run(ctx)
}

// Migrate copies the SQLite database of cfg into the empty PostgreSQL
// database cfg.MigrateTo (schema brought up to date first), checked table
// by table by row count and fingerprint. Private keys move still sealed:
// the PostgreSQL nodes need the same master key.
func Migrate(ctx context.Context, cfg config.Config) ([]sqlstore.TableCopy, error) {
	if !strings.HasPrefix(cfg.DB, "sqlite:") {
		return nil, errors.New("migrate copies a SQLite database: --db must be sqlite:PATH (the default is the one in --data)")
	}
	if !strings.HasPrefix(cfg.MigrateTo, "postgres://") && !strings.HasPrefix(cfg.MigrateTo, "postgresql://") {
		return nil, errors.New("migrate needs --to postgres://… (the PostgreSQL database to copy into)")
	}
	return sqlstore.Migrate(ctx, cfg.DB, cfg.MigrateTo)
}
