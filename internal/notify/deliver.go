package notify

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

func (s *Service) batch() int {
	if s.Batch > 0 {
		return s.Batch
	}
	return 20
}

func (s *Service) maxAttempts() int {
	if s.MaxAttempts > 0 {
		return s.MaxAttempts
	}
	return 10
}

// Backoff is the wait after a delivery's failed attempts-th attempt: base,
// doubled after each further failure, at most most.
func Backoff(attempts int, base, most time.Duration) time.Duration {
	wait := base
	for i := 1; i < attempts && wait < most; i++ {
		wait *= 2
	}
	return min(wait, most)
}

// Deliver sends the pending deliveries that are due, at most one batch,
// each to its channel. A failed attempt is tried again after a wait that
// doubles each time (Backoff), until MaxAttempts attempts have failed;
// then the delivery is given up and said so at Error level. It returns
// how many deliveries it claimed.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	if len(s.Channels) == 0 {
		return 0, nil
	}
	names := make([]string, len(s.Channels))
	byName := map[string]Channel{}
	for i, c := range s.Channels {
		names[i] = c.Name
		byName[c.Name] = c
	}
	lease := s.Lease
	if lease <= 0 {
		lease = 10 * time.Minute
	}
	now := s.now()
	ds, err := s.Store.ClaimDeliveries(ctx, now, names, s.Owner, now.Add(lease), s.batch())
	if err != nil {
		return 0, fmt.Errorf("notify: claim deliveries: %w", err)
	}
	for _, d := range ds {
		if ctx.Err() != nil {
			return len(ds), ctx.Err() // the leases run out, and another turn tries again
		}
		// A post under way is finished and its outcome recorded even as the
		// node stops: a notice sent and not recorded would be sent again.
		// The Sender bounds the post's time.
		octx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
		err := byName[d.Channel].Sender.Send(octx, d.Notice)
		s.finish(octx, &d, err)
		cancel()
	}
	return len(ds), nil
}

// finish records the outcome err of an attempt at d.
func (s *Service) finish(ctx context.Context, d *Delivery, err error) {
	now := s.now()
	log := s.log().With("channel", d.Channel, "notice", d.Notice.ID, "event", d.Notice.Event,
		"certificate", d.Notice.CertificateID)
	if err == nil {
		d.Sent = now
		log.Info("notice delivered", "attempt", d.Attempts+1)
	} else {
		d.Attempts++
		d.Error = clip(err.Error(), 500)
		if d.Attempts >= s.maxAttempts() {
			log.Error("notice given up", "attempts", d.Attempts, "error", d.Error)
		} else {
			base, most := s.RetryBase, s.RetryMax
			if base <= 0 {
				base = 30 * time.Second
			}
			if most <= 0 {
				most = time.Hour
			}
			d.Next = now.Add(Backoff(d.Attempts, base, most))
			log.Warn("notice not delivered", "attempt", d.Attempts, "retry_at", d.Next, "error", d.Error)
		}
	}
	if ferr := s.Store.FinishDelivery(ctx, *d, s.Owner); ferr != nil {
		if errors.Is(ferr, ErrNotHeld) {
			log.Warn("notice delivery lease lost before its outcome was recorded")
			return
		}
		log.Warn("record a notice delivery", "error", ferr)
	}
}

// clip shortens s to at most n bytes, on a rune boundary.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
