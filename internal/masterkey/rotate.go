package masterkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// Defaults of Rotation's optional fields.
const (
	DefaultLive = 10 * time.Second // a node seen this recently is running
	DefaultWait = 20 * time.Second // how long Rotate waits for the nodes
	// HeartbeatInterval is how often a running node reads its key file
	// again and reports itself (see Keeper.Heartbeat).
	HeartbeatInterval = time.Second
)

// ErrNodesBehind is returned by Rotate when running nodes do not hold the
// new key, or did not start sealing with it in time.
var ErrNodesBehind = errors.New("masterkey: running nodes are not ready for the new master key")

// Rotation moves a database, and every node running on it, to a new
// master key while they run.
type Rotation struct {
	Store  *sqlstore.Store // required
	Source Source          // the keys of this command: they open what is sealed
	// NewKeyFile names the key to rotate to (its first key). When empty,
	// Rotate rotates to the newest key of Source when the database does not
	// use it yet (an operator put it there, or an earlier run did), and
	// otherwise generates a key and adds it to Source's file.
	NewKeyFile string
	Log        *slog.Logger // required
	// Live and Wait: see DefaultLive and DefaultWait; Poll is how often the
	// node list is read while waiting (default 200ms). Zero means default.
	Live, Wait, Poll time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Result is what a rotation did.
type Result struct {
	KeyID    string // the master key now current
	Path     string // the file holding it ("" when it came from the environment)
	Resealed int    // values sealed again under it
	Nodes    int    // running nodes that switched with it
}

func (r *Rotation) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Run rotates. In order, each step safe to repeat after an interruption:
//  1. choose the new key (see NewKeyFile), writing a generated one into the
//     key file, newest first;
//  2. wait until every running node holds it (they read their key file
//     again within a second); a node that does not is named, and nothing
//     changes in the database;
//  3. record it as the database's current key, the old one as previous:
//     values sealed by either are accepted from then on;
//  4. wait until every running node seals with it;
//  5. reseal, in one transaction, every value sealed by another key;
//  6. trim the key file to the new key and the one before it.
func (r *Rotation) Run(ctx context.Context) (Result, error) {
	st := r.Store
	keys, _, err := r.Source.Load(false)
	if err != nil {
		return Result{}, err
	}
	current, previous, err := st.MasterKeys(ctx)
	if err != nil {
		return Result{}, err
	}
	counts, err := st.SealedKeyCounts(ctx, keyseal.SealedBy)
	if err != nil {
		return Result{}, err
	}
	if current == "" {
		// No node has started on this database yet: its keys are the ring's.
		current = keyseal.KeyIDOf(keys[0])
	}
	unfinished := false
	for id, n := range counts {
		if id != current && n > 0 {
			unfinished = true
		}
	}
	var target []byte
	res := Result{Path: r.Source.File}
	if r.Source.Env != "" {
		res.Path = ""
	}
	switch {
	case r.NewKeyFile != "":
		nk, err := keyseal.LoadRing(r.NewKeyFile)
		if err != nil {
			return Result{}, err
		}
		target, res.Path = nk[0], r.NewKeyFile
		if keyseal.KeyIDOf(target) == current && !unfinished {
			return Result{}, errors.New("the new master key is the current one")
		}
	case keyseal.KeyIDOf(keys[0]) != current || unfinished:
		target = keys[0]
	case !r.Source.Writable():
		return Result{}, errors.New("ESACERT_MASTER_KEY cannot be rewritten: put the new key first in it on every node (a node reads it only when it starts), or name the new key with --new-master-key-file")
	default:
		if target, err = keyseal.Generate(); err != nil {
			return Result{}, err
		}
		keys = append([][]byte{target}, keys...)
		if err := keyseal.ReplaceRingFile(r.Source.File, keys); err != nil {
			return Result{}, err
		}
		r.Log.Info("generated a new master key and added it to the key file", "file", r.Source.File, "key_id", keyseal.KeyIDOf(target))
	}
	res.KeyID = keyseal.KeyIDOf(target)
	opener, err := keyseal.NewRing(append([][]byte{target}, keys...))
	if err != nil {
		return Result{}, err
	}

	if err := r.waitNodes(ctx, func(n sqlstore.NodeInfo) bool { return n.HoldsKey(res.KeyID) },
		"do not hold the new master key "+res.KeyID+": add it to their master key file, first (a running node reads the file again within a second), then run rotate-master-key again; nothing was changed in the database"); err != nil {
		return res, err
	}
	if err := st.SetMasterKey(ctx, res.KeyID); err != nil {
		return res, err
	}
	if err := r.waitNodes(ctx, func(n sqlstore.NodeInfo) bool { return n.Sealing == res.KeyID },
		"did not start sealing with the new master key "+res.KeyID+" (it is recorded as current and they hold it; run rotate-master-key again to finish)"); err != nil {
		return res, err
	}
	nodes, err := st.Nodes(ctx, r.now().Add(-orDefault(r.Live, DefaultLive)))
	if err != nil {
		return res, err
	}
	res.Nodes = len(nodes)
	to, err := keyseal.New(target)
	if err != nil {
		return res, err
	}
	res.Resealed, err = cert.Reseal(ctx, st, opener, to, func(sealed []byte) bool {
		return keyseal.SealedBy(sealed) == res.KeyID
	})
	if err != nil {
		return res, fmt.Errorf("reseal (nothing was resealed; the new key is current and the old one still opens every value): %w", err)
	}
	r.Log.Info("resealed every private key", "keys", res.Resealed, "from_key_id", current, "to_key_id", res.KeyID, "nodes", res.Nodes)
	if r.NewKeyFile == "" && r.Source.Writable() {
		// The file keeps the new key and the one before it: a value a
		// straggling write sealed under the old key still opens.
		// (A run that only finished an interrupted one keeps the previous.)
		before := current
		if before == res.KeyID {
			before = previous
		}
		keep := [][]byte{target}
		for _, k := range keys {
			if id := keyseal.KeyIDOf(k); id == before && id != res.KeyID {
				keep = append(keep, k)
			}
		}
		if len(keep) != len(keys) {
			if err := keyseal.ReplaceRingFile(r.Source.File, keep); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// waitNodes waits until every running node satisfies ok, reading the node
// list every Poll, for at most Wait; then it names the nodes that do not.
func (r *Rotation) waitNodes(ctx context.Context, ok func(sqlstore.NodeInfo) bool, problem string) error {
	deadline := r.now().Add(orDefault(r.Wait, DefaultWait))
	for {
		nodes, err := r.Store.Nodes(ctx, r.now().Add(-orDefault(r.Live, DefaultLive)))
		if err != nil {
			return err
		}
		var behind []string
		for _, n := range nodes {
			if !ok(n) {
				behind = append(behind, n.String())
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if !r.now().Before(deadline) {
			return fmt.Errorf("%w: %s %s", ErrNodesBehind, strings.Join(behind, ", "), problem)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(orDefault(r.Poll, 200*time.Millisecond)):
		}
	}
}
