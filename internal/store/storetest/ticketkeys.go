package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/esacert/esacert/internal/ticketkey"
)

// testTicketKeys: keys are added in order only (the next number after the
// newest, so that of two nodes rotating at once one wins), the three
// newest are kept, newest first, and a race for one number has one winner.
func testTicketKeys(t *testing.T, st Store) {
	s, ok := st.(ticketkey.Store)
	if !ok {
		t.Fatalf("%T keeps no ticket keys", st)
	}
	ctx := t.Context()
	ids := func() string {
		t.Helper()
		keys, err := s.TicketKeys(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, k := range keys {
			out = append(out, k.ID)
		}
		return fmt.Sprint(out)
	}
	if got := ids(); got != "[]" {
		t.Fatalf("keys of an empty store: %s", got)
	}
	add := func(id int64) bool {
		t.Helper()
		ok, err := s.AddTicketKey(ctx, ticketkey.Sealed{ID: id, Sealed: []byte(fmt.Sprintf("sealed-%d", id)), Created: now})
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if add(2) {
		t.Fatal("key 2 added before key 1")
	}
	if !add(1) || add(1) {
		t.Fatal("key 1 not added once")
	}
	if !add(2) || !add(3) {
		t.Fatal("keys 2 and 3 not added")
	}
	if got := ids(); got != "[3 2 1]" {
		t.Fatalf("keys kept: %s, want [3 2 1]", got)
	}
	keys, _ := s.TicketKeys(ctx)
	if string(keys[0].Sealed) != "sealed-3" || !keys[0].Created.Equal(now) {
		t.Fatalf("key 3 reads back as %q made %v", keys[0].Sealed, keys[0].Created)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.AddTicketKey(ctx, ticketkey.Sealed{ID: 4, Sealed: []byte("sealed-4"), Created: now})
			if err == nil && ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d nodes added key 4, want 1", wins.Load())
	}
	if got := ids(); got != "[4 3 2]" {
		t.Fatalf("keys kept: %s, want [4 3 2]", got)
	}
}
