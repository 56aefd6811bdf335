package ticketkey

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// Sealed is a key as the store holds it.
type Sealed struct {
	ID      int64
	Sealed  []byte // the secret, sealed with AAD(ID)
	Created time.Time
}

// Store holds the fleet's ticket keys.
type Store interface {
	// TicketKeys returns the keys kept, newest first.
	TicketKeys(ctx context.Context) ([]Sealed, error)
	// AddTicketKey stores k as the newest key if the newest key now is the
	// one numbered k.ID-1 (none for 1), deleting the keys numbered below
	// k.ID-2 (three are kept: the next, the current and the previous), all
	// in one transaction. It reports false, and changes nothing, when
	// another node got there first.
	AddTicketKey(ctx context.Context, k Sealed) (bool, error)
}

// The bounds of a rotation period (the Keeper's Period).
const (
	MinPeriod     = time.Minute
	MaxPeriod     = 7 * 24 * time.Hour
	DefaultPeriod = time.Hour
)

// Keeper makes, rotates and reads the ticket keys. Set its fields, call
// Start, then Keys. It is safe for concurrent use.
type Keeper struct {
	Store  Store         // required
	Sealer domain.Sealer // required: seals and opens the keys
	// Period is how long a key seals new tickets before the next one
	// replaces it (a ticket is then accepted for up to twice as long);
	// 0 means DefaultPeriod.
	Period time.Duration
	// Poll is how often the keys are read again; 0 means 5 seconds (or
	// less when Period is short). A new key is stored three polls (at most
	// a quarter of Period) before it starts sealing, so that every node
	// has read it, and opens its tickets, by then.
	Poll time.Duration
	Log  *slog.Logger     // nil means slog.Default()
	Now  func() time.Time // nil means time.Now

	keys   atomic.Pointer[Set]
	mu     sync.Mutex // one Sync at a time
	opened map[int64]*Key
	failed bool
}

func (k *Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

func (k *Keeper) log() *slog.Logger {
	if k.Log != nil {
		return k.Log
	}
	return slog.Default()
}

func (k *Keeper) period() time.Duration {
	if k.Period > 0 {
		return k.Period
	}
	return DefaultPeriod
}

// Keys returns the keys in use, newest first; empty before the first
// successful Sync.
func (k *Keeper) Keys() Set {
	if s := k.keys.Load(); s != nil {
		return *s
	}
	return nil
}

func (k *Keeper) poll() time.Duration {
	if k.Poll > 0 {
		return k.Poll
	}
	return min(5*time.Second, k.period()/12)
}

// grace is how long a new key is known before it seals.
func (k *Keeper) grace() time.Duration {
	return min(3*k.poll(), k.period()/4)
}

// Start syncs the keys once, then again every Poll until ctx ends. It
// returns the first Sync's error; the keeper keeps trying after one.
func (k *Keeper) Start(ctx context.Context) error {
	err := k.Sync(ctx)
	go func() {
		t := time.NewTicker(k.poll())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			k.Sync(ctx)
		}
	}()
	return err
}

// Sync reads the keys, makes the next one when the newest is Period old
// less the grace (or there is none), and puts them in use: the newest key
// known for the grace seals (the first key ever at once), the one before
// it and a newer one still in its grace open tickets. On an error it keeps
// the keys it had and logs once until a Sync succeeds again.
func (k *Keeper) Sync(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	err := k.sync(ctx)
	switch {
	case err != nil && !k.failed:
		k.log().Error("ticket keys cannot be read or rotated; keeping the ones in use", "error", err)
	case err == nil && k.failed:
		k.log().Info("ticket keys are read again")
	}
	k.failed = err != nil
	return err
}

func (k *Keeper) sync(ctx context.Context) error {
	rows, err := k.Store.TicketKeys(ctx)
	if err != nil {
		return fmt.Errorf("read the ticket keys: %w", err)
	}
	now := k.now()
	if len(rows) == 0 || !now.Before(rows[0].Created.Add(k.period()-k.grace())) {
		next := Sealed{ID: 1, Created: now}
		if len(rows) > 0 {
			next.ID = rows[0].ID + 1
		}
		secret := make([]byte, Size)
		if _, err := rand.Read(secret); err != nil {
			return fmt.Errorf("make a ticket key: %w", err)
		}
		if next.Sealed, err = k.Sealer.Seal(secret, AAD(next.ID)); err != nil {
			return fmt.Errorf("seal a ticket key: %w", err)
		}
		added, err := k.Store.AddTicketKey(ctx, next)
		if err != nil {
			return fmt.Errorf("store a ticket key: %w", err)
		}
		if added {
			k.log().Info("ticket key rotated", "key", next.ID)
		}
		if rows, err = k.Store.TicketKeys(ctx); err != nil {
			return fmt.Errorf("read the ticket keys: %w", err)
		}
	}
	sealer := len(rows) - 1 // the oldest kept, when none is past its grace: the first key ever
	for i, r := range rows {
		if !now.Before(r.Created.Add(k.grace())) {
			sealer = i
			break
		}
	}
	use := []Sealed{rows[sealer]} // the sealing key, then the previous, then the next
	if sealer+1 < len(rows) {
		use = append(use, rows[sealer+1])
	}
	if sealer > 0 {
		use = append(use, rows[sealer-1])
	}
	set := make(Set, 0, len(use))
	opened := make(map[int64]*Key, len(use))
	for _, r := range use {
		key := k.opened[r.ID]
		if key == nil {
			secret, err := k.Sealer.Open(r.Sealed, AAD(r.ID))
			if err != nil {
				return fmt.Errorf("open ticket key %d: %w", r.ID, err)
			}
			if key, err = New(r.ID, r.Created, secret); err != nil {
				return err
			}
		}
		opened[r.ID] = key
		set = append(set, key)
	}
	k.opened = opened
	k.keys.Store(&set)
	return nil
}
