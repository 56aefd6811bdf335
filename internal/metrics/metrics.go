package metrics

import (
	"compress/gzip"
	"context"
	"database/sql"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// Sources are what the metrics read at scrape time. A nil field leaves its
// metrics out. Each function must be safe for concurrent use.
type Sources struct {
	// Certificates lists every certificate (cert.SummaryStore's
	// CertificateSummaries); what it returns is kept for CertificatesEvery.
	Certificates func(ctx context.Context) ([]cert.Summary, error)
	// CertificatesEvery is how long a read of Certificates is kept; 0
	// means 30 seconds.
	CertificatesEvery time.Duration
	// Edge describes the node's edge: the revision of its index, the names
	// it serves and whether it is stale (edge.Edge's Stale).
	Edge func() (rev int64, names int, stale bool)
	// Revision reads the store's revision, for the edge's lag.
	Revision func(ctx context.Context) (int64, error)
	// Pool returns the statistics of the database's connection pool; ok is
	// false while the node has no database.
	Pool func() (stats sql.DBStats, ok bool)
	// Ready reports whether the node is ready (nil), as /readyz does.
	Ready func(ctx context.Context) error
	// AccessLog counts the edge's access log lines written and dropped (a
	// full queue or a failed write); nil for a node without an access log.
	AccessLog func() (written, dropped uint64)
	// CertCache reads the counts of the edge's certificate cache; nil for
	// a node without an edge.
	CertCache func() CertCacheStats
	// CAs are the configured ACME CAs' names: their order counters exist
	// from the start, at 0.
	CAs []string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Places where a database error is counted (esacert_db_errors_total's
// source label).
const (
	DBErrorPing    = "ping"    // a health or readiness check
	DBErrorEdge    = "edge"    // the edge's reads of the change feed and the sites
	DBErrorMetrics = "metrics" // the metrics' own reads (certificates, revision)
)

// Metrics holds a node's metrics and serves them. It implements
// api.Observer, edge.HandshakeObserver and cert.AttemptObserver; its
// methods are safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	requests         *prometheus.CounterVec
	requestSeconds   *prometheus.HistogramVec
	handshakes       *prometheus.CounterVec
	handshakeSeconds *prometheus.HistogramVec
	orders           *prometheus.CounterVec
	orderFailures    *prometheus.CounterVec
	orderSeconds     *prometheus.HistogramVec
	renewals         *prometheus.CounterVec
	dbErrors         *prometheus.CounterVec

	certs *certCache // nil without Sources.Certificates

	// byHandshake is the handshake counter and histogram of each transport
	// and outcome the edge names, looked up once (a label lookup hashes
	// the labels under the vector's lock, on every handshake otherwise);
	// never changed after New.
	byHandshake map[handshakeLabels]*handshakeMetrics
}

type handshakeLabels struct{ transport, outcome string }

type handshakeMetrics struct {
	count prometheus.Counter
	// took is the histogram's series, made at the first handshake that has
	// a time (none for passthrough: its time is the connection's), so that
	// only the outcomes seen have one, as before.
	tookOnce sync.Once
	took     prometheus.Observer
}

// New builds the metrics and registers them, with collectors over src and
// the Go runtime's and the process's collectors. outcomes are the edge's
// handshake outcomes (edge.HandshakeOutcomes), whose counters exist from
// the start at 0 for both transports (but passthrough over QUIC); nil for
// a node without an edge.
func New(src Sources, outcomes []string) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "esacert_api_requests_total",
		Help: "API requests answered, by action (\"\" when esacert answers no action of the name sent) and Code (OK for a success)."},
		[]string{"action", "code"})
	m.requestSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "esacert_api_request_duration_seconds",
		Help:    "Time to answer an API request, from its arrival to its answer, by action.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"action"})
	m.handshakes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "esacert_edge_tls_handshakes_total",
		Help: "TLS handshakes of the edge, by transport (tcp: the HTTPS listener; quic: the HTTP/3 listener) and outcome: served, unknown_name, alert (the client's), closed, protocol, passthrough (a paused site's, tcp only)."},
		[]string{"transport", "outcome"})
	m.handshakeSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "esacert_edge_tls_handshake_duration_seconds",
		Help:    "Time from a connection's accept (over QUIC, its first packet) to the end of its TLS handshake, by transport and outcome (passthrough left out).",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"transport", "outcome"})
	m.orders = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "esacert_acme_orders_total",
		Help: "Issuance attempts of free certificates (ACME orders), by CA and result (issued, failed)."}, []string{"ca", "result"})
	m.orderFailures = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "esacert_acme_order_failures_total",
		Help: "Failed issuance attempts of free certificates, by CA and ApplyCode."}, []string{"ca", "apply_code"})
	m.orderSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "esacert_acme_order_duration_seconds",
		Help:    "Time an issuance attempt of a free certificate took, by CA.",
		Buckets: []float64{.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}}, []string{"ca"})
	m.renewals = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "esacert_certificate_renewals_total",
		Help: "Issuance attempts for free certificates issued before (renewals), by result (issued, failed)."}, []string{"result"})
	m.dbErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "esacert_db_errors_total",
		Help: "Failed database operations, by where: ping (health checks), edge (the edge's reads), metrics (the metrics' reads)."},
		[]string{"source"})
	m.reg.MustRegister(m.requests, m.requestSeconds, m.orders, m.orderFailures, m.orderSeconds, m.renewals, m.dbErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, s := range []string{DBErrorPing, DBErrorEdge, DBErrorMetrics} {
		m.dbErrors.WithLabelValues(s)
	}
	for _, ca := range src.CAs {
		for _, r := range []string{"issued", "failed"} {
			m.orders.WithLabelValues(label(ca), r)
		}
	}
	for _, r := range []string{"issued", "failed"} {
		m.renewals.WithLabelValues(r)
	}
	if outcomes != nil {
		m.reg.MustRegister(m.handshakes, m.handshakeSeconds)
		m.byHandshake = make(map[handshakeLabels]*handshakeMetrics, 2*len(outcomes))
		for _, o := range outcomes {
			for _, t := range []string{TransportTCP, TransportQUIC} {
				if o == outcomePassthrough && t == TransportQUIC { // never over QUIC
					continue
				}
				m.byHandshake[handshakeLabels{t, o}] = &handshakeMetrics{count: m.handshakes.WithLabelValues(t, o)}
			}
		}
	}
	now := src.Now
	if now == nil {
		now = time.Now
	}
	if src.Certificates != nil {
		every := src.CertificatesEvery
		if every <= 0 {
			every = 30 * time.Second
		}
		m.certs = &certCache{read: src.Certificates, every: every, now: now, failed: m.dbError}
	}
	if src.Edge != nil {
		m.reg.MustRegister(&edgeCollector{edge: src.Edge, revision: src.Revision, failed: m.dbError})
	}
	if src.AccessLog != nil {
		m.reg.MustRegister(accessLogCollector(src.AccessLog))
	}
	if src.CertCache != nil {
		m.reg.MustRegister(certCacheCollector(src.CertCache))
	}
	if src.Pool != nil {
		m.reg.MustRegister(poolCollector(src.Pool))
	}
	if src.Ready != nil {
		m.reg.MustRegister(readyCollector(src.Ready))
	}
	return m
}

// textFormat is the exposition format served: Prometheus's text format,
// which every scraper accepts.
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// Handler serves the metrics in Prometheus's text format, compressed with
// gzip when the scraper accepts it, two scrapes at a time at most (a third
// is answered 503).
func (m *Metrics) Handler() http.Handler {
	slots := make(chan struct{}, 2)
	return promhttp.InstrumentMetricHandler(m.reg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
		default:
			http.Error(w, "too many scrapes at once", http.StatusServiceUnavailable)
			return
		}
		m.serve(w, r)
	}))
}

// serve writes the registry's families, then the certificates' text (read
// first, so that a failed read is counted in the same scrape). A family
// the registry cannot gather (a collector's bug) is left out, the others
// are served.
func (m *Metrics) serve(w http.ResponseWriter, r *http.Request) {
	var certs []byte
	if m.certs != nil {
		certs = m.certs.exposition()
	}
	fams, _ := m.reg.Gather()
	h := w.Header()
	h.Set("Content-Type", string(textFormat))
	h.Set("Cache-Control", "no-store")
	var out io.Writer = w
	if acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		h.Add("Vary", "Accept-Encoding")
		gz, _ := gzip.NewWriterLevel(w, gzip.BestSpeed)
		defer gz.Close()
		out = gz
	}
	enc := expfmt.NewEncoder(out, textFormat)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			return // the scraper went away
		}
	}
	out.Write(certs)
}

// acceptsGzip reports whether r's Accept-Encoding names gzip without q=0.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(params, " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// Request counts an API request (api.Observer).
func (m *Metrics) Request(action, code string, took time.Duration) {
	m.requests.WithLabelValues(action, code).Inc()
	m.requestSeconds.WithLabelValues(action).Observe(took.Seconds())
}

// Transports of the edge's handshakes (esacert_edge_tls_handshakes_total's
// transport label), as edge.TransportTCP and edge.TransportQUIC name them.
const (
	TransportTCP  = "tcp"
	TransportQUIC = "quic"
)

// outcomePassthrough is edge.HandshakePassthrough: a connection passed
// through, whose time is the connection's, and never over QUIC.
const outcomePassthrough = "passthrough"

// Handshake counts a TLS handshake of the edge (edge.HandshakeObserver).
func (m *Metrics) Handshake(transport, outcome string, took time.Duration) {
	if hm := m.byHandshake[handshakeLabels{transport, outcome}]; hm != nil {
		hm.count.Inc()
		if outcome != outcomePassthrough {
			hm.tookOnce.Do(func() { hm.took = m.handshakeSeconds.WithLabelValues(transport, outcome) })
			hm.took.Observe(took.Seconds())
		}
		return
	}
	m.handshakes.WithLabelValues(transport, outcome).Inc()
	if outcome != outcomePassthrough { // its time is the connection's
		m.handshakeSeconds.WithLabelValues(transport, outcome).Observe(took.Seconds())
	}
}

// IssuanceAttempt counts an issuance attempt of the renewer
// (cert.AttemptObserver).
func (m *Metrics) IssuanceAttempt(a cert.Attempt) {
	result := "issued"
	if a.Code != 0 {
		result = "failed"
		m.orderFailures.WithLabelValues(label(a.CA), strconv.Itoa(a.Code)).Inc()
	}
	m.orders.WithLabelValues(label(a.CA), result).Inc()
	m.orderSeconds.WithLabelValues(label(a.CA)).Observe(a.Took.Seconds())
	if a.Renewal {
		m.renewals.WithLabelValues(result).Inc()
	}
}

// DBError counts a failed database operation at source (DBErrorPing, …).
func (m *Metrics) DBError(source string) { m.dbError(source) }

func (m *Metrics) dbError(source string) { m.dbErrors.WithLabelValues(source).Inc() }
