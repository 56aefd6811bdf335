package metrics

import (
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// scrape gets m's /metrics over HTTP and parses it.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %d %s", resp.StatusCode, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// values returns the values of family name by their labels, written
// name=value,… in the order of the family's labels.
func values(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	f := fams[name]
	if f == nil {
		return out
	}
	for _, m := range f.Metric {
		var k []string
		for _, l := range m.Label {
			k = append(k, l.GetName()+"="+l.GetValue())
		}
		var v float64
		switch {
		case m.Counter != nil:
			v = m.Counter.GetValue()
		case m.Gauge != nil:
			v = m.Gauge.GetValue()
		case m.Histogram != nil:
			v = float64(m.Histogram.GetSampleCount())
		}
		out[strings.Join(k, ",")] = v
	}
	return out
}

// certSource is a certificate list that counts its reads and can fail.
type certSource struct {
	mu    sync.Mutex
	certs []cert.Summary
	reads int
	fail  bool
}

func (s *certSource) read(context.Context) ([]cert.Summary, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reads++
	if s.fail {
		return nil, errors.New("database is locked")
	}
	return s.certs, nil
}

// TestCertificates: the certificates' counts by site, type and status, each
// one's NotAfter, each free one's next renewal and failures; read again only
// after 30 seconds, and kept when a read fails.
func TestCertificates(t *testing.T) {
	clock := now
	src := &certSource{certs: []cert.Summary{
		{ID: "a1", SiteName: "one.com", Name: "alpha", Type: cert.TypeUpload, NotAfter: now.Add(90 * 24 * time.Hour), Issued: true},
		{ID: "b1", SiteName: "one.com", Name: "beta", Type: cert.TypeUpload, NotAfter: now.Add(10 * 24 * time.Hour), Issued: true},
		{ID: "f1", SiteName: "two.com", Name: "www.two.com", Type: cert.TypeFree, NotAfter: now.Add(60 * 24 * time.Hour), Issued: true,
			Free: cert.FreeState{Next: now.Add(30 * 24 * time.Hour)}},
		{ID: "f2", SiteName: "two.com", Name: "api.two.com", Type: cert.TypeFree,
			Free: cert.FreeState{Status: cert.StatusApplyFailed, Code: 2, Attempts: 3, Next: now.Add(time.Hour)}},
		{ID: "x1", SiteName: "bad\xffsite.com", Name: "odd\xfe", Type: cert.TypeUpload, NotAfter: now.Add(-time.Hour), Issued: true},
	}}
	m := New(Sources{Certificates: src.read, Now: func() time.Time { return clock }}, nil)
	fams := scrape(t, m)
	if diff := cmp.Diff(map[string]float64{
		"site=one.com,status=OK,type=upload":                1,
		"site=one.com,status=Expiring,type=upload":          1,
		"site=two.com,status=OK,type=free":                  1,
		"site=two.com,status=ApplyFailed,type=free":         1,
		"site=bad\uFFFDsite.com,status=Expired,type=upload": 1,
	}, values(fams, "esacert_certificates")); diff != "" {
		t.Errorf("esacert_certificates (-want +got):\n%s", diff)
	}
	day := float64(24 * 3600)
	base := float64(now.Unix())
	if diff := cmp.Diff(map[string]float64{
		"certificate_id=a1,name=alpha,site=one.com,type=upload":               base + 90*day,
		"certificate_id=b1,name=beta,site=one.com,type=upload":                base + 10*day,
		"certificate_id=f1,name=www.two.com,site=two.com,type=free":           base + 60*day,
		"certificate_id=x1,name=odd\uFFFD,site=bad\uFFFDsite.com,type=upload": base - 3600,
	}, values(fams, "esacert_certificate_not_after_timestamp_seconds")); diff != "" {
		t.Errorf("NotAfter (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{
		"certificate_id=f1,name=www.two.com,site=two.com": base + 30*day,
		"certificate_id=f2,name=api.two.com,site=two.com": base + 3600,
	}, values(fams, "esacert_certificate_next_renewal_timestamp_seconds")); diff != "" {
		t.Errorf("next renewal (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{"apply_code=2,certificate_id=f2,name=api.two.com,site=two.com": 3},
		values(fams, "esacert_certificate_consecutive_failures")); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}

	// Within 30 seconds the store is not read again; after, it is.
	src.mu.Lock()
	src.certs = src.certs[:1]
	src.mu.Unlock()
	clock = now.Add(29 * time.Second)
	if got := len(values(scrape(t, m), "esacert_certificate_not_after_timestamp_seconds")); got != 4 || src.reads != 1 {
		t.Errorf("a scrape within 30s read the store (%d reads, %d series)", src.reads, got)
	}
	clock = now.Add(31 * time.Second)
	if got := len(values(scrape(t, m), "esacert_certificate_not_after_timestamp_seconds")); got != 1 || src.reads != 2 {
		t.Errorf("a scrape after 30s: %d reads, %d series", src.reads, got)
	}
	// A failed read keeps the last series, and is counted.
	src.mu.Lock()
	src.fail = true
	src.mu.Unlock()
	clock = now.Add(2 * time.Minute)
	fams = scrape(t, m)
	if got := len(values(fams, "esacert_certificate_not_after_timestamp_seconds")); got != 1 {
		t.Errorf("after a failed read: %d series, want the last 1", got)
	}
	if got := values(fams, "esacert_db_errors_total")["source=metrics"]; got != 1 {
		t.Errorf("db errors from the metrics = %v, want 1", got)
	}
	if got := values(fams, "esacert_certificates_read_timestamp_seconds")[""]; got != base+31 {
		t.Errorf("read at %v, want %v", got, base+31)
	}
}

// TestObservers: requests, handshakes and issuance attempts are counted
// with their labels; the counters of known outcomes, CAs and database error
// sources exist from the start.
func TestObservers(t *testing.T) {
	m := New(Sources{CAs: []string{"lets_encrypt"}}, []string{"served", "unknown_name", "passthrough"})
	fams := scrape(t, m)
	for name, want := range map[string]map[string]float64{
		"esacert_edge_tls_handshakes_total": {"outcome=served,transport=tcp": 0, "outcome=unknown_name,transport=tcp": 0, "outcome=passthrough,transport=tcp": 0,
			"outcome=served,transport=quic": 0, "outcome=unknown_name,transport=quic": 0},
		"esacert_acme_orders_total": {"ca=lets_encrypt,result=issued": 0, "ca=lets_encrypt,result=failed": 0},
		"esacert_db_errors_total":   {"source=ping": 0, "source=edge": 0, "source=metrics": 0},
	} {
		if diff := cmp.Diff(want, values(fams, name)); diff != "" {
			t.Errorf("%s at the start (-want +got):\n%s", name, diff)
		}
	}
	m.Request("GetSite", "OK", time.Millisecond)
	m.Request("GetSite", "OK", time.Millisecond)
	m.Request("", "InvalidAction.NotFound", time.Millisecond)
	m.Handshake("tcp", "served", time.Millisecond)
	m.Handshake("tcp", "passthrough", time.Minute)
	m.Handshake("quic", "served", time.Millisecond)
	m.Handshake("quic", "served", time.Millisecond)
	m.Handshake("quic", "alert", time.Millisecond)
	m.IssuanceAttempt(cert.Attempt{CA: "lets_encrypt", Took: time.Second})
	m.IssuanceAttempt(cert.Attempt{CA: "lets_encrypt", Renewal: true, Code: 2, Took: time.Second})
	m.DBError(DBErrorPing)
	fams = scrape(t, m)
	for name, want := range map[string]map[string]float64{
		"esacert_api_requests_total":           {"action=GetSite,code=OK": 2, "action=,code=InvalidAction.NotFound": 1},
		"esacert_api_request_duration_seconds": {"action=GetSite": 2, "action=": 1},
		"esacert_edge_tls_handshakes_total": {"outcome=served,transport=tcp": 1, "outcome=unknown_name,transport=tcp": 0, "outcome=passthrough,transport=tcp": 1,
			"outcome=served,transport=quic": 2, "outcome=unknown_name,transport=quic": 0, "outcome=alert,transport=quic": 1},
		"esacert_edge_tls_handshake_duration_seconds": {"outcome=served,transport=tcp": 1, "outcome=served,transport=quic": 2, "outcome=alert,transport=quic": 1},
		"esacert_acme_orders_total":                   {"ca=lets_encrypt,result=issued": 1, "ca=lets_encrypt,result=failed": 1},
		"esacert_acme_order_failures_total":           {"apply_code=2,ca=lets_encrypt": 1},
		"esacert_acme_order_duration_seconds":         {"ca=lets_encrypt": 2},
		"esacert_certificate_renewals_total":          {"result=issued": 0, "result=failed": 1},
		"esacert_db_errors_total":                     {"source=ping": 1, "source=edge": 0, "source=metrics": 0},
	} {
		if diff := cmp.Diff(want, values(fams, name)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "promhttp_metric_handler_requests_total"} {
		if fams[name] == nil {
			t.Errorf("%s is not exported", name)
		}
	}
}

// TestNodeState: the edge's revision, lag, staleness and names; the pool's
// statistics; readiness.
func TestNodeState(t *testing.T) {
	var (
		mu       sync.Mutex
		storeRev int64 = 12
		revErr   error
		ready    error = errors.New("the database cannot be reached")
		pool     bool
	)
	m := New(Sources{
		Edge: func() (int64, int, bool) { return 10, 4, true },
		Revision: func(context.Context) (int64, error) {
			mu.Lock()
			defer mu.Unlock()
			return storeRev, revErr
		},
		Pool: func() (sql.DBStats, bool) {
			mu.Lock()
			defer mu.Unlock()
			return sql.DBStats{MaxOpenConnections: 8, OpenConnections: 3, InUse: 1, Idle: 2, WaitCount: 5, WaitDuration: 1500 * time.Millisecond}, pool
		},
		Ready: func(context.Context) error {
			mu.Lock()
			defer mu.Unlock()
			return ready
		},
	}, nil)
	fams := scrape(t, m)
	for name, want := range map[string]float64{"esacert_edge_index_revision": 10, "esacert_edge_revision_lag": 2,
		"esacert_edge_stale": 1, "esacert_edge_index_names": 4, "esacert_ready": 0} {
		if got, ok := values(fams, name)[""]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", name, got, ok, want)
		}
	}
	if fams["esacert_db_open_connections"] != nil {
		t.Error("pool statistics without a database")
	}
	mu.Lock()
	pool, ready, revErr = true, nil, errors.New("gone")
	mu.Unlock()
	fams = scrape(t, m)
	for name, want := range map[string]float64{"esacert_db_max_open_connections": 8, "esacert_db_open_connections": 3,
		"esacert_db_in_use_connections": 1, "esacert_db_idle_connections": 2, "esacert_db_wait_count_total": 5,
		"esacert_db_wait_duration_seconds_total": 1.5, "esacert_ready": 1} {
		if got, ok := values(fams, name)[""]; !ok || got != want {
			t.Errorf("%s = %v (%v), want %v", name, got, ok, want)
		}
	}
	if _, ok := values(fams, "esacert_edge_revision_lag")[""]; ok {
		t.Error("a lag is shown while the store's revision cannot be read")
	}
	if got := values(scrape(t, m), "esacert_db_errors_total")["source=metrics"]; got < 1 {
		t.Errorf("the failed read of the revision was not counted: %v", got)
	}
}

// TestExposition: the text format, plain or compressed with gzip as the
// scraper asks; the certificates' series and the registry's in one
// answer.
func TestExposition(t *testing.T) {
	src := &certSource{certs: []cert.Summary{{ID: "a1", SiteName: "one.com", Name: "alpha", Type: cert.TypeUpload,
		NotAfter: now.Add(time.Hour), Issued: true}}}
	m := New(Sources{Certificates: src.read, Now: func() time.Time { return now }}, nil)
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, tt := range []struct {
		name, accept, encoding string
	}{
		{"ok/plain", "", ""},
		{"ok/gzip", "br;q=1.0, gzip;q=0.8", "gzip"},
		{"ok/gzip_refused", "gzip;q=0, identity", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			if tt.accept != "" {
				req.Header.Set("Accept-Encoding", tt.accept)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if got := resp.Header.Get("Content-Encoding"); got != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", got, tt.encoding)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
				t.Errorf("Content-Type %q", ct)
			}
			var body io.Reader = resp.Body
			if tt.encoding == "gzip" {
				if body, err = gzip.NewReader(resp.Body); err != nil {
					t.Fatal(err)
				}
			}
			parser := expfmt.NewTextParser(model.UTF8Validation)
			fams, err := parser.TextToMetricFamilies(body)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"esacert_certificate_not_after_timestamp_seconds", "esacert_db_errors_total", "go_goroutines"} {
				if fams[name] == nil {
					t.Errorf("%s is missing", name)
				}
			}
		})
	}
}

// TestAccessLogCounts: the edge's access log lines written and dropped,
// read at each scrape; absent without an access log.
func TestAccessLogCounts(t *testing.T) {
	written, dropped := uint64(7), uint64(2)
	m := New(Sources{AccessLog: func() (uint64, uint64) { return written, dropped }}, nil)
	fams := scrape(t, m)
	if got := values(fams, "esacert_edge_access_log_lines_total")[""]; got != 7 {
		t.Errorf("lines %v, want 7", got)
	}
	if got := values(fams, "esacert_edge_access_log_dropped_total")[""]; got != 2 {
		t.Errorf("dropped %v, want 2", got)
	}
	written, dropped = 8, 5
	if got := values(scrape(t, m), "esacert_edge_access_log_dropped_total")[""]; got != 5 {
		t.Errorf("dropped after more drops %v, want 5", got)
	}
	if fams := scrape(t, New(Sources{}, nil)); fams["esacert_edge_access_log_lines_total"] != nil {
		t.Error("access log counts without an access log")
	}
}

// TestCertCacheCounts: the edge's certificate cache's counts, read at each
// scrape; absent on a node without an edge.
func TestCertCacheCounts(t *testing.T) {
	st := CertCacheStats{Hits: 10, Misses: 4, Evictions: 1, Size: 3, Capacity: 3}
	m := New(Sources{CertCache: func() CertCacheStats { return st }}, nil)
	want := map[string]float64{"esacert_edge_cert_cache_hits_total": 10, "esacert_edge_cert_cache_misses_total": 4,
		"esacert_edge_cert_cache_evictions_total": 1, "esacert_edge_cert_cache_entries": 3, "esacert_edge_cert_cache_capacity": 3}
	fams := scrape(t, m)
	for name, v := range want {
		if got := values(fams, name)[""]; got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
	}
	st.Hits = 11
	if got := values(scrape(t, m), "esacert_edge_cert_cache_hits_total")[""]; got != 11 {
		t.Errorf("hits after one more %v, want 11", got)
	}
	if fams := scrape(t, New(Sources{}, nil)); fams["esacert_edge_cert_cache_hits_total"] != nil {
		t.Error("certificate cache counts without an edge")
	}
}
