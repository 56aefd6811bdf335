package node

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/acme/acmetest"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/storetest"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrapeMetrics gets http://addr/metrics and parses it.
func scrapeMetrics(t *testing.T, addr string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// sample returns the value of the series of family name whose labels
// include want ("k=v" each), and whether there is one: a counter's or a
// gauge's value, a histogram's count.
func sample(fams map[string]*dto.MetricFamily, name string, want ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for _, w := range want {
			k, v, _ := strings.Cut(w, "=")
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// get returns the status and body of GET url.
func get(t *testing.T, client *http.Client, url, host string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// poll runs cond every 20ms until it holds or d passes, and reports
// whether it held.
func poll(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// TestMetrics runs a whole node with its metrics listener and a real ACME
// CA (Pebble): API calls, TLS handshakes and free certificates (one
// issued, one failing) show in /metrics, scraped over HTTP, with their
// values, and with every series the alert rules and the dashboard in
// deploy/ read; pprof answers on the metrics listener only.
func TestMetrics(t *testing.T) {
	httpPort := acmetest.FreePort(t)
	var down atomic.Bool
	dir, roots := acmetest.Pebble(t, httpPort, &down)
	cfg := testConfig(t)
	cfg.HTTPAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(httpPort))
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.ACMECAs, cfg.ACMECARoots = "pebble="+dir, roots
	cfg.RenewPoll, cfg.RetryBase = "200ms", "1h"
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	if n.MetricsAddr() == "" || n.MetricsAddr() == n.APIAddr() {
		t.Fatalf("metrics listen on %q", n.MetricsAddr())
	}

	now := time.Now()
	ca := pkitest.NewCA(t, "Metrics Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.metrics.test"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(10 * 24 * time.Hour)}) // Expiring
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "metrics.test"})["SiteId"])
	uploaded := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})["Id"].(string)
	if callErr(t, n, "2024-09-10", "GetSite", map[string]string{"SiteId": "42"}) == nil {
		t.Fatal("GetSite of no site succeeded")
	}
	apply := func(domain string) string {
		res := call(t, n, "2024-09-10", "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": domain, "Type": "pebble"})
		return res["Result"].([]any)[0].(map[string]any)["Id"].(string)
	}
	issued, failing := apply("free.metrics.test"), apply("elsewhere.metrics.test")
	status := func(id string) string {
		res := call(t, n, "2024-09-10", "GetCertificate", map[string]string{"SiteId": siteID, "Id": id})
		s, _ := res["Result"].(map[string]any)["Status"].(string)
		return s
	}
	if !poll(30*time.Second, func() bool { return status(issued) == "OK" && status(failing) == "ApplyFailed" }) {
		t.Fatalf("free certificates: %s, %s", status(issued), status(failing))
	}

	dial := func(name string) error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", n.HTTPSAddr(),
			&tls.Config{ServerName: name, InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
		}
		return err
	}
	for range 3 {
		if err := dial("www.metrics.test"); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"nosuch.metrics.test", "www.other.test"} {
		if dial(name) == nil {
			t.Fatalf("%s was served", name)
		}
	}

	// The edge tells a handshake's outcome as its side ends, which may be
	// after the client's: scrape until the counts are there.
	var fams map[string]*dto.MetricFamily
	if !poll(10*time.Second, func() bool {
		fams = scrapeMetrics(t, n.MetricsAddr())
		served, _ := sample(fams, "esacert_edge_tls_handshakes_total", "transport=tcp", "outcome=served")
		unknown, _ := sample(fams, "esacert_edge_tls_handshakes_total", "transport=tcp", "outcome=unknown_name")
		// The duration is observed just after the count: a scrape may fall between.
		timed, _ := sample(fams, "esacert_edge_tls_handshake_duration_seconds", "transport=tcp", "outcome=served")
		return served >= 3 && unknown >= 2 && timed >= 3
	}) {
		t.Error("the handshakes did not reach /metrics")
	}
	exactly := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"esacert_api_requests_total", []string{"action=CreateSite", "code=OK"}, 1},
		{"esacert_api_requests_total", []string{"action=SetCertificate", "code=OK"}, 1},
		{"esacert_api_requests_total", []string{"action=GetSite", "code=SiteNotFound"}, 1},
		{"esacert_api_requests_total", []string{"action=ApplyCertificate", "code=OK"}, 2},
		{"esacert_api_request_duration_seconds", []string{"action=CreateSite"}, 1},
		{"esacert_edge_tls_handshakes_total", []string{"transport=tcp", "outcome=served"}, 3},
		{"esacert_edge_tls_handshakes_total", []string{"transport=tcp", "outcome=unknown_name"}, 2},
		{"esacert_edge_tls_handshakes_total", []string{"transport=tcp", "outcome=alert"}, 0},
		{"esacert_edge_tls_handshake_duration_seconds", []string{"transport=tcp", "outcome=served"}, 3},
		// One certificate served three times: built once, then held.
		{"esacert_edge_cert_cache_misses_total", nil, 1},
		{"esacert_edge_cert_cache_hits_total", nil, 2},
		{"esacert_edge_cert_cache_evictions_total", nil, 0},
		{"esacert_edge_cert_cache_entries", nil, 1},
		{"esacert_edge_cert_cache_capacity", nil, 10000},
		{"esacert_certificates", []string{"site=metrics.test", "type=upload", "status=Expiring"}, 1},
		{"esacert_certificates", []string{"site=metrics.test", "type=free", "status=OK"}, 1},
		{"esacert_certificates", []string{"site=metrics.test", "type=free", "status=ApplyFailed"}, 1},
		{"esacert_certificate_not_after_timestamp_seconds", []string{"certificate_id=" + uploaded, "site=metrics.test", "type=upload"},
			float64(leaf.Cert.NotAfter.Unix())},
		{"esacert_certificate_consecutive_failures", []string{"certificate_id=" + failing, "apply_code=2"}, 1},
		{"esacert_acme_orders_total", []string{"ca=pebble", "result=issued"}, 1},
		{"esacert_acme_orders_total", []string{"ca=pebble", "result=failed"}, 1},
		{"esacert_acme_orders_total", []string{"ca=lets_encrypt", "result=issued"}, 0},
		{"esacert_acme_order_failures_total", []string{"ca=pebble", "apply_code=2"}, 1},
		{"esacert_acme_order_duration_seconds", []string{"ca=pebble"}, 2},
		{"esacert_certificate_renewals_total", []string{"result=issued"}, 0},
		{"esacert_edge_stale", nil, 0},
		{"esacert_ready", nil, 1},
		{"esacert_db_errors_total", []string{"source=edge"}, 0},
	}
	for _, e := range exactly {
		if got, ok := sample(fams, e.name, e.labels...); !ok || got != e.want {
			t.Errorf("%s%v = %v (found %v), want %v", e.name, e.labels, got, ok, e.want)
		}
	}
	// Values known only roughly, and series that must be there.
	for _, e := range []struct {
		name   string
		labels []string
		ok     func(v float64) bool
	}{
		{"esacert_certificate_next_renewal_timestamp_seconds", []string{"certificate_id=" + issued}, func(v float64) bool { return v > float64(now.Unix()) }},
		{"esacert_certificate_next_renewal_timestamp_seconds", []string{"certificate_id=" + failing}, func(v float64) bool { return v > float64(now.Unix()) }},
		{"esacert_certificate_not_after_timestamp_seconds", []string{"certificate_id=" + issued, "type=free"}, func(v float64) bool { return v > float64(now.Unix()) }},
		{"esacert_edge_index_revision", nil, func(v float64) bool { return v > 0 }},
		{"esacert_edge_revision_lag", nil, func(v float64) bool { return v >= 0 }},
		{"esacert_edge_index_names", nil, func(v float64) bool { return v >= 2 }},
		{"esacert_db_open_connections", nil, func(v float64) bool { return v >= 1 }},
		{"esacert_db_max_open_connections", nil, func(v float64) bool { return v >= 0 }},
		{"esacert_certificates_read_timestamp_seconds", nil, func(v float64) bool { return v >= float64(now.Unix()) }},
		{"go_goroutines", nil, func(v float64) bool { return v > 0 }},
		{"process_resident_memory_bytes", nil, func(v float64) bool { return v > 0 }},
	} {
		if got, ok := sample(fams, e.name, e.labels...); !ok || !e.ok(got) {
			t.Errorf("%s%v = %v (found %v)", e.name, e.labels, got, ok)
		}
	}
	// What the operator's alert rules and dashboard read is all served.
	checkDeployFiles(t, fams)
	if !poll(10*time.Second, func() bool {
		lag, ok := sample(scrapeMetrics(t, n.MetricsAddr()), "esacert_edge_revision_lag")
		return ok && lag == 0
	}) {
		t.Error("the edge's lag did not come back to 0")
	}

	// pprof, /healthz and /readyz answer on the metrics listener; pprof and
	// /metrics nowhere else.
	plainClient := &http.Client{Timeout: 10 * time.Second}
	for path, want := range map[string]string{"/debug/pprof/": "goroutine", "/debug/pprof/heap?debug=1": "heap profile",
		"/healthz": "ok", "/readyz": "ok"} {
		if code, body := get(t, plainClient, "http://"+n.MetricsAddr()+path, ""); code != 200 || !strings.Contains(body, want) {
			t.Errorf("metrics listener %s: %d %.200q", path, code, body)
		}
	}
	// The command line is not served: it may hold a DSN with a password.
	if code, body := get(t, plainClient, "http://"+n.MetricsAddr()+"/debug/pprof/cmdline", ""); code == 200 {
		t.Errorf("the metrics listener serves the command line: %.200q", body)
	}
	tlsClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, n.HTTPSAddr())
		}}}
	for _, path := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/cmdline", "/metrics"} {
		for _, where := range []struct {
			name   string
			client *http.Client
			url    string
		}{
			{"api", plainClient, "http://" + n.APIAddr() + path},
			{"edge_http", plainClient, "http://" + n.HTTPAddr() + path},
			{"edge_https", tlsClient, "https://www.metrics.test" + path},
		} {
			code, body := get(t, where.client, where.url, "www.metrics.test")
			if code != http.StatusNotFound || strings.Contains(body, "goroutine") || strings.Contains(body, "esacert_") {
				t.Errorf("%s %s: %d %.200q, want 404", where.name, path, code, body)
			}
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, plainClient, "http://"+n.APIAddr()+path, ""); code != 200 || body != "ok\n" {
			t.Errorf("API %s: %d %q", path, code, body)
		}
	}
}

// TestNoMetricsByDefault: without --metrics-addr no listener serves
// metrics, and the API's answers do not offer them.
func TestNoMetricsByDefault(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	if n.MetricsAddr() != "" || n.metrics != nil {
		t.Fatalf("metrics without a metrics address: %q", n.MetricsAddr())
	}
	code, _ := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+n.APIAddr()+"/metrics", "")
	if code != http.StatusNotFound {
		t.Errorf("API /metrics: %d", code)
	}
}

// TestReadyz: an edge node that starts from its snapshot because its
// database (PostgreSQL, through a proxy) cannot be reached is alive but not
// ready: /readyz answers 503 with the reason, on the metrics listener, and
// esacert_ready is 0; once the database is back it is ready (200); when the
// database goes away again, the edge serves its last state and is not
// ready.
func TestReadyz(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	proxy, viaProxy := storetest.NewProxy(t, dsn)
	cfg := testConfig(t)
	cfg.DB = viaProxy
	cfg.Roles = "edge"
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.MasterKey = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	first, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	readyz := func(n *Node) (int, string) {
		return get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+n.MetricsAddr()+"/readyz", "")
	}
	if code, body := readyz(first); code != 200 {
		t.Fatalf("a node on a database that answers: /readyz %d %q", code, body)
	}
	stop(t, first) // writes the snapshot

	proxy.Down()
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	if !n.Edge().Stale() {
		t.Fatal("the edge did not start from its snapshot")
	}
	code, body := readyz(n)
	if code != http.StatusServiceUnavailable || body != errNotReached.Error()+"\n" {
		t.Errorf("before the database is reached: /readyz %d %q", code, body)
	}
	if code, _ := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+n.MetricsAddr()+"/healthz", ""); code != http.StatusServiceUnavailable {
		t.Errorf("before the database is reached: /healthz %d", code)
	}
	fams := scrapeMetrics(t, n.MetricsAddr())
	for name, want := range map[string]float64{"esacert_ready": 0, "esacert_edge_stale": 1} {
		if got, ok := sample(fams, name); !ok || got != want {
			t.Errorf("before the database is reached: %s = %v (%v), want %v", name, got, ok, want)
		}
	}

	proxy.Up()
	if !poll(20*time.Second, func() bool { code, _ := readyz(n); return code == 200 }) {
		code, body := readyz(n)
		t.Fatalf("the database is back, yet /readyz answers %d %q", code, body)
	}
	if got, _ := sample(scrapeMetrics(t, n.MetricsAddr()), "esacert_ready"); got != 1 {
		t.Errorf("ready, yet esacert_ready = %v", got)
	}

	proxy.Down()
	if !poll(20*time.Second, func() bool { code, _ := readyz(n); return code == http.StatusServiceUnavailable }) {
		t.Fatal("the database went away, yet the node says it is ready")
	}
	if _, body := readyz(n); body != errDatabaseDown.Error()+"\n" && body != errEdgeStale.Error()+"\n" {
		t.Errorf("why not ready: %q", body)
	}
	if !poll(20*time.Second, func() bool {
		errs, _ := sample(scrapeMetrics(t, n.MetricsAddr()), "esacert_db_errors_total", "source=edge")
		return errs > 0
	}) {
		t.Error("the edge's failed reads are not counted")
	}
	proxy.Up()
}

// TestMetricsAddrInUse: a metrics address that cannot be bound stops the
// start, and leaves the other addresses free.
func TestMetricsAddrInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg := testConfig(t)
	cfg.MetricsAddr = taken.Addr().String()
	if _, err := Start(t.Context(), cfg, quiet); err == nil || !strings.Contains(err.Error(), "metrics") {
		t.Fatalf("started on a taken metrics address: %v", err)
	}
}
