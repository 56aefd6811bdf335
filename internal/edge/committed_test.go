package edge

import (
	"context"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// TestApplyCommitted: a certificate change this process committed is
// served at once, without reading the store (the index's revision stays,
// so the feed brings it again, to the same index); a deletion too; a change
// the index already holds a later revision of, one older than a change of
// the same certificate applied so, and one of a site the index does not
// hold are left to the feed; one handed over while a refresh holds the
// index is applied when that refresh ends, even when it could not read
// the store.
func TestApplyCommitted(t *testing.T) {
	f := newFixture(t)
	www, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, www))
	e, addr := startEdge(t, src, f.sealer)
	rev := e.Index().rev
	commit := func(id string, c *Committed) {
		t.Helper()
		c.Rev, c.SiteID, c.ID = src.rev, 1, id
		e.ApplyCommitted(*c)
	}
	// twoChanges stores a certificate for one name, then a replacement for
	// another under its id, and returns the two commits.
	twoChanges := func(name, then string) (older, newer Committed) {
		a, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), name)
		b, _ := f.replacement(a.ID, now.Add(60*24*time.Hour), then)
		a, b = onSite(1, a), onSite(1, b)
		src.putCert(a)
		older = Committed{Rev: src.rev, SiteID: 1, ID: a.ID, Cert: &a}
		src.putCert(b)
		return older, Committed{Rev: src.rev, SiteID: 1, ID: b.ID, Cert: &b}
	}

	added, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "new.example.com")
	added = onSite(1, added)
	src.putCert(added)
	commit(added.ID, &Committed{Cert: &added})
	if got := servedName(t, addr, "new.example.com"); got != "ecdsa:new.example.com" {
		t.Fatalf("the committed certificate is served %q", got)
	}
	if src.certLoads != 0 || e.Index().rev != rev {
		t.Fatalf("the store was read (%d certificates) or the revision moved (%d, was %d)", src.certLoads, e.Index().rev, rev)
	}
	e.Refresh(context.Background())
	sameIndex(t, e.Index(), load(e.seed, mustLoad(t, src), 0, now, false))

	src.deleteCert(1, added.ID)
	commit(added.ID, &Committed{})
	if got := servedName(t, addr, "new.example.com"); got != "" {
		t.Fatalf("the deleted certificate is served %q", got)
	}
	e.Refresh(context.Background())

	// The index holds the revision already: an older state is not applied.
	stale := onSite(1, www)
	stale.ID = added.ID
	e.ApplyCommitted(Committed{Rev: e.Index().rev, SiteID: 1, ID: added.ID, Cert: &stale})
	if got := servedName(t, addr, "new.example.com"); got != "" {
		t.Fatalf("a change older than the index was applied: %q", got)
	}

	// Two changes of one certificate handed over out of order: the later wins.
	older, newer := twoChanges("one.example.com", "two.example.com")
	e.ApplyCommitted(newer)
	e.ApplyCommitted(older)
	if got := servedName(t, addr, "two.example.com"); got != "ecdsa:two.example.com" {
		t.Fatalf("the later change is served %q", got)
	}
	if got := servedName(t, addr, "one.example.com"); got != "" {
		t.Fatalf("the earlier change replaced the later one: %q", got)
	}
	e.Refresh(context.Background())

	// A site the index does not hold: left to the feed.
	other, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.other.net")
	e.ApplyCommitted(Committed{Rev: src.rev + 1, SiteID: 2, ID: other.ID, Cert: &other})
	if got := servedName(t, addr, "www.other.net"); got != "" {
		t.Fatalf("a certificate of a site the index does not hold is served %q", got)
	}

	// Handed over during a refresh that then cannot read the store.
	late, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "late.example.com")
	late = onSite(1, late)
	src.putCert(late)
	e.update.Lock() // a refresh under way, longer than commitWait
	start := time.Now()
	commit(late.ID, &Committed{Cert: &late})
	if waited := time.Since(start); waited < commitWait {
		t.Fatalf("waited %s for the refresh under way, want %s", waited, commitWait)
	}
	if got := servedName(t, addr, "late.example.com"); got != "" {
		t.Fatalf("applied while a refresh held the index: %q", got)
	}
	e.update.Unlock()
	src.setFail(true)
	e.Refresh(context.Background())
	if got := servedName(t, addr, "late.example.com"); got != "ecdsa:late.example.com" {
		t.Fatalf("the change kept during a refresh is served %q after it", got)
	}

	// Two changes of one certificate kept during a refresh, handed over out
	// of order: applied in the order of their revisions, the later wins.
	src.setFail(false)
	e.Refresh(context.Background())
	older, newer = twoChanges("three.example.com", "four.example.com")
	e.update.Lock()
	e.ApplyCommitted(newer)
	e.ApplyCommitted(older)
	e.update.Unlock()
	src.setFail(true)
	e.Refresh(context.Background())
	if got := servedName(t, addr, "four.example.com"); got != "ecdsa:four.example.com" {
		t.Fatalf("the later of two kept changes is served %q", got)
	}
	if got := servedName(t, addr, "three.example.com"); got != "" {
		t.Fatalf("the earlier of two kept changes replaced the later: %q", got)
	}
}
