package notify

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Sender hands a notice to one destination. Implementations are safe for
// concurrent use. An error means the destination did not take the notice;
// its text is logged and stored, so it never holds a secret (a webhook's
// URL or signing key).
//
// Send should bound its own time (an HTTP client's timeout): Deliver lets
// a Send under way finish when its context ends, so that a notice taken is
// recorded as sent.
type Sender interface {
	Send(ctx context.Context, n Notice) error
}

// Channel is one destination of notices.
type Channel struct {
	// Name is unique among the channels and stable across restarts:
	// deliveries are recorded under it.
	Name string
	// Events are the events the channel takes; empty means all.
	Events []string
	Sender Sender
}

// Takes reports whether the channel takes notices of event.
func (c Channel) Takes(event string) bool {
	return len(c.Events) == 0 || slices.Contains(c.Events, event)
}

// Service records and delivers notices. Its fields are set once, before
// first use; after that a Service is safe for concurrent use.
type Service struct {
	Store    Store     // required
	Channels []Channel // where notices go; a notice no channel takes is recorded and goes nowhere
	// Owner names this node in the leases of deliveries; required.
	Owner string
	// Log gets a line per notice recorded, per delivery and per problem;
	// nil logs nothing.
	Log *slog.Logger

	// Thresholds are the days before NotAfter at which a certificate is
	// noticed as expiring; nil means DefaultThresholds.
	Thresholds []int
	// RetryBase is the wait after a delivery's first failure, doubled after
	// each further one up to RetryMax; default 30 seconds, and 1 hour.
	RetryBase, RetryMax time.Duration
	// MaxAttempts is how many times a delivery is tried before it is given
	// up; default 10 (about three hours with the default waits).
	MaxAttempts int
	// Lease is how long a claimed batch of deliveries is held; default 10
	// minutes, longer than a batch of posts that each run into the
	// webhook client's 15-second timeout.
	Lease time.Duration
	// Batch is how many deliveries one Deliver call takes at most; default
	// 20, which also keeps a burst within the chat robots' rate limits.
	Batch int
	// KeepFor is how long resolved, delivered notices are kept; default
	// 90 days.
	KeepFor time.Duration

	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of notice ids; nil means crypto/rand.
	Rand io.Reader
}

func (s *Service) now() time.Time { return domain.Now(s.Now) }

func (s *Service) hexID(n int) string { return domain.HexID(s.Rand, n) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (s *Service) thresholds() []int {
	if len(s.Thresholds) > 0 {
		return s.Thresholds
	}
	return DefaultThresholds
}

// channelsFor names the channels that take event.
func (s *Service) channelsFor(event string) []string {
	var names []string
	for _, c := range s.Channels {
		if c.Takes(event) {
			names = append(names, c.Name)
		}
	}
	return names
}

// Run records and delivers notices until ctx ends: Detect then Deliver
// every poll (Deliver again at once while it finds a full batch), and
// ForgetNotices once an hour. Failures are logged and tried again at the
// next turn.
func (s *Service) Run(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	var forgotten time.Time
	for {
		if _, err := s.Detect(ctx); err != nil && ctx.Err() == nil {
			s.log().Warn("notify: detect", "error", err)
		}
		for ctx.Err() == nil {
			n, err := s.Deliver(ctx)
			if err != nil && ctx.Err() == nil {
				s.log().Warn("notify: deliver", "error", err)
			}
			if err != nil || n < s.batch() {
				break
			}
		}
		if now := s.now(); now.Sub(forgotten) >= time.Hour && ctx.Err() == nil {
			forgotten = now
			if _, err := s.Forget(ctx); err != nil && ctx.Err() == nil {
				s.log().Warn("notify: forget old notices", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Forget removes the notices older than KeepFor (and than the longest
// threshold and a week more) that are resolved, or whose certificate is
// gone, and whose deliveries are finished.
func (s *Service) Forget(ctx context.Context) (int, error) {
	keep := s.KeepFor
	if keep <= 0 {
		keep = 90 * 24 * time.Hour
	}
	// A notice is forgotten only once its certificate cannot be in the
	// window Detect looks at with the same NotAfter: else it would be
	// noticed again.
	keep = max(keep, time.Duration(slices.Max(s.thresholds()))*24*time.Hour+expiredFor+24*time.Hour)
	return s.Store.ForgetNotices(ctx, s.now().Add(-keep))
}
