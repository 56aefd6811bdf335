// Package health answers how a node's database is, for load balancers (a
// node's GET /healthz): the answer of a ping, remembered for a second, so
// that the checks cost the database one ping a second at most.
package health

import (
	"context"
	"sync"
	"time"
)

// Check remembers for a second whether the database answered. The zero
// Check is ready; it is safe for concurrent use.
type Check struct {
	mu   sync.Mutex
	at   time.Time
	last error
}

// Do returns ping's answer, asked at most once a second (sqlstore's
// Store.Healthy fits). The caller hanging up does not cut the ping short:
// its answer serves the next check.
func (h *Check) Do(ctx context.Context, ping func(context.Context) error) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if time.Since(h.at) < time.Second {
		return h.last
	}
	// The probe's own hang-up must not become the next probe's answer.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	h.last, h.at = ping(ctx), time.Now()
	return h.last
}
