package ocsp

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/esacert/esacert/internal/cert"
)

// Refresher keeps the certificates' OCSP responses fresh in the store. Set
// its fields, then call Run (or RefreshDue). Nodes share the work through
// the store: a certificate claimed by one is not fetched by another until
// the claim's lease ends.
type Refresher struct {
	Store cert.OCSPStore // required
	// Client asks the responders; nil means a client with a 10 second
	// timeout.
	Client *http.Client
	// Log gets a line per failed fetch and per revoked certificate; nil
	// means slog.Default().
	Log *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Lease is how long a claim holds; 0 means 2 minutes.
	Lease time.Duration
	// RetryBase is the wait after a failed fetch, doubled after each
	// further one up to RetryMax; 0 means 1 minute and 1 hour.
	RetryBase, RetryMax time.Duration
	// Batch is how many certificates one round claims; 0 means 50.
	Batch int
	// Workers is how many fetches run at once; 0 means 4.
	Workers int
	// CatchUp is how often Run asks the store to queue the certificates
	// its queue misses (see cert.OCSPStore.CatchUpOCSP: those written by
	// a node of an older version during a rolling upgrade), looking at
	// those written since the run before; 0 means 1 minute. When Run
	// starts, and every CatchUpFull, a run reads every certificate
	// instead; 0 means 1 hour, a negative value only when Run starts.
	CatchUp, CatchUpFull time.Duration
}

func (r *Refresher) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Refresher) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func (r *Refresher) client() *http.Client {
	if r.Client != nil {
		return r.Client
	}
	return defaultClient
}

var defaultClient = &http.Client{Timeout: 10 * time.Second}

// Run refreshes what is due until ctx ends: again at once while rounds
// find a full batch, else every poll (0 means 30 seconds).
func (r *Refresher) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 30 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	every, full := r.CatchUp, r.CatchUpFull
	if every <= 0 {
		every = time.Minute
	}
	if full <= 0 {
		full = time.Hour
	}
	var caughtUp, fullUp time.Time
	var since int64 // what the last catch-up returned as next; 0 reads every certificate
	for {
		if fullUp.IsZero() || r.CatchUpFull >= 0 && time.Since(fullUp) >= full {
			fullUp, since = time.Now(), 0
		}
		if caughtUp.IsZero() || since == 0 || time.Since(caughtUp) >= every {
			caughtUp = time.Now()
			since = r.catchUp(ctx, since)
		}
		n, err := r.RefreshDue(ctx)
		if err != nil && ctx.Err() == nil {
			r.log().Warn("OCSP refresh round failed", "error", err)
		}
		if err == nil && n > 0 && n == r.batch() {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// catchUp has the store queue what its queue misses (looking at what was
// written after since, or at everything for 0), and returns since for the
// next run. Every node with the refresher runs it: it is idempotent, and
// two nodes running it at once queue each certificate once.
func (r *Refresher) catchUp(ctx context.Context, since int64) int64 {
	n, next, err := r.Store.CatchUpOCSP(ctx, since)
	switch {
	case err != nil && ctx.Err() == nil:
		r.log().Warn("OCSP catch-up failed", "error", err)
	case n > 0:
		r.log().Info("OCSP catch-up queued certificates written without their OCSP queue entry (by a node of an older version)",
			"certificates", n)
	}
	return next
}

func (r *Refresher) batch() int {
	if r.Batch > 0 {
		return r.Batch
	}
	return 50
}

// RefreshDue fetches the responses that are due, one batch of them, and
// reports how many certificates it worked on.
func (r *Refresher) RefreshDue(ctx context.Context) (int, error) {
	lease := r.Lease
	if lease <= 0 {
		lease = 2 * time.Minute
	}
	now := r.now()
	due, err := r.Store.ClaimOCSP(ctx, now, now.Add(lease), r.batch())
	if err != nil || len(due) == 0 {
		return 0, err
	}
	workers := r.Workers
	if workers <= 0 {
		workers = 4
	}
	work := make(chan cert.OCSPDue)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range min(workers, len(due)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range work {
				if err := r.Store.SaveOCSP(ctx, r.refresh(ctx, d)); err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, err)
					mu.Unlock()
				}
			}
		}()
	}
	for _, d := range due {
		work <- d
	}
	close(work)
	wg.Wait()
	return len(due), firstErr
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// refresh fetches one certificate's response and returns what to keep.
func (r *Refresher) refresh(ctx context.Context, d cert.OCSPDue) cert.OCSPResponse {
	out := d.Last
	out.CertificateID, out.Fingerprint = d.CertificateID, d.Fingerprint
	leaf, issuer, responder, err := Chain(d.ChainPEM)
	if errors.Is(err, ErrNoResponder) {
		// Nothing to fetch until the certificate is replaced (its
		// fingerprint then changes); looked at again when it expires.
		out.Status, out.Response, out.Error, out.Failures = cert.OCSPNone, nil, "", 0
		out.Next = leaf.NotAfter
		if soonest := r.now().Add(24 * time.Hour); out.Next.Before(soonest) {
			out.Next = soonest
		}
		return out
	}
	var der []byte
	var resp *xocsp.Response
	if err == nil {
		der, resp, err = Fetch(ctx, r.client(), responder, leaf, issuer)
	}
	now := r.now()
	if err == nil {
		if from, until := validity(resp); !now.Before(until) {
			err = errors.New("the responder answered a response that is no longer valid (next update " +
				until.UTC().Format(time.RFC3339) + ")")
		} else if from.After(now.Add(5 * time.Minute)) {
			err = errors.New("the responder answered a response that is not valid yet (this update " +
				from.UTC().Format(time.RFC3339) + ")")
		}
	}
	if err != nil {
		out.Failures++
		out.Error = err.Error()
		wait := r.retry(out.Failures)
		out.Next = now.Add(wait)
		if out.Status == "" || out.Status == cert.OCSPNone {
			out.Status = "" // nothing fetched yet
		}
		r.log().Warn("OCSP fetch failed", "certificate", d.CertificateID, "site", d.SiteID, "responder", responder,
			"error", err, "failures", out.Failures, "retry_in", wait.String(),
			"kept_valid_until", keptUntil(out, now))
		return out
	}
	from, until := validity(resp)
	out.Response, out.ThisUpdate, out.NextUpdate, out.Fetched = der, from, until, now
	out.RevokedAt, out.Error, out.Failures = time.Time{}, "", 0
	switch resp.Status {
	case xocsp.Good:
		out.Status = cert.OCSPGood
	case xocsp.Revoked:
		out.Status, out.RevokedAt = cert.OCSPRevoked, resp.RevokedAt
		if d.Last.Status != cert.OCSPRevoked {
			r.log().Warn("certificate revoked, its OCSP responder says: it is not stapled", "certificate", d.CertificateID,
				"site", d.SiteID, "responder", responder, "revoked_at", resp.RevokedAt.UTC().Format(time.RFC3339),
				"reason", resp.RevocationReason)
		}
	default:
		out.Status = cert.OCSPUnknown
	}
	out.Next = nextFetch(from, until, now, r.retryBase())
	return out
}

// keptUntil is until when the response kept after a failure is still
// stapled ("" for none).
func keptUntil(o cert.OCSPResponse, now time.Time) string {
	if o.Status == cert.OCSPGood && now.Before(o.NextUpdate) {
		return o.NextUpdate.UTC().Format(time.RFC3339)
	}
	return ""
}

// nextFetch is when a response valid from from to until is fetched again:
// at half its validity, plus up to a tenth of it at random so that the
// certificates of one responder spread out, and never sooner than least
// from now.
func nextFetch(from, until, now time.Time, least time.Duration) time.Time {
	half := until.Sub(from) / 2
	next := from.Add(half)
	if tenth := int64(until.Sub(from) / 10); tenth > 0 {
		next = next.Add(time.Duration(rand.Int64N(tenth)))
	}
	if soonest := now.Add(least); next.Before(soonest) {
		next = soonest
	}
	return next
}

func (r *Refresher) retryBase() time.Duration {
	if r.RetryBase > 0 {
		return r.RetryBase
	}
	return time.Minute
}

// retry is the wait after failures failed fetches in a row: RetryBase
// doubled each time up to RetryMax, less up to a tenth at random.
func (r *Refresher) retry(failures int) time.Duration {
	most := r.RetryMax
	if most <= 0 {
		most = time.Hour
	}
	wait := r.retryBase()
	for i := 1; i < failures && wait < most; i++ {
		wait *= 2
	}
	wait = min(wait, most)
	if tenth := int64(wait / 10); tenth > 0 {
		wait -= time.Duration(rand.Int64N(tenth))
	}
	return wait
}
