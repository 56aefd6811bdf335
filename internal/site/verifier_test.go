package site

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

func TestVerifyPoll(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		want     time.Duration
	}{
		{"one_nanosecond_is_floored", time.Nanosecond, minVerifyPoll},
		{"a_tenth_of_a_second_is_floored", time.Second / 10, minVerifyPoll},
		{"half_of_a_short_interval", 10 * time.Second, 5 * time.Second},
		{"default_caps_at_30s", DefaultVerifyInterval, 30 * time.Second},
		{"long_interval_caps_at_30s", 24 * time.Hour, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := verifyPoll(tt.interval); got != tt.want {
				t.Errorf("verifyPoll(%v) = %v, want %v", tt.interval, got, tt.want)
			}
		})
	}
}

// claimCounter is a Store whose only used method, ClaimPendingSites,
// counts the verifier's rounds and finds nothing due.
type claimCounter struct {
	Store  // nil: any other method would panic
	rounds int
}

func (c *claimCounter) ClaimPendingSites(ctx context.Context, now time.Time, n int, next func(int) time.Time) ([]Site, error) {
	c.rounds++
	return nil, nil
}

// TestRunVerifierTinyInterval: a verify interval of 1ns (which the config
// refuses, but a Service may be given) neither panics nor spins: the
// verifier looks for due sites every minVerifyPoll.
func TestRunVerifierTinyInterval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &claimCounter{}
		s := &Service{Store: store, VerifyInterval: time.Nanosecond}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.RunVerifier(ctx)
		}()
		time.Sleep(time.Second - time.Millisecond) // rounds at 0, 100ms, …, 900ms
		synctest.Wait()
		cancel()
		<-done
		if want := 10; store.rounds != want {
			t.Errorf("rounds in a second = %d, want %d (one now, then one every %v)", store.rounds, want, minVerifyPoll)
		}
	})
}
