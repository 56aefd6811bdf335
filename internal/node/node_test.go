package node

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/store/sqlstore"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/storetest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func testConfig(t *testing.T) config.Config {
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "esacert.db")
	cfg.APIAddr = "127.0.0.1:0"
	cfg.HTTPSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	// A UDP port of its own: the HTTPS listener's number may be taken over
	// UDP (TestHTTP3Node tests the default, the same number).
	cfg.HTTP3Addr = "127.0.0.1:0"
	return cfg
}

// call sends one signed request to a running node and returns the body.
func call(t *testing.T, n *Node, version, action string, query map[string]string) map[string]any {
	t.Helper()
	res, err := request(n, version, action, query)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	raw, _ := json.Marshal(res["body"])
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m
}

func stop(t *testing.T, n *Node) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestPostgresNeedsASharedMasterKey(t *testing.T) {
	cfg := testConfig(t)
	cfg.DB = storetest.PostgresDatabase(t)
	_, err := Start(t.Context(), cfg, quiet)
	if err == nil || !strings.Contains(err.Error(), "master key") {
		t.Fatalf("a PostgreSQL node started without a shared master key: %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}

func jsonNumber(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}

// callErr sends one signed request and returns the client's error.
func callErr(t *testing.T, n *Node, version, action string, query map[string]string) error {
	t.Helper()
	_, err := request(n, version, action, query)
	return err
}

// request sends one RPC-signed ESA request with the node's root key and
// returns what the client answers.
func request(n *Node, version, action string, query map[string]string) (map[string]any, error) {
	k := n.RootKey()
	c, err := openapi.NewClient(&openapiutil.Config{AccessKeyId: tea.String(k.ID), AccessKeySecret: tea.String(k.Secret),
		Endpoint: tea.String(n.APIAddr()), Protocol: tea.String("http")})
	if err != nil {
		return nil, err
	}
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	return c.CallApi(&openapiutil.Params{Action: tea.String(action), Version: tea.String(version), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json")}, &openapiutil.OpenApiRequest{Query: q}, &dara.RuntimeOptions{})
}

// TestEdgeFollowsAnotherProcess: an edge-only node and an API-only node on
// one SQLite file; what the API node commits, the edge serves within a
// second (by polling the revision: no in-process wake-up crosses nodes).
// Then the edge's database is closed under it: it keeps serving.
func TestEdgeFollowsAnotherProcess(t *testing.T) {
	apiCfg := testConfig(t)
	apiCfg.Roles = "api"
	a, err := Start(t.Context(), apiCfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, a)
	edgeCfg := apiCfg
	edgeCfg.Roles = "edge"
	// A data directory of its own (a node holds its directory), the API
	// node's database and master key.
	edgeCfg.DataDir = t.TempDir()
	edgeCfg.MasterKeyFile = filepath.Join(apiCfg.DataDir, MasterKeyFile)
	e, err := Start(t.Context(), edgeCfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Shutdown(context.Background())
	if a.HTTPSAddr() != "" || e.APIAddr() != "" {
		t.Fatal("a node runs a role it was not given")
	}
	now := time.Now()
	ca := pkitest.NewCA(t, "Follow Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.follow.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	site := call(t, a, "2024-09-10", "CreateSite", map[string]string{"SiteName": "follow.com"})
	call(t, a, "2024-09-10", "SetCertificate", map[string]string{"SiteId": jsonNumber(site["SiteId"]), "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	handshake := func() error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", e.HTTPSAddr(),
			&tls.Config{ServerName: "www.follow.com", InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
		}
		return err
	}
	deadline := time.Now().Add(time.Second)
	for handshake() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the edge did not serve another process's certificate within 1s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The database goes away under the edge: it keeps serving its index.
	e.db.Load().Close()
	e.Edge().Refresh(context.Background())
	if !e.Edge().Stale() {
		t.Fatal("the refresh did not notice that the database is gone")
	}
	if err := handshake(); err != nil {
		t.Fatalf("the edge stopped serving when its database went away: %v", err)
	}
}

// TestDNSProviderRefusedAtStart: an unknown DNS provider, or a known one
// without its credentials, stops the start with a message naming the
// setting, before anything listens.
func TestDNSProviderRefusedAtStart(t *testing.T) {
	t.Setenv("CLOUDFLARE_DNS_API_TOKEN", "")
	t.Setenv("CLOUDFLARE_EMAIL", "")
	t.Setenv("CLOUDFLARE_API_KEY", "")
	t.Setenv("CF_DNS_API_TOKEN", "")
	t.Setenv("CF_API_EMAIL", "")
	t.Setenv("CF_API_KEY", "")
	for provider, want := range map[string]string{"nosuchdns": "nosuchdns", "cloudflare": "cloudflare"} {
		cfg := testConfig(t)
		cfg.ACMEDNSProvider = provider
		n, err := Start(t.Context(), cfg, quiet)
		if err == nil {
			n.Shutdown(context.Background())
			t.Fatalf("%s: the node started", provider)
		}
		if !strings.Contains(err.Error(), "--acme-dns-provider") || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", provider, err)
		}
	}
}

// TestMigrateToPostgres: a SQLite deployment copied with Migrate into an
// empty PostgreSQL database serves the same sites, certificates (their keys
// still sealed, opened with the same master key) and repository entries
// from a PostgreSQL node; a second copy into the now full database is
// refused.
func TestMigrateToPostgres(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := pkitest.NewCA(t, "Migrate Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.migrate.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "migrate.com"})["SiteId"])
	certID := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})["Id"].(string)
	call(t, n, "2020-04-07", "UploadUserCertificate", map[string]string{"Name": "mig", "Cert": leaf.ChainPEM, "Key": leaf.KeyPEM})
	clientCert := call(t, n, "2024-09-10", "CreateClientCertificate", map[string]string{"SiteId": siteID, "ValidityDays": "30", "PkeyType": "ECDSA"})
	call(t, n, "2024-09-10", "UploadClientCaCertificate", map[string]string{"SiteId": siteID, "Certificate": ca.CertPEM})
	before := call(t, n, "2024-09-10", "GetCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	stop(t, n)
	// A free certificate still being applied for: its sealed key is an
	// empty value, which must survive the move as such.
	st, err := sqlstore.Open(t.Context(), cfg.DB)
	if err != nil {
		t.Fatal(err)
	}
	sid, _ := strconv.ParseInt(siteID, 10, 64)
	if _, err := st.CreateFree(t.Context(), []cert.Certificate{{ID: "00000000000000000000000000000abc", SiteID: sid,
		Name: "free.migrate.com", Type: cert.TypeFree, Created: now, Updated: now,
		Free: cert.FreeState{Status: cert.StatusApplying, CA: "lets_encrypt", Next: now.Add(time.Hour)}}}, 0); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cfg.MigrateTo = storetest.PostgresDatabase(t)
	last := map[string][2]int{}
	tables, err := Migrate(t.Context(), cfg, func(step string, done, total int) {
		if prev := last[step]; done < prev[0] || done > total {
			t.Errorf("progress of %s went from %d to %d of %d", step, prev[0], done, total)
		}
		last[step] = [2]int{done, total}
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, sum := map[string]int{}, 0
	for _, tc := range tables {
		rows[tc.Table] = tc.Rows
		sum += tc.Rows
		if len(tc.Fingerprint) != 64 {
			t.Errorf("%s has no fingerprint", tc.Table)
		}
	}
	if last["copy"] != [2]int{sum, sum} || last["check"] != [2]int{2 * sum, 2 * sum} {
		t.Errorf("the last progress heard: %v, want copy %d of %d and check %d of %d", last, sum, sum, 2*sum, 2*sum)
	}
	if rows["sites"] != 1 || rows["certificates"] != 2 || rows["repo_certs"] != 1 || rows["meta"] == 0 ||
		rows["client_issuers"] != 1 || rows["client_certificates"] != 1 || rows["client_ca_certificates"] != 1 ||
		rows["ocsp_responses"] != 1 {
		t.Fatalf("copied %v", rows)
	}
	if _, err := Migrate(t.Context(), cfg, nil); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Fatalf("a second copy into the full database: %v", err)
	}

	pg := cfg
	pg.DB, pg.MigrateTo = cfg.MigrateTo, ""
	pg.MasterKeyFile = filepath.Join(cfg.DataDir, MasterKeyFile)
	n, err = Start(t.Context(), pg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	after := call(t, n, "2024-09-10", "GetCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	delete(before, "RequestId")
	delete(after, "RequestId")
	// Result.Ocsp moves with the certificate, but the OCSP refresher of
	// either node may have looked at it in between (pending, then none for
	// a leaf that names no responder): compare the rest.
	for _, m := range []map[string]any{before, after} {
		if r, ok := m["Result"].(map[string]any); ok {
			delete(r, "Ocsp")
		}
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Errorf("GetCertificate differs after the move:\n%v\n%v", before, after)
	}
	if got := call(t, n, "2020-04-07", "ListUserCertificateOrder", map[string]string{"OrderType": "UPLOAD"}); jsonNumber(got["TotalCount"]) != "1" {
		t.Errorf("repository after the move: %v", got)
	}
	// The site's client CA moved with its sealed key: it still signs.
	if got := call(t, n, "2024-09-10", "CreateClientCertificate", map[string]string{"SiteId": siteID, "ValidityDays": "30", "PkeyType": "ECDSA"}); got["CACertificateId"] != clientCert["CACertificateId"] {
		t.Errorf("after the move a client certificate was signed by %v, want the moved CA %v", got["CACertificateId"], clientCert["CACertificateId"])
	}
	// The sealed key opens under the same master key: the edge serves it.
	conn, err := tls.Dial("tcp", n.HTTPSAddr(), &tls.Config{ServerName: "www.migrate.com", InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("the edge does not serve the moved certificate: %v", err)
	}
	conn.Close()
}

// dbConfig is testConfig on db ("sqlite": the data directory's file;
// "postgres": a database of its own, whose master key is masterKeyByte
// repeated).
func dbConfig(t *testing.T, db, masterKeyByte string) config.Config {
	t.Helper()
	cfg := testConfig(t)
	if db == "postgres" {
		cfg.DB = storetest.PostgresDatabase(t)
		cfg.MasterKey = strings.Repeat(masterKeyByte, 32)
	}
	return cfg
}

// startTwoNodes starts a node with all roles and a second, edge-only node
// on the same database: a SQLite file (the edge reads the first node's
// master key file) or, for db "postgres", a fresh PostgreSQL database
// with the master key masterKeyByte repeated 32 times. The caller stops
// both (deferred, so that they stop before t.Context is canceled).
func startTwoNodes(t *testing.T, db, masterKeyByte string) (a, b *Node) {
	t.Helper()
	return startTwoNodesWith(t, db, masterKeyByte, nil)
}

// startTwoNodesWith is startTwoNodes with both nodes' configuration changed
// by configure first.
func startTwoNodesWith(t *testing.T, db, masterKeyByte string, configure func(*config.Config)) (a, b *Node) {
	t.Helper()
	cfg := dbConfig(t, db, masterKeyByte)
	if configure != nil {
		configure(&cfg)
	}
	a, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	bCfg := cfg
	bCfg.Roles = "edge"
	bCfg.DataDir = t.TempDir()
	if db == "sqlite" {
		bCfg.MasterKeyFile = filepath.Join(cfg.DataDir, MasterKeyFile)
	}
	b, err = Start(t.Context(), bCfg, quiet)
	if err != nil {
		stop(t, a)
		t.Fatal(err)
	}
	return a, b
}
