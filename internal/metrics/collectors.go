package metrics

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/prometheus/client_golang/prometheus"
)

// readTimeout bounds the metrics' own reads of the database at a scrape.
const readTimeout = 10 * time.Second

var (
	certCountDesc = prometheus.NewDesc("esacert_certificates",
		"Certificates by site, type (upload, cas, free, keyless) and status (OK, Expiring, Expired, Applying, ApplyFailed).",
		[]string{"site", "type", "status"}, nil)
	notAfterDesc = prometheus.NewDesc("esacert_certificate_not_after_timestamp_seconds",
		"When each certificate expires (its leaf's NotAfter), in Unix seconds; free certificates once issued.",
		[]string{"site", "certificate_id", "name", "type"}, nil)
	nextRenewalDesc = prometheus.NewDesc("esacert_certificate_next_renewal_timestamp_seconds",
		"When each free certificate is next renewed, or its failed issuance retried, in Unix seconds.",
		[]string{"site", "certificate_id", "name"}, nil)
	failuresDesc = prometheus.NewDesc("esacert_certificate_consecutive_failures",
		"Failed issuance attempts of each free certificate since its last success, with the last failure's ApplyCode; absent while none failed.",
		[]string{"site", "certificate_id", "name", "apply_code"}, nil)
	readAtDesc = prometheus.NewDesc("esacert_certificates_read_timestamp_seconds",
		"When the certificate series were last read from the database, in Unix seconds.", nil, nil)
)

// certCollector exports the certificates read from the store, reading
// them again at a scrape when its last read is older than every. A failed
// read keeps the last series.
type certCollector struct {
	read   func(ctx context.Context) ([]cert.Summary, error)
	every  time.Duration
	now    func() time.Time
	failed func(source string)

	mu     sync.Mutex // one read at a time; guards what follows
	at     time.Time  // when the series were read
	series []prometheus.Metric
}

func (c *certCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{certCountDesc, notAfterDesc, nextRenewalDesc, failuresDesc, readAtDesc} {
		ch <- d
	}
}

func (c *certCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.current() {
		ch <- m
	}
}

// current returns the series, read again when they are older than every.
func (c *certCollector) current() []prometheus.Metric {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.at.IsZero() && now.Sub(c.at) < c.every {
		return c.series
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	certs, err := c.read(ctx)
	if err != nil {
		c.failed(DBErrorMetrics)
		return c.series // the last ones read, if any
	}
	c.series, c.at = certSeries(certs, now), now
	return c.series
}

// certSeries builds the certificates' series at now.
func certSeries(certs []cert.Summary, now time.Time) []prometheus.Metric {
	type key struct{ site, typ, status string }
	counts := map[key]int{}
	out := make([]prometheus.Metric, 0, len(certs)+len(certs)/4+16)
	for _, c := range certs {
		counts[key{label(c.SiteName), label(c.Type), c.Status(now)}]++
		if !c.NotAfter.IsZero() {
			out = append(out, prometheus.MustNewConstMetric(notAfterDesc, prometheus.GaugeValue, unix(c.NotAfter),
				label(c.SiteName), label(c.ID), label(c.Name), label(c.Type)))
		}
		if c.Type != cert.TypeFree {
			continue
		}
		if !c.Free.Next.IsZero() {
			out = append(out, prometheus.MustNewConstMetric(nextRenewalDesc, prometheus.GaugeValue, unix(c.Free.Next),
				label(c.SiteName), label(c.ID), label(c.Name)))
		}
		if c.Free.Attempts > 0 {
			out = append(out, prometheus.MustNewConstMetric(failuresDesc, prometheus.GaugeValue, float64(c.Free.Attempts),
				label(c.SiteName), label(c.ID), label(c.Name), strconv.Itoa(c.Free.Code)))
		}
	}
	for k, n := range counts {
		out = append(out, prometheus.MustNewConstMetric(certCountDesc, prometheus.GaugeValue, float64(n), k.site, k.typ, k.status))
	}
	return append(out, prometheus.MustNewConstMetric(readAtDesc, prometheus.GaugeValue, unix(now)))
}

// label makes v a valid label value (UTF-8: a certificate's name is the
// uploader's), so that building a series never fails.
func label(v string) string { return strings.ToValidUTF8(v, "\uFFFD") }

// unix is t in Unix seconds, with its fraction.
func unix(t time.Time) float64 { return float64(t.UnixMicro()) / 1e6 }

var (
	edgeRevDesc = prometheus.NewDesc("esacert_edge_index_revision",
		"The store revision the edge's index reflects.", nil, nil)
	edgeLagDesc = prometheus.NewDesc("esacert_edge_revision_lag",
		"How many revisions the edge's index is behind the store's (the change feed's lag); below 0 when the database went back in time.", nil, nil)
	edgeStaleDesc = prometheus.NewDesc("esacert_edge_stale",
		"1 while the edge serves its last good index or its snapshot because it cannot read the store, else 0.", nil, nil)
	edgeNamesDesc = prometheus.NewDesc("esacert_edge_index_names",
		"Names (exact and wildcard) the edge's index serves certificates for.", nil, nil)
)

// edgeCollector exports the state of the node's edge, and its lag behind
// the store's revision (read at each scrape).
type edgeCollector struct {
	edge     func() (rev int64, names int, stale bool)
	revision func(ctx context.Context) (int64, error)
	failed   func(source string)
}

func (c *edgeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{edgeRevDesc, edgeLagDesc, edgeStaleDesc, edgeNamesDesc} {
		ch <- d
	}
}

func (c *edgeCollector) Collect(ch chan<- prometheus.Metric) {
	rev, names, stale := c.edge()
	ch <- prometheus.MustNewConstMetric(edgeRevDesc, prometheus.GaugeValue, float64(rev))
	ch <- prometheus.MustNewConstMetric(edgeNamesDesc, prometheus.GaugeValue, float64(names))
	ch <- prometheus.MustNewConstMetric(edgeStaleDesc, prometheus.GaugeValue, bool01(stale))
	if c.revision == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	storeRev, err := c.revision(ctx)
	if err != nil {
		c.failed(DBErrorMetrics)
		return // no lag is known
	}
	ch <- prometheus.MustNewConstMetric(edgeLagDesc, prometheus.GaugeValue, float64(storeRev-rev))
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// funcCollector exports what collect sends, described by descs.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(ch chan<- prometheus.Metric)
}

func (c funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c funcCollector) Collect(ch chan<- prometheus.Metric) { c.collect(ch) }

var readyDesc = prometheus.NewDesc("esacert_ready",
	"1 when the node is ready (as /readyz answers 200: its database answers and its edge serves the store's state), else 0.", nil, nil)

// readyCollector exports whether ready says the node is ready.
func readyCollector(ready func(ctx context.Context) error) prometheus.Collector {
	return funcCollector{descs: []*prometheus.Desc{readyDesc}, collect: func(ch chan<- prometheus.Metric) {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		defer cancel()
		ch <- prometheus.MustNewConstMetric(readyDesc, prometheus.GaugeValue, bool01(ready(ctx) == nil))
	}}
}

// poolCollector exports the statistics of the database's connection pool
// (sql.DBStats), as the Prometheus client's DBStatsCollector does, under
// esacert_db_.
func poolCollector(stats func() (sql.DBStats, bool)) prometheus.Collector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("esacert_db_"+name, help, nil, nil)
	}
	var (
		maxOpen      = desc("max_open_connections", "Most open connections the pool allows (0: no limit).")
		open         = desc("open_connections", "Open connections, in use and idle.")
		inUse        = desc("in_use_connections", "Connections in use.")
		idle         = desc("idle_connections", "Idle connections.")
		waits        = desc("wait_count_total", "Waits for a connection, in all.")
		waited       = desc("wait_duration_seconds_total", "Time spent waiting for a connection, in all.")
		idleClosed   = desc("max_idle_closed_total", "Connections closed because the pool held too many idle ones.")
		idleTimed    = desc("max_idle_time_closed_total", "Connections closed because they were idle too long.")
		lifetimeOver = desc("max_lifetime_closed_total", "Connections closed because they were open too long.")
	)
	return funcCollector{descs: []*prometheus.Desc{maxOpen, open, inUse, idle, waits, waited, idleClosed, idleTimed, lifetimeOver},
		collect: func(ch chan<- prometheus.Metric) {
			s, ok := stats()
			if !ok {
				return
			}
			for _, v := range []struct {
				d *prometheus.Desc
				t prometheus.ValueType
				v float64
			}{
				{maxOpen, prometheus.GaugeValue, float64(s.MaxOpenConnections)},
				{open, prometheus.GaugeValue, float64(s.OpenConnections)},
				{inUse, prometheus.GaugeValue, float64(s.InUse)},
				{idle, prometheus.GaugeValue, float64(s.Idle)},
				{waits, prometheus.CounterValue, float64(s.WaitCount)},
				{waited, prometheus.CounterValue, s.WaitDuration.Seconds()},
				{idleClosed, prometheus.CounterValue, float64(s.MaxIdleClosed)},
				{idleTimed, prometheus.CounterValue, float64(s.MaxIdleTimeClosed)},
				{lifetimeOver, prometheus.CounterValue, float64(s.MaxLifetimeClosed)},
			} {
				ch <- prometheus.MustNewConstMetric(v.d, v.t, v.v)
			}
		}}
}
