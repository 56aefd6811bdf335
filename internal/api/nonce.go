package api

import (
	"context"
	"sync"
	"time"
)

// NonceCache remembers signature nonces, so that a signed request cannot be
// replayed within the time window. Implementations are safe for concurrent use.
type NonceCache interface {
	// Use records key until expires. It reports false when key was recorded
	// before and has not expired yet, true when it is new.
	Use(ctx context.Context, key string, now, expires time.Time) (bool, error)
}

// MemoryNonces is a NonceCache held in this process's memory: right for one
// node. Its zero value is ready to use.
type MemoryNonces struct {
	mu        sync.Mutex
	seen      map[string]time.Time
	nextSweep time.Time
}

var _ NonceCache = (*MemoryNonces)(nil)

// Use implements NonceCache. Expired entries are swept at most once a minute,
// so memory is bounded by the nonces of one time window.
func (c *MemoryNonces) Use(_ context.Context, key string, now, expires time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seen == nil {
		c.seen = make(map[string]time.Time)
	}
	if now.After(c.nextSweep) {
		for k, exp := range c.seen {
			if !exp.After(now) {
				delete(c.seen, k)
			}
		}
		c.nextSweep = now.Add(time.Minute)
	}
	if exp, ok := c.seen[key]; ok && exp.After(now) {
		return false, nil
	}
	c.seen[key] = expires
	return true, nil
}
