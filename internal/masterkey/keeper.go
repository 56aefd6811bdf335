package masterkey

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// Keeper is a running node's master keys: the ring it seals and opens
// with, kept in step with its key file and with the database. It is safe
// for concurrent use.
type Keeper struct {
	Source Source
	Log    *slog.Logger // required

	ring *keyseal.Ring

	mu     sync.Mutex
	seen   stamp  // the key file's version the ring was read from
	warned string // the database key last warned about, to warn once
	failed bool   // the last heartbeat failed: said once, and when it works again
}

// Ring is the node's key ring (nil before Open).
func (k *Keeper) Ring() *keyseal.Ring { return k.ring }

// OpenLocal reads the keys without the database, for an edge that starts
// from its snapshot; Claim checks them once the database answers.
func (k *Keeper) OpenLocal() error {
	if k.ring != nil {
		return nil
	}
	st := k.Source.stamp()
	keys, _, err := k.Source.Load(false)
	if err != nil {
		return err
	}
	if k.ring, err = keyseal.NewRing(keys); err != nil {
		return err
	}
	k.seen = st
	return nil
}

// Claim checks the node's keys against the database (see
// sqlstore.Store.ClaimMasterKey) and seals from then on with the key the
// database says. It generates the default key file only for a database that
// holds no sealed key yet; a missing key file of a database that has sealed
// keys is an error that says which key is needed. The node is put on the
// database's node list (as self) before its keys are checked, so that a
// rotation that starts meanwhile sees it, and taken off again when the
// claim fails.
func (k *Keeper) Claim(ctx context.Context, store *sqlstore.Store, self sqlstore.NodeInfo) error {
	created := false
	if k.ring == nil {
		recorded, sealed, err := store.MasterKeyID(ctx)
		if err != nil {
			return err
		}
		fresh := recorded == "" && !sealed
		st := k.Source.stamp()
		keys, made, err := k.Source.Load(fresh)
		if err != nil {
			if !fresh && errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("the database's private keys are sealed with master key %s, but %s is missing", recorded, k.Source.Describe())
			}
			return err
		}
		ring, err := keyseal.NewRing(keys)
		if err != nil {
			return err
		}
		k.ring, k.seen, created = ring, st, made
	} else if err := k.reload(); err != nil {
		return err
	}
	if err := store.Heartbeat(ctx, k.Info(self), time.Now()); err != nil {
		return err
	}
	current, err := store.ClaimMasterKey(ctx, k.ring, keyseal.SealedBy)
	if err != nil {
		store.Leave(ctx, self.ID)
		if created {
			os.Remove(k.Source.File) // a key that sealed nothing must not linger
		}
		return fmt.Errorf("%w; start with the right --master-key-file or ESACERT_MASTER_KEY", err)
	}
	if err := k.ring.Use(current); err != nil {
		return err
	}
	if created {
		k.Log.Info("created the master key that seals private keys; back it up", "file", k.Source.File, "key_id", k.ring.KeyID())
	}
	return nil
}

// reload reads the key file again when it changed since the ring was read.
func (k *Keeper) reload() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := k.Source.stamp()
	if st.fi == nil || st.same(k.seen) {
		return nil
	}
	keys, _, err := k.Source.Load(false)
	if err != nil {
		return err
	}
	before := k.ring.IDs()
	if err := k.ring.Replace(keys); err != nil {
		return err
	}
	k.seen = st
	if after := k.ring.IDs(); !slices.Equal(before, after) {
		k.Log.Info("read the master key file again", "file", k.Source.File, "key_ids", strings.Join(after, ","))
	}
	return nil
}

// Refresh brings the ring in step: the key file read again when it
// changed, and sealing with the database's current key when the ring holds
// it (a rotation made it current). It is what a node runs about once a
// second, before it reports itself (Info).
func (k *Keeper) Refresh(ctx context.Context, store *sqlstore.Store) error {
	if err := k.reload(); err != nil {
		return fmt.Errorf("read the master key file again: %w", err)
	}
	current, _, err := store.MasterKeys(ctx)
	if err != nil || current == "" || current == k.ring.KeyID() {
		return err
	}
	if err := k.ring.Use(current); err != nil {
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.warned != current {
			k.warned = current
			k.Log.Error("the database's master key is not in this node's key ring: new private keys cannot be stored until it is added to the key file",
				"key_id", current, "file", k.Source.Describe())
		}
		return nil
	}
	k.Log.Info("sealing private keys with the database's new master key", "key_id", current)
	return nil
}

// Info is what the node reports of its keys in the node list.
func (k *Keeper) Info(n sqlstore.NodeInfo) sqlstore.NodeInfo {
	n.KeyIDs, n.Sealing = k.ring.IDs(), k.ring.KeyID()
	return n
}

// Heartbeat runs until ctx ends: every interval it refreshes the ring and
// reports the node in the database's node list; when ctx ends it removes
// the node from the list.
func (k *Keeper) Heartbeat(ctx context.Context, store *sqlstore.Store, self sqlstore.NodeInfo, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := k.Refresh(ctx, store); err != nil && ctx.Err() == nil {
			k.Log.Warn("refresh the master keys", "error", err)
		}
		err := store.Heartbeat(ctx, k.Info(self), time.Now())
		switch {
		case err != nil && ctx.Err() == nil && !k.failed:
			k.failed = true
			k.Log.Warn("cannot report this node in the database's node list: a master key rotation waits for it, or names it", "error", err)
		case err == nil && k.failed:
			k.failed = false
			k.Log.Info("reporting this node in the database's node list again")
		}
		select {
		case <-ctx.Done():
			lctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			store.Leave(lctx, self.ID)
			cancel()
			return
		case <-t.C:
		}
	}
}
