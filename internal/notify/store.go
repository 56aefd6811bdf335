package notify

import (
	"context"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// Store is what notices need from storage. Methods are safe for concurrent
// use, also from several nodes on one database.
type Store interface {
	// Watched returns the certificates a notice may be due for: those
	// whose NotAfter is after from and not after to, the free ones whose
	// issuance is failing (cert.StatusApplyFailed), and those with an
	// unresolved failure notice (an EventFailed notice whose EventRecovered
	// has not been recorded); each with the keys of its recorded notices.
	Watched(ctx context.Context, from, to time.Time) ([]Watched, error)
	// AddNotice records n with one pending delivery, due at n.Time, to each
	// of channels, in one transaction; it returns false and records nothing
	// when the certificate already has a notice with n's key. Recording an
	// EventRecovered notice resolves the EventFailed one of its episode.
	AddNotice(ctx context.Context, n Notice, channels []string) (bool, error)
	// ClaimDeliveries leases to owner, until leaseUntil, up to max pending
	// deliveries to the channels named whose next attempt is due at now and
	// that no other owner holds, and returns them with their notices.
	ClaimDeliveries(ctx context.Context, now time.Time, channels []string, owner string, leaseUntil time.Time, max int) ([]Delivery, error)
	// FinishDelivery records the outcome of an attempt at a delivery owner
	// holds (see Delivery) and releases it; ErrNotHeld when owner's lease
	// was lost meanwhile.
	FinishDelivery(ctx context.Context, d Delivery, owner string) error
	// ForgetNotices removes the notices recorded before before that are
	// resolved and whose deliveries are all finished, and says how many.
	ForgetNotices(ctx context.Context, before time.Time) (int, error)
}

// Watched is a certificate as Detect sees it.
type Watched struct {
	CertificateID string
	Name          string
	Type          string
	SiteID        int64
	SiteName      string
	NotAfter      time.Time // zero for a free certificate never issued
	// Free is the issuance state of a free certificate.
	Free cert.FreeState
	// Noticed holds the keys of the notices recorded for the certificate.
	Noticed map[Key]bool
}

// Delivery is one notice on its way to one channel.
type Delivery struct {
	Notice   Notice
	Channel  string
	Attempts int // failed attempts before this one; FinishDelivery stores the count after it
	// The outcome, set before FinishDelivery: Sent when the channel took
	// the notice; otherwise Error, and Next, when to try again (zero: the
	// delivery is given up).
	Sent  time.Time
	Next  time.Time
	Error string
}
