package cert

import (
	"context"
	"time"
)

// Summary is a certificate without its content: what its status, its expiry
// and its renewal are read from, for a view of every certificate at once
// (the metrics). A store fills it without reading PEM text or keys.
type Summary struct {
	ID       string
	SiteID   int64
	SiteName string
	Name     string
	Type     string
	// NotAfter is the leaf's expiry; zero for a free certificate that was
	// never issued.
	NotAfter time.Time
	// Issued reports whether the certificate has content to serve
	// (Certificate.Issued).
	Issued bool
	// Free is the issuance state of a free certificate, without its
	// Message and ARICheck.
	Free FreeState
}

// Status is what Certificate.Status says of the certificate at now.
func (s Summary) Status(now time.Time) string {
	return status(s.Type, s.Issued, s.Free.Status, s.NotAfter, now)
}

// SummaryStore lists every certificate of every site as a Summary, in no
// particular order. It is safe for concurrent use.
type SummaryStore interface {
	CertificateSummaries(ctx context.Context) ([]Summary, error)
}

// Attempt is the outcome of one issuance attempt of the renewer, as it
// tells an AttemptObserver.
type Attempt struct {
	CA      string        // the configured name of the CA asked
	Renewal bool          // the certificate had been issued before: the attempt renews it
	Code    int           // the ApplyCode of a failure; 0 for a success
	Took    time.Duration // from the start of the attempt to its outcome
}

// AttemptObserver is told the outcome of every issuance attempt (for the
// metrics). IssuanceAttempt must return quickly and be safe for concurrent
// use.
type AttemptObserver interface {
	IssuanceAttempt(a Attempt)
}
