package metrics

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

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

// certCache holds the certificates' series as exposition text, read from
// the store and rendered at most every every, so that a scrape in between
// only copies bytes: with 100,000 certificates, building, sorting and
// encoding their series costs a scrape about a second of CPU, and holding
// them as metric families some 100 MB, against some 20 MB as text (see
// BenchmarkCertificateScrape in internal/node). A failed read keeps the
// last text.
type certCache struct {
	read   func(ctx context.Context) ([]cert.Summary, error)
	every  time.Duration
	now    func() time.Time
	failed func(source string)

	mu   sync.Mutex // one read at a time; guards what follows
	at   time.Time  // when the text was read
	text []byte
}

// exposition returns the certificates' series in the text format, read
// again when they are older than every. The bytes are shared: the caller
// must not modify them.
func (c *certCache) exposition() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !c.at.IsZero() && now.Sub(c.at) < c.every {
		return c.text
	}
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	certs, err := c.read(ctx)
	if err != nil {
		c.failed(DBErrorMetrics)
		return c.text // the last ones read, if any
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(funcCollector{descs: []*prometheus.Desc{certCountDesc, notAfterDesc, nextRenewalDesc, failuresDesc, readAtDesc},
		collect: func(ch chan<- prometheus.Metric) {
			for _, m := range certSeries(certs, now) {
				ch <- m
			}
		}})
	fams, err := reg.Gather()
	if err != nil { // a series built twice: not from a store whose ids are unique
		c.failed(DBErrorMetrics)
		return c.text
	}
	var buf bytes.Buffer
	buf.Grow(len(certs) * 200)
	enc := expfmt.NewEncoder(&buf, textFormat)
	for _, f := range fams {
		if err := enc.Encode(f); err != nil {
			c.failed(DBErrorMetrics)
			return c.text
		}
	}
	c.text, c.at = bytes.Clone(buf.Bytes()), now // without the buffer's spare room
	return c.text
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
