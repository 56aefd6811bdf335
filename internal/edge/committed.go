package edge

import (
	"strconv"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// Committed is a certificate change that this process has just committed
// to the store (through its API), handed to its own edge so that the edge
// serves it without waiting to read it back (ApplyCommitted).
type Committed struct {
	Rev    int64             // the store's revision the change was recorded at
	SiteID int64             // the certificate's site
	ID     string            // the certificate's id
	Cert   *cert.Certificate // as written (ChainPEM, SealedKey, Info, Type); nil when deleted
}

// maxPending bounds the changes ApplyCommitted keeps for a refresh under
// way; beyond it they are left to the store's feed, which brings them too.
const maxPending = 1024

// commitWait is how long ApplyCommitted waits for a refresh under way to
// end (most take a round trip or two to the store) before it leaves the
// change to be applied when it ends.
const commitWait = 200 * time.Millisecond

// ApplyCommitted serves a certificate change this process committed at
// revision c.Rev: at once when no refresh is under way or the one under way
// ends within commitWait (so that the API answers once its own edge serves
// the change), else as soon as it ends; it never reads the store. The store's feed brings
// the same change again, and the certificate's row as it is then; the
// index's revision stays where the feed has brought it, so nothing is
// skipped. A change is left to the feed when the index already holds its
// revision or a later one (the feed brought it, or something newer), when
// its site is not in the index (the feed loads such a site whole), while
// the edge serves its snapshot, and when a later change of the same
// certificate was applied so: an older state never replaces a newer one.
func (e *Edge) ApplyCommitted(c Committed) {
	for deadline := time.Now().Add(commitWait); ; time.Sleep(200 * time.Microsecond) {
		if e.update.TryLock() {
			defer e.update.Unlock()
			e.applyCommitted([]Committed{c})
			return
		}
		if time.Now().After(deadline) {
			break
		}
	}
	e.pendingMu.Lock()
	if len(e.pending) < maxPending {
		e.pending = append(e.pending, c)
	}
	e.pendingMu.Unlock()
}

// drainCommitted applies the changes ApplyCommitted kept while a refresh
// was under way. The caller holds e.update.
func (e *Edge) drainCommitted() {
	e.pendingMu.Lock()
	list := e.pending
	e.pending = nil
	e.pendingMu.Unlock()
	if len(list) > 0 {
		e.applyCommitted(list)
	}
}

// applyCommitted applies list (see ApplyCommitted). The caller holds
// e.update.
func (e *Edge) applyCommitted(list []Committed) {
	ix := e.index.Load()
	if ix == nil || ix.snapshot {
		return
	}
	for id, rev := range e.applied { // what the feed has brought since needs no guard
		if rev <= ix.rev {
			delete(e.applied, id)
		}
	}
	var updates []certUpdate
	for _, c := range list {
		if c.Rev <= ix.rev || c.Rev <= e.applied[c.ID] {
			continue
		}
		if _, ok := ix.sites.Get(strconv.FormatInt(c.SiteID, 10)); !ok {
			continue
		}
		if e.applied == nil {
			e.applied = map[string]int64{}
		}
		e.applied[c.ID] = c.Rev
		u := certUpdate{site: c.SiteID, ids: []string{c.ID}}
		if c.Cert != nil {
			u.certs = []cert.Certificate{*c.Cert}
		}
		updates = append(updates, u)
	}
	if len(updates) > 0 {
		gone := goneOf(ix, nil, updates)
		e.index.Store(ix.apply(nil, updates, ix.rev, e.now()))
		e.certsGone(gone) // staple.go
	}
}
