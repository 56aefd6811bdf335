package clienttest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/node"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/storetest"
)

// toBoth sends each request to node A, then the same bytes to node B, and
// answers with B's response.
type toBoth struct{ a, b string }

func (c toBoth) Call(req *http.Request, tr *http.Transport) (*http.Response, error) {
	body := []byte{}
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
	}
	send := func(addr string) (*http.Response, error) {
		r := req.Clone(req.Context())
		r.URL.Host = addr
		r.Body = io.NopCloser(bytes.NewReader(body))
		return http.DefaultTransport.RoundTrip(r)
	}
	first, err := send(c.a)
	if err != nil {
		return nil, err
	}
	io.Copy(io.Discard, first.Body)
	first.Body.Close()
	if first.StatusCode != 200 {
		return first, nil
	}
	return send(c.b)
}

// TestNonceSharedAcrossNodes: two API nodes on one PostgreSQL database; a
// request node A accepted is refused as a replay by node B.
func TestNonceSharedAcrossNodes(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	key := accesskey.Key{ID: "LTAIfleetkey000000000001", Secret: "fleet-secret-0123456789abcdef"}
	a := startNodeOn(t, dsn, key).addr
	b := startNodeOn(t, dsn, key).addr
	for _, v2 := range []bool{false, true} {
		cfg := &openapiutil.Config{AccessKeyId: tea.String(key.ID), AccessKeySecret: tea.String(key.Secret),
			Endpoint: tea.String(a), Protocol: tea.String("http"), HttpClient: toBoth{a, b}}
		if v2 {
			cfg.SignatureAlgorithm = tea.String("v2")
		}
		c, err := openapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, apiErr := (&teaCaller{c}).call(t, "ListSites", nil)
		if apiErr == nil || apiErr.Code != "SignatureNonceUsed" {
			t.Errorf("v2=%v: node B answered %v, want SignatureNonceUsed", v2, apiErr)
		}
	}
}

// TestEdgesFollowAPINodesOnPostgres: a certificate set through one API node
// is served by the edges of both nodes on one PostgreSQL database within 1 s.
func TestEdgesFollowAPINodesOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	key := accesskey.Key{ID: "LTAIfleetkey000000000002", Secret: "fleet-secret-0123456789abcdeg"}
	a := startNodeOn(t, dsn, key)
	b := startNodeOn(t, dsn, key)
	c := teaKind(false).make(t, a.addr, key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Fleet Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.fleet-edge.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "fleet-edge.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	for _, n := range []*testNode{a, b} {
		if took, ok := within(time.Second, func() bool { return served(n.node.HTTPSAddr(), "www.fleet-edge.com") == fingerprint(leaf.Cert.Raw) }); !ok {
			t.Errorf("edge %s did not serve the certificate within 1s (%v)", n.node.HTTPSAddr(), took)
		}
	}
}

// TestFleetOfRoles runs the README's fleet on one PostgreSQL database: two
// API-only nodes and two edge-only nodes. The same certificate name set
// through both API nodes at once is taken exactly once; the winner is
// served by both edges within 1 s, though neither edge runs an API.
func TestFleetOfRoles(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	key := accesskey.Key{ID: "LTAIfleetkey000000000003", Secret: "fleet-secret-0123456789abcdeh"}
	role := func(roles string) *testNode {
		return startNodeCfg(t, dsn, key, func(cfg *config.Config) { cfg.Roles = roles })
	}
	api1, api2 := role("api"), role("api")
	edge1, edge2 := role("edge"), role("edge,renewer")
	c1 := teaKind(false).make(t, api1.addr, key, false)
	c2 := teaKind(true).make(t, api2.addr, key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Fleet Roles Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.fleet-roles.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c1, "CreateSite", map[string]string{"SiteName": "fleet-roles.com"})["SiteId"])
	set := map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM}
	var (
		wg   sync.WaitGroup
		errs [2]*apiError
	)
	for i, c := range []caller{c1, c2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.call(t, "SetCertificate", set)
		}()
	}
	wg.Wait()
	won := 0
	for _, e := range errs {
		switch {
		case e == nil:
			won++
		case e.Code != "Certificate.Duplicated":
			t.Errorf("the losing SetCertificate answered %v, want Certificate.Duplicated", e)
		}
	}
	if won != 1 {
		t.Fatalf("%d SetCertificate calls of one name succeeded, want exactly 1: %v", won, errs)
	}
	for _, e := range []*testNode{edge1, edge2} {
		if took, ok := within(time.Second, func() bool { return served(e.node.HTTPSAddr(), "www.fleet-roles.com") == fingerprint(leaf.Cert.Raw) }); !ok {
			t.Errorf("edge %s did not serve the certificate within 1s (%v)", e.node.HTTPSAddr(), took)
		}
	}
	if api1.node.HTTPSAddr() != "" {
		t.Errorf("an API-only node listens for HTTPS on %s", api1.node.HTTPSAddr())
	}
}

// TestEdgesRideOutLostDatabaseConnections: every connection to the
// database is cut from the server side (as a PostgreSQL restart does).
// The edges keep serving what they have; once the nodes reconnect, a new
// certificate set through the API is served by both edges again. Then the
// database stays unreachable for one edge for a while (as a stopped
// server): it keeps serving, says it is stale, and catches up once the
// database is back.
func TestEdgesRideOutLostDatabaseConnections(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	proxy, viaProxy := storetest.NewProxy(t, dsn)
	key := accesskey.Key{ID: "LTAIfleetkey000000000004", Secret: "fleet-secret-0123456789abcdei"}
	a := startNodeOn(t, dsn, key)
	b := startNodeCfg(t, viaProxy, key, func(cfg *config.Config) { cfg.Roles = "edge" })
	c := teaKind(false).make(t, a.addr, key, false)
	leaf := leafMaker(t, "Cut Root")
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "cut-db.com"})["SiteId"])
	before := leaf("before.cut-db.com")
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": before.ChainPEM, "PrivateKey": before.KeyPEM})
	for _, n := range []*testNode{a, b} {
		if _, ok := within(2*time.Second, func() bool { return served(n.node.HTTPSAddr(), "before.cut-db.com") == fingerprint(before.Cert.Raw) }); !ok {
			t.Fatalf("edge %s does not serve the first certificate", n.node.HTTPSAddr())
		}
	}

	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var cut int
	if err := admin.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&cut); err != nil || cut == 0 {
		t.Fatalf("cut %d connections: %v", cut, err)
	}
	for _, n := range []*testNode{a, b} {
		if got := served(n.node.HTTPSAddr(), "before.cut-db.com"); got != fingerprint(before.Cert.Raw) {
			t.Errorf("edge %s stopped serving while the database was away", n.node.HTTPSAddr())
		}
	}

	after := leaf("after.cut-db.com")
	if _, ok := within(10*time.Second, func() bool {
		_, apiErr := c.call(t, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
			"Certificate": after.ChainPEM, "PrivateKey": after.KeyPEM})
		return apiErr == nil || apiErr.Code == "Certificate.Duplicated"
	}); !ok {
		t.Fatal("the API did not take writes again after the connections came back")
	}
	for _, n := range []*testNode{a, b} {
		if took, ok := within(5*time.Second, func() bool { return served(n.node.HTTPSAddr(), "after.cut-db.com") == fingerprint(after.Cert.Raw) }); !ok {
			t.Errorf("edge %s did not catch up after the cut (%v)", n.node.HTTPSAddr(), took)
		}
	}

	proxy.Down()
	later := leaf("later.cut-db.com")
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": later.ChainPEM, "PrivateKey": later.KeyPEM})
	if _, ok := within(5*time.Second, b.node.Edge().Stale); !ok {
		t.Fatal("the edge does not notice that its database is unreachable")
	}
	if got := served(b.node.HTTPSAddr(), "after.cut-db.com"); got != fingerprint(after.Cert.Raw) {
		t.Error("the edge stopped serving while its database was unreachable")
	}
	proxy.Up()
	if took, ok := within(10*time.Second, func() bool { return served(b.node.HTTPSAddr(), "later.cut-db.com") == fingerprint(later.Cert.Raw) }); !ok {
		t.Errorf("the edge did not catch up once its database was back (%v)", took)
	}
	if b.node.Edge().Stale() {
		t.Error("the edge still says it is stale")
	}
}

// TestQuotaAcrossAPINodes: a basic site's custom-certificate quota (5)
// filled from two API nodes at once is never exceeded: exactly 5 of 12
// concurrent uploads succeed, the others answer CertQuotaCheckFailed.
func TestQuotaAcrossAPINodes(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	key := accesskey.Key{ID: "LTAIfleetkey000000000005", Secret: "fleet-secret-0123456789abcdej"}
	a := startNodeCfg(t, dsn, key, func(cfg *config.Config) { cfg.Roles = "api" })
	b := startNodeCfg(t, dsn, key, func(cfg *config.Config) { cfg.Roles = "api" })
	clients := []caller{teaKind(false).make(t, a.addr, key, false), teaKind(true).make(t, b.addr, key, false)}
	siteID := str(mustOK(t, clients[0], "CreateSite", map[string]string{"SiteName": "fleet-quota.com"})["SiteId"])
	now := time.Now()
	ca := pkitest.NewCA(t, "Quota Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	const tries = 12
	leaves := make([]*pkitest.Leaf, tries)
	for i := range leaves {
		leaves[i] = ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{fmt.Sprintf("q%d.fleet-quota.com", i)},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	}
	var (
		wg   sync.WaitGroup
		errs [tries]*apiError
	)
	for i := range tries {
		// alibaba-cloud-sdk-go, a client each: the tea SDK shares one
		// http.Client per endpoint among its clients and sets its timeout on
		// every request, a data race when calls run at once.
		c := coreKind.make(t, []string{a.addr, b.addr}[i%2], key, false)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = c.call(t, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
				"Certificate": leaves[i].ChainPEM, "PrivateKey": leaves[i].KeyPEM})
		}()
	}
	wg.Wait()
	ok := 0
	for _, e := range errs {
		switch {
		case e == nil:
			ok++
		case e.Code != "CertQuotaCheckFailed":
			t.Errorf("a refused upload answered %v, want CertQuotaCheckFailed", e)
		}
	}
	if ok != 5 {
		t.Errorf("%d of %d concurrent uploads through two API nodes succeeded, want exactly the quota of 5", ok, tries)
	}
	quota := mustOK(t, clients[1], "GetCertificateQuota", map[string]string{"SiteId": siteID, "Type": "custom"})
	checkFields(t, "GetCertificateQuota", quota, map[string]string{"Quota": "5", "QuotaUsage": "5"})
}

// TestEdgeStartsFromItsSnapshotWhileTheDatabaseIsDown: an edge node that
// served a certificate is stopped; the database becomes unreachable for it
// while another node replaces that certificate. Started again, the edge
// node serves what it served before from its snapshot, and its API answers
// ServiceUnavailable; once the database is back it serves the new state and
// its API works. Without a snapshot the same start fails and says why.
func TestEdgeStartsFromItsSnapshotWhileTheDatabaseIsDown(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	proxy, viaProxy := storetest.NewProxy(t, dsn)
	key := accesskey.Key{ID: "LTAIfleetkey000000000007", Secret: "fleet-secret-0123456789abcdel"}
	a := startNodeOn(t, dsn, key)
	c := teaKind(false).make(t, a.addr, key, false)
	leaf := leafMaker(t, "Snapshot Root")
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "snap-db.com"})["SiteId"])
	before := leaf("www.snap-db.com")
	certID := str(mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Name": "www",
		"Certificate": before.ChainPEM, "PrivateKey": before.KeyPEM})["Id"])

	dataDir := t.TempDir()
	edgeOnly := func(cfg *config.Config) { cfg.Roles, cfg.DataDir = "api,edge", dataDir }
	b := startNodeCfg(t, viaProxy, key, edgeOnly)
	if _, ok := within(2*time.Second, func() bool { return served(b.node.HTTPSAddr(), "www.snap-db.com") == fingerprint(before.Cert.Raw) }); !ok {
		t.Fatal("the edge node does not serve the certificate")
	}
	// A change shortly before the edge node stops reaches the snapshot
	// through the last write at shutdown (the periodic one waits 10 s).
	late := leaf("late.snap-db.com")
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Name": "late",
		"Certificate": late.ChainPEM, "PrivateKey": late.KeyPEM})
	if _, ok := within(2*time.Second, func() bool { return served(b.node.HTTPSAddr(), "late.snap-db.com") == fingerprint(late.Cert.Raw) }); !ok {
		t.Fatal("the edge node does not serve the late certificate")
	}
	if err := b.node.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	proxy.Down()
	after := leaf("www.snap-db.com")
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Id": certID, "Update": "true",
		"Certificate": after.ChainPEM, "PrivateKey": after.KeyPEM})

	// Without a snapshot, a node that cannot reach its database does not start.
	cfg := b.cfg
	cfg.DataDir = t.TempDir()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	if n, err := node.Start(t.Context(), cfg, quiet); err == nil || !strings.Contains(err.Error(), "connection refused") ||
		!strings.Contains(err.Error(), "edge-snapshot does not exist yet") {
		if n != nil {
			n.Shutdown(t.Context())
		}
		t.Fatalf("a node without a snapshot started without its database, or did not say why: %v", err)
	}

	b = startNodeCfg(t, viaProxy, key, edgeOnly)
	if got := served(b.node.HTTPSAddr(), "www.snap-db.com"); got != fingerprint(before.Cert.Raw) {
		t.Fatal("the edge node started without its database does not serve its snapshot")
	}
	if got := served(b.node.HTTPSAddr(), "late.snap-db.com"); got != fingerprint(late.Cert.Raw) {
		t.Fatal("the change made just before shutdown is not in the snapshot")
	}
	bc := teaKind(true).make(t, b.addr, key, false)
	if _, apiErr := bc.call(t, "ListSites", nil); apiErr == nil || apiErr.Code != "ServiceUnavailable" || apiErr.Status != 503 {
		t.Fatalf("the API without its database answered %+v, want ServiceUnavailable (503)", apiErr)
	}
	if resp, err := http.Get("http://" + b.addr + "/healthz"); err != nil || resp.StatusCode != 503 {
		t.Fatalf("healthz without the database: %v %v", resp, err)
	}
	if resp, err := http.Get("http://" + b.addr + "/?Action=ListSites"); err != nil || resp.StatusCode != 503 ||
		resp.Header.Get("x-acs-retry-after") != "1000" {
		t.Fatalf("an API request without the database: %v %v (want 503 with x-acs-retry-after)", resp, err)
	}

	proxy.Up()
	if took, ok := within(10*time.Second, func() bool { return served(b.node.HTTPSAddr(), "www.snap-db.com") == fingerprint(after.Cert.Raw) }); !ok {
		t.Fatalf("the edge node did not catch up once the database was back (%v)", took)
	}
	if _, ok := within(5*time.Second, func() bool { _, apiErr := bc.call(t, "ListSites", nil); return apiErr == nil }); !ok {
		t.Fatal("the API did not start working once the database was back")
	}
	// The database goes away under a running API node: requests are answered
	// ServiceUnavailable, which clients retry, not InternalException.
	proxy.Down()
	if _, apiErr := bc.call(t, "ListSites", nil); apiErr == nil || apiErr.Code != "ServiceUnavailable" || apiErr.Status != 503 {
		t.Errorf("the API whose database went away answered %+v, want ServiceUnavailable (503)", apiErr)
	}
	if resp, err := http.Get("http://" + b.addr + "/healthz"); err != nil || resp.StatusCode != 503 {
		t.Errorf("healthz of an API node whose database went away: %v %v, want 503", resp, err)
	}
	proxy.Up()
	if _, ok := within(5*time.Second, func() bool {
		resp, err := http.Get("http://" + b.addr + "/healthz")
		return err == nil && resp.StatusCode == 200
	}); !ok {
		t.Error("healthz did not recover once the database was back")
	}
	if err := b.node.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A database that answers but refuses the node is not waited for: a
	// missing database stops the start despite the snapshot, and a master
	// key other than the database's stops the node once it is reached.
	missing := b.cfg
	missing.DB = strings.Replace(viaProxy, "/esacert_test_", "/esacert_missing_", 1)
	if n, err := node.Start(t.Context(), missing, quiet); err == nil || !strings.Contains(err.Error(), "does not exist") {
		if n != nil {
			n.Shutdown(t.Context())
		}
		t.Fatalf("a node whose database does not exist started from its snapshot, or did not say why: %v", err)
	}
	proxy.Down()
	wrongKey := b.cfg
	wrongKey.MasterKey = strings.Repeat("ab", 32)
	n, err := node.Start(t.Context(), wrongKey, quiet)
	if err != nil {
		t.Fatalf("an edge node with a snapshot did not start while the database was down: %v", err)
	}
	defer n.Shutdown(context.Background())
	proxy.Up()
	stopped := make(chan error, 1)
	go func() { stopped <- n.Wait() }()
	select {
	case err := <-stopped:
		if err == nil || !strings.Contains(err.Error(), "master key") {
			t.Errorf("the node stopped with %v, want a master key error", err)
		}
	case <-time.After(15 * time.Second):
		t.Error("a node with the wrong master key keeps running once the database answers")
	}
}

// TestFleetRidesOutAPostgreSQLRestart: the database server itself is
// stopped and started again (a server of this test's own). While it is
// down both edges keep serving; once it is up, writes through the API node
// succeed again and both edges serve them, the edge-only node woken again
// by LISTEN/NOTIFY or its poll.
func TestFleetRidesOutAPostgreSQLRestart(t *testing.T) {
	srv := storetest.NewServer(t)
	key := accesskey.Key{ID: "LTAIfleetkey000000000008", Secret: "fleet-secret-0123456789abcdem"}
	a := startNodeOn(t, srv.DSN(), key)
	b := startNodeCfg(t, srv.DSN(), key, func(cfg *config.Config) { cfg.Roles = "edge" })
	c := teaKind(false).make(t, a.addr, key, false)
	leaf := leafMaker(t, "Restart Root")
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "pg-restart.com"})["SiteId"])
	before := leaf("before.pg-restart.com")
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": before.ChainPEM, "PrivateKey": before.KeyPEM})
	edges := []*testNode{a, b}
	for _, n := range edges {
		if _, ok := within(2*time.Second, func() bool {
			return served(n.node.HTTPSAddr(), "before.pg-restart.com") == fingerprint(before.Cert.Raw)
		}); !ok {
			t.Fatalf("edge %s does not serve the first certificate", n.node.HTTPSAddr())
		}
	}

	srv.Stop()
	for _, n := range edges {
		if _, ok := within(5*time.Second, n.node.Edge().Stale); !ok {
			t.Errorf("edge %s does not notice that the database is down", n.node.HTTPSAddr())
		}
		if got := served(n.node.HTTPSAddr(), "before.pg-restart.com"); got != fingerprint(before.Cert.Raw) {
			t.Errorf("edge %s stopped serving while the database was down", n.node.HTTPSAddr())
		}
	}
	srv.Start()

	after := leaf("after.pg-restart.com")
	if _, ok := within(15*time.Second, func() bool {
		_, apiErr := c.call(t, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
			"Certificate": after.ChainPEM, "PrivateKey": after.KeyPEM})
		return apiErr == nil || apiErr.Code == "Certificate.Duplicated"
	}); !ok {
		t.Fatal("the API did not take writes again after the restart")
	}
	for _, n := range edges {
		if took, ok := within(5*time.Second, func() bool { return served(n.node.HTTPSAddr(), "after.pg-restart.com") == fingerprint(after.Cert.Raw) }); !ok {
			t.Errorf("edge %s did not catch up after the restart (%v)", n.node.HTTPSAddr(), took)
		}
		// A refresh may still fail once on a pooled connection the restart
		// broke (the next poll takes a new one); the edge must not stay stale.
		if took, ok := within(5*time.Second, func() bool { return !n.node.Edge().Stale() }); !ok {
			t.Errorf("edge %s still says it is stale %v after catching up", n.node.HTTPSAddr(), took)
		}
	}
}

// leafMaker returns a function that issues, from a new test CA, a leaf
// certificate for one name, valid from an hour ago for 60 days.
func leafMaker(t *testing.T, caName string) func(name string) *pkitest.Leaf {
	now := time.Now()
	ca := pkitest.NewCA(t, caName, now.Add(-time.Hour), now.Add(365*24*time.Hour))
	return func(name string) *pkitest.Leaf {
		return ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	}
}
