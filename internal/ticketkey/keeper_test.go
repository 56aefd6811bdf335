package ticketkey

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/keyseal"
)

// memStore is a Store in memory.
type memStore struct {
	mu   sync.Mutex
	keys []Sealed
}

func (m *memStore) TicketKeys(context.Context) ([]Sealed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Sealed(nil), m.keys...), nil
}

func (m *memStore) AddTicketKey(_ context.Context, k Sealed) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var newest int64
	if len(m.keys) > 0 {
		newest = m.keys[0].ID
	}
	if newest != k.ID-1 {
		return false, nil
	}
	m.keys = append([]Sealed{k}, m.keys...)
	if len(m.keys) > 3 {
		m.keys = m.keys[:3]
	}
	return true, nil
}

// TestKeepers: two keepers on one store make one key between them, both
// seal and open with it; after a period the next key seals, the previous
// still opens; after two, a ticket of the first key opens no more. A key's
// secret appears in no log line and no String.
func TestKeepers(t *testing.T) {
	k, _ := keyseal.Generate()
	sealer, _ := keyseal.New(k)
	store := &memStore{}
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var logs bytes.Buffer
	newKeeper := func() *Keeper {
		return &Keeper{Store: store, Sealer: sealer, Period: time.Hour, Now: func() time.Time { return clock },
			Log: slog.New(slog.NewTextHandler(&logs, nil))}
	}
	a, b := newKeeper(), newKeeper()
	for _, kp := range []*Keeper{a, b} {
		if err := kp.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(store.keys) != 1 || len(a.Keys()) != 1 || a.Keys()[0].ID != b.Keys()[0].ID {
		t.Fatalf("keys made: %d; a has %v, b %v", len(store.keys), a.Keys(), b.Keys())
	}
	ticket, err := a.Keys().Current().Seal([]byte("session"))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := b.Keys().Open(ticket); !ok || string(got) != "session" {
		t.Fatal("the other keeper does not open the ticket")
	}
	forged := bytes.Clone(ticket)
	forged[len(forged)-1] ^= 1
	if _, ok := b.Keys().Open(forged); ok {
		t.Fatal("a forged ticket opens")
	}
	clock = clock.Add(time.Hour)
	a.Sync(context.Background())
	b.Sync(context.Background())
	// The next key is known to both, and opens tickets, before it seals.
	if len(store.keys) != 2 || b.Keys().Current().ID != 1 || len(b.Keys()) != 2 || a.Keys()[1].ID != 2 {
		t.Fatalf("after a period: %d keys stored, a uses %v, b %v", len(store.keys), a.Keys(), b.Keys())
	}
	early, _ := a.Keys()[1].Seal([]byte("early"))
	if _, ok := b.Keys().Open(early); !ok {
		t.Fatal("the next key's ticket does not open on the other keeper")
	}
	clock = clock.Add(time.Minute) // past the grace: three polls of 5 s
	a.Sync(context.Background())
	b.Sync(context.Background())
	if b.Keys().Current().ID != 2 || len(b.Keys()) != 2 {
		t.Fatalf("after the grace: b uses %v", b.Keys())
	}
	if _, ok := b.Keys().Open(ticket); !ok {
		t.Fatal("a ticket of the previous key does not open")
	}
	clock = clock.Add(time.Hour)
	b.Sync(context.Background())
	a.Sync(context.Background())
	clock = clock.Add(time.Minute)
	b.Sync(context.Background())
	a.Sync(context.Background())
	if len(store.keys) != 3 || a.Keys().Current().ID != 3 {
		t.Fatalf("after two periods: %d keys stored, a uses %v", len(store.keys), a.Keys())
	}
	if _, ok := a.Keys().Open(ticket); ok {
		t.Fatal("a ticket two keys old opens")
	}
	for _, kp := range a.Keys() {
		secret, err := sealer.Open(store.keys[0].Sealed, AAD(store.keys[0].ID))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(logs.Bytes(), secret) || bytes.Contains([]byte(kp.String()), secret) {
			t.Fatal("a key's secret was logged or printed")
		}
	}
}
