package site

import (
	"context"
	"sync"
	"time"
)

// Background verification: as on ESA, nobody has to call VerifySite. Every
// pending site is checked soon after it is created, then again at growing
// gaps (VerifyGap), until its proof of ownership shows up in DNS and it
// becomes active. Nodes share the work through the store: claiming a site
// moves its next check forward, so no two nodes check it at once.

// DefaultVerifyInterval is the wait after a pending site's first failed
// check, when Service.VerifyInterval is not set.
const DefaultVerifyInterval = time.Minute

// VerifyGap is how long a pending site that failed its check failures
// times waits for the next one: first after the first failure, twice as
// long after each further one, up to 60 times first (an hour, by default).
func VerifyGap(failures int, first time.Duration) time.Duration {
	gap, most := first, 60*first
	for i := 1; i < failures && gap < most; i++ {
		gap *= 2
	}
	return min(gap, most)
}

func (s *Service) verifyInterval() time.Duration {
	if s.VerifyInterval > 0 {
		return s.VerifyInterval
	}
	return DefaultVerifyInterval
}

// verifyBatch is how many due sites one round claims, and verifyWorkers how
// many of them are checked at once (each check is one or two DNS lookups).
const (
	verifyBatch   = 100
	verifyWorkers = 8
)

// VerifyDue checks the pending sites whose next check is due, at most one
// batch of them, and reports how many it checked and how many became active.
func (s *Service) VerifyDue(ctx context.Context) (checked, activated int, err error) {
	now := s.now()
	due, err := s.Store.ClaimPendingSites(ctx, now, verifyBatch, func(failures int) time.Time {
		return now.Add(VerifyGap(failures, s.verifyInterval()))
	})
	if err != nil || len(due) == 0 {
		return 0, 0, err
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		work = make(chan Site)
	)
	for range min(verifyWorkers, len(due)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for st := range work {
				ok, err := s.VerifySite(ctx, st.ID)
				if err != nil && s.Log != nil && ctx.Err() == nil {
					s.Log("site verification failed", st.Name, err)
				}
				mu.Lock()
				checked++
				if ok {
					activated++
				}
				mu.Unlock()
			}
		}()
	}
	for _, st := range due {
		work <- st
	}
	close(work)
	wg.Wait()
	return checked, activated, ctx.Err()
}

// minVerifyPoll is the shortest wait between two rounds of RunVerifier,
// however short the verify interval.
const minVerifyPoll = 100 * time.Millisecond

// verifyPoll is how often RunVerifier looks for due sites: every 30
// seconds, or half the verify interval when that is shorter, but never more
// often than every minVerifyPoll (a 1ns interval made the wait 0, which
// time.NewTicker refuses with a panic).
func verifyPoll(interval time.Duration) time.Duration {
	return max(minVerifyPoll, min(30*time.Second, interval/2))
}

// RunVerifier runs VerifyDue until ctx ends: every verifyPoll of the
// verify interval; a full batch is followed at once by the next one.
func (s *Service) RunVerifier(ctx context.Context) {
	t := time.NewTicker(verifyPoll(s.verifyInterval()))
	defer t.Stop()
	for {
		checked, _, err := s.VerifyDue(ctx)
		if err != nil && ctx.Err() == nil && s.Log != nil {
			s.Log("site verification round failed", "", err)
		}
		if checked == verifyBatch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
