package masterkey

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// Defaults of Rotation's optional fields.
const (
	DefaultLive = 10 * time.Second // a node seen this recently is running
	// DefaultForget is how long a node that stopped reporting (killed, cut
	// off from the database, or its clock behind) still counts: it must
	// hold the new key before the rotation goes on.
	DefaultForget = 10 * time.Minute
	DefaultWait   = 20 * time.Second // how long Rotate waits for the nodes
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
	// Live, Forget and Wait: see DefaultLive, DefaultForget and
	// DefaultWait; Poll is how often the node list is read while waiting
	// (default 200ms). Zero means default.
	Live, Forget, Wait, Poll time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Progress, when set, hears how far the reseal is ("reseal": values
	// sealed by another key taken, of those counted before it began).
	Progress sqlstore.Progress
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
func (r *Rotation) Run(ctx context.Context) (res Result, err error) {
	st := r.Store
	host, _ := os.Hostname()
	holder := fmt.Sprintf("%s pid %d (rotate-master-key)", host, os.Getpid())
	if err := st.AcquireRotation(ctx, holder, r.now(), time.Hour); err != nil {
		return Result{}, err
	}
	defer func() {
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if rerr := st.ReleaseRotation(lctx, holder); err == nil && rerr != nil {
			err = rerr
		}
	}()
	keys, _, err := r.Source.Load(false)
	if err != nil {
		return Result{}, err
	}
	current, previous, err := st.MasterKeys(ctx)
	if err != nil {
		return Result{}, err
	}
	next, err := st.NextMasterKey(ctx)
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
	var supplied [][]byte
	if r.NewKeyFile != "" {
		if supplied, err = keyseal.LoadRing(r.NewKeyFile); err != nil {
			return Result{}, err
		}
	}
	var target []byte
	res.Path = r.Source.File
	if r.Source.Env != "" {
		res.Path = ""
	}
	first := keyseal.KeyIDOf(keys[0])
	switch {
	case next != "":
		// An interrupted rotation: finish it, to the key it chose.
		for _, k := range append(supplied, keys...) {
			if keyseal.KeyIDOf(k) == next {
				target = k
			}
		}
		if target == nil {
			return Result{}, fmt.Errorf("a rotation to master key %s was interrupted; run rotate-master-key again with that key first in %s or named by --new-master-key-file", next, r.Source.Describe())
		}
		if supplied != nil && keyseal.KeyIDOf(supplied[0]) == next {
			res.Path = r.NewKeyFile
		}
	case supplied != nil:
		target, res.Path = supplied[0], r.NewKeyFile
		if keyseal.KeyIDOf(target) == current && !unfinished {
			return Result{}, errors.New("the new master key is the current one")
		}
	case first == previous && first != current:
		return Result{}, fmt.Errorf("the newest key in %s is the database's previous master key %s; the database seals with %s now: put that key first in %s",
			r.Source.Describe(), previous, current, r.Source.Describe())
	case first != current || unfinished:
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
	opener, err := keyseal.NewRing(append(append([][]byte{target}, keys...), supplied...))
	if err != nil {
		return Result{}, err
	}

	// From here on a node that starts must hold the new key (see
	// sqlstore.Store.ClaimMasterKey), so none can slip past the check below.
	if err := st.SetNextMasterKey(ctx, res.KeyID); err != nil {
		return res, err
	}
	if err := r.waitNodes(ctx, func(n sqlstore.NodeInfo, live bool) bool { return n.HoldsKey(res.KeyID) },
		"do not hold the new master key "+res.KeyID+": add it to their master key file, first (a running node reads the file again within a second), then run rotate-master-key again; nothing was changed in the database"); err != nil {
		if current != res.KeyID {
			st.SetNextMasterKey(context.WithoutCancel(ctx), "")
		}
		return res, err
	}
	if err := st.SetMasterKey(ctx, res.KeyID); err != nil {
		return res, err
	}
	// A node that stopped reporting cannot switch; holding the key, it
	// switches when it reports again, before it writes.
	if err := r.waitNodes(ctx, func(n sqlstore.NodeInfo, live bool) bool {
		return n.Sealing == res.KeyID || !live && n.HoldsKey(res.KeyID)
	},
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
	total := 0
	for id, n := range counts {
		if id != res.KeyID {
			total += n
		}
	}
	taken := 0
	if r.Progress != nil {
		r.Progress("reseal", 0, total)
	}
	res.Resealed, err = cert.Reseal(ctx, st, opener, to, func(sealed []byte) bool {
		if keyseal.SealedBy(sealed) == res.KeyID {
			return true
		}
		if taken++; r.Progress != nil {
			r.Progress("reseal", taken, max(total, taken))
		}
		return false
	})
	if err != nil {
		return res, fmt.Errorf("reseal stopped after %d keys (the new key is current and the old one still opens every value; run rotate-master-key again to finish): %w", res.Resealed, err)
	}
	if err := st.SetNextMasterKey(ctx, ""); err != nil {
		return res, err
	}
	r.Log.Info("resealed every private key", "keys", res.Resealed, "from_key_id", current, "to_key_id", res.KeyID, "nodes", res.Nodes)
	if r.NewKeyFile == "" && r.Source.Writable() {
		if err := r.trim(keys, target, current, previous); err != nil {
			return res, fmt.Errorf("the rotation is done, but trimming the key file failed: %w", err)
		}
	}
	return res, nil
}

// trim leaves the key file holding the new key and the one before it (a
// write that sealed with the old key just before its node switched still
// opens; the next rotation re-seals it). The keys it drops are kept in a
// file of their own beside it (mode 0600), for backups older than the
// rotation, and logged by id.
func (r *Rotation) trim(keys [][]byte, target []byte, current, previous string) error {
	before := current
	if before == keyseal.KeyIDOf(target) {
		before = previous // a run that only finished an interrupted one
	}
	keep, dropped := [][]byte{target}, [][]byte(nil)
	var droppedIDs []string
	for _, k := range keys {
		switch id := keyseal.KeyIDOf(k); {
		case id == keyseal.KeyIDOf(target):
		case id == before:
			keep = append(keep, k)
		default:
			dropped = append(dropped, k)
			droppedIDs = append(droppedIDs, id)
		}
	}
	if len(dropped) == 0 {
		return nil
	}
	retired := r.Source.File + ".retired-" + r.now().UTC().Format("20060102T150405Z")
	if err := keyseal.ReplaceRingFile(retired, dropped); err != nil {
		return err
	}
	if err := keyseal.ReplaceRingFile(r.Source.File, keep); err != nil {
		return err
	}
	r.Log.Info("retired master keys no value is sealed with any more; they open only backups older than this rotation",
		"key_ids", strings.Join(droppedIDs, ","), "kept_in", retired)
	return nil
}

// waitNodes waits until every node reported within Forget satisfies ok
// (told whether the node reported within Live), reading the node list every
// Poll, for at most Wait; then it names the nodes that do not.
func (r *Rotation) waitNodes(ctx context.Context, ok func(n sqlstore.NodeInfo, live bool) bool, problem string) error {
	deadline := r.now().Add(orDefault(r.Wait, DefaultWait))
	for {
		now := r.now()
		nodes, err := r.Store.Nodes(ctx, now.Add(-orDefault(r.Forget, DefaultForget)))
		if err != nil {
			return err
		}
		var behind []string
		for _, n := range nodes {
			live := !n.Seen.Before(now.Add(-orDefault(r.Live, DefaultLive)))
			if !ok(n, live) {
				name := n.String()
				if !live {
					name += fmt.Sprintf(", not heard from for %s (a node that stopped without leaving counts for %s)",
						now.Sub(n.Seen).Round(time.Second), orDefault(r.Forget, DefaultForget))
				}
				behind = append(behind, name)
			}
		}
		if len(behind) == 0 {
			return nil
		}
		if !r.now().Before(deadline) {
			return fmt.Errorf("%w: %s %s", ErrNodesBehind, strings.Join(behind, "; "), problem)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(orDefault(r.Poll, 200*time.Millisecond)):
		}
	}
}
