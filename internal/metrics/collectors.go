package metrics

import (
	"context"
	"database/sql"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// readTimeout bounds the metrics' own reads of the database at a scrape.
const readTimeout = 10 * time.Second

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

var (
	accessLogLinesDesc = prometheus.NewDesc("esacert_edge_access_log_lines_total",
		"Lines the edge wrote to its access log.", nil, nil)
	accessLogDroppedDesc = prometheus.NewDesc("esacert_edge_access_log_dropped_total",
		"Lines of the edge's access log dropped: its queue was full (the disk did not keep up) or the write failed.", nil, nil)
)

// accessLogCollector exports the access log's counts.
func accessLogCollector(counts func() (written, dropped uint64)) funcCollector {
	return funcCollector{descs: []*prometheus.Desc{accessLogLinesDesc, accessLogDroppedDesc},
		collect: func(ch chan<- prometheus.Metric) {
			written, dropped := counts()
			ch <- prometheus.MustNewConstMetric(accessLogLinesDesc, prometheus.CounterValue, float64(written))
			ch <- prometheus.MustNewConstMetric(accessLogDroppedDesc, prometheus.CounterValue, float64(dropped))
		}}
}

// CertCacheStats are the counts of the edge's cache of certificates built
// for handshakes (parsed, private key unsealed), as edge.CertCacheStats
// has them.
type CertCacheStats struct {
	Hits, Misses, Evictions uint64
	Size, Capacity          int
}

var (
	certCacheHitsDesc = prometheus.NewDesc("esacert_edge_cert_cache_hits_total",
		"Handshakes whose certificate the edge's certificate cache held ready (parsed, key unsealed).", nil, nil)
	certCacheMissesDesc = prometheus.NewDesc("esacert_edge_cert_cache_misses_total",
		"Handshakes whose certificate the edge's certificate cache did not hold: it was built from its sealed copy (key unsealed, checked against its leaf).", nil, nil)
	certCacheEvictionsDesc = prometheus.NewDesc("esacert_edge_cert_cache_evictions_total",
		"Certificates the edge's certificate cache let go of to make room for others.", nil, nil)
	certCacheEntriesDesc = prometheus.NewDesc("esacert_edge_cert_cache_entries",
		"Certificates the edge's certificate cache holds.", nil, nil)
	certCacheCapacityDesc = prometheus.NewDesc("esacert_edge_cert_cache_capacity",
		"Certificates the edge's certificate cache holds at most (--edge-cert-cache).", nil, nil)
)

// certCacheCollector exports the edge's certificate cache's counts.
func certCacheCollector(stats func() CertCacheStats) funcCollector {
	return funcCollector{descs: []*prometheus.Desc{certCacheHitsDesc, certCacheMissesDesc, certCacheEvictionsDesc,
		certCacheEntriesDesc, certCacheCapacityDesc},
		collect: func(ch chan<- prometheus.Metric) {
			s := stats()
			ch <- prometheus.MustNewConstMetric(certCacheHitsDesc, prometheus.CounterValue, float64(s.Hits))
			ch <- prometheus.MustNewConstMetric(certCacheMissesDesc, prometheus.CounterValue, float64(s.Misses))
			ch <- prometheus.MustNewConstMetric(certCacheEvictionsDesc, prometheus.CounterValue, float64(s.Evictions))
			ch <- prometheus.MustNewConstMetric(certCacheEntriesDesc, prometheus.GaugeValue, float64(s.Size))
			ch <- prometheus.MustNewConstMetric(certCacheCapacityDesc, prometheus.GaugeValue, float64(s.Capacity))
		}}
}
