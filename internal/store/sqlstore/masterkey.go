package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// The database records which master key seals its private keys (current)
// and, after a rotation, the one before it (previous): values sealed by
// either may be in the database, so every node must hold both. A rotation
// moves current to previous and records the new key (SetMasterKey), then
// reseals every value under it (Reseal).
//
// While a rotation runs it records the key it moves to (next): a node that
// starts meanwhile must hold it too, so that no node the rotation did not
// see can miss the switch. The rotation also holds a lease (rotation_lease)
// so that two rotations never run at once.
const (
	masterKeyFact   = "master_key_id"
	previousKeyFact = "master_key_previous"
	nextKeyFact     = "master_key_next"
	rotationFact    = "rotation_lease"
)

// ErrRotationRunning is returned by AcquireRotation while another
// rotation holds the lease.
var ErrRotationRunning = errors.New("sqlstore: another master key rotation is running")

// ErrMasterKey is returned when a node's master keys do not open what the
// database holds.
var ErrMasterKey = errors.New("sqlstore: wrong master key")

// KeyRing is what the store needs to know of a node's master keys (a
// keyseal.Ring satisfies it).
type KeyRing interface {
	// KeyID is the id of the key the node seals with.
	KeyID() string
	// Has reports whether the node holds the key with that id.
	Has(id string) bool
}

type ringRef struct{ KeyRing }

// ClaimMasterKey checks the node's key ring against the database and
// records the ring's current key as the database's when none is recorded
// yet. The ring must hold the recorded current key, and the previous one
// too when any value is still sealed by it. A database from before the id
// was recorded is checked row by row, with sealedBy telling the key id of a
// sealed value. After a successful claim, every write of a sealed key
// checks, in its transaction, that the key the ring seals with is still
// current or previous, so a node left behind by a rotation cannot seal under
// a key the fleet has retired. It returns the database's current key id,
// which the caller makes the ring's sealing key.
func (s *Store) ClaimMasterKey(ctx context.Context, ring KeyRing, sealedBy func([]byte) string) (string, error) {
	var current string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var previous string
		var err error
		current, previous, err = masterKeys(ctx, s, tx)
		if err != nil {
			return err
		}
		next, err := metaFact(ctx, s, tx, nextKeyFact)
		if err != nil {
			return err
		}
		if next != "" && !ring.Has(next) {
			return fmt.Errorf("%w: a rotation to master key %s is under way, and this node does not hold that key: add it to the node's key file", ErrMasterKey, next)
		}
		if current != "" {
			if !ring.Has(current) {
				return fmt.Errorf("%w: the database's private keys are sealed with master key %s, this node does not hold it (it holds %s)", ErrMasterKey, current, ring.KeyID())
			}
			if previous == "" || ring.Has(previous) {
				return nil
			}
			// Values sealed by the previous key are resealed by the
			// rotation; the ring may lack it only once none is left.
			return s.eachSealed(ctx, tx, func(sealed []byte) error {
				if sealedBy(sealed) == previous {
					return fmt.Errorf("%w: the database still holds private keys sealed with the previous master key %s, which this node does not hold", ErrMasterKey, previous)
				}
				return nil
			})
		}
		err = s.eachSealed(ctx, tx, func(sealed []byte) error {
			if id := sealedBy(sealed); !ring.Has(id) {
				return fmt.Errorf("%w: the database holds private keys sealed with master key %s, this node has %s", ErrMasterKey, id, ring.KeyID())
			}
			return nil
		})
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING`), masterKeyFact, ring.KeyID())
		return err
	})
	if err != nil {
		return "", err
	}
	if current == "" {
		// Another node may have claimed first: read back what won.
		if current, _, err = masterKeys(ctx, s, s.db); err != nil {
			return "", err
		}
		if !ring.Has(current) {
			return "", fmt.Errorf("%w: the database's private keys are sealed with master key %s, this node does not hold it", ErrMasterKey, current)
		}
	}
	s.ring.Store(&ringRef{ring})
	return current, nil
}

// eachSealed calls fn with every sealed value in the database, inside tx.
func (s *Store) eachSealed(ctx context.Context, tx *sql.Tx, fn func(sealed []byte) error) error {
	for _, t := range sealedTables {
		col, where := sealedColumn(t.column)
		rows, err := tx.QueryContext(ctx, `SELECT `+col+` FROM `+t.table+where)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sealed []byte
			if err := rows.Scan(&sealed); err != nil {
				rows.Close()
				return err
			}
			if err := fn(sealed); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// MasterKeyID returns the id of the master key the database's keys are
// sealed with, or "" when none is recorded; sealed reports whether the
// database holds any sealed key at all.
func (s *Store) MasterKeyID(ctx context.Context) (id string, sealed bool, err error) {
	if id, _, err = masterKeys(ctx, s, s.db); err != nil || id != "" {
		return id, id != "", err
	}
	for _, t := range sealedTables {
		var one int
		_, where := sealedColumn(t.column)
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM `+t.table+where+` LIMIT 1`).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", false, err
		}
		return "", true, nil
	}
	return "", false, nil
}

// MasterKeys returns the ids of the database's current and previous master
// keys ("" for none).
func (s *Store) MasterKeys(ctx context.Context) (current, previous string, err error) {
	return masterKeys(ctx, s, prepared{s})
}

// SetMasterKey makes the key with id the database's current master key and
// the one it replaces the previous one. Values sealed by either are
// accepted from then on; the caller reseals the rest (Reseal). Setting the
// current key again changes nothing.
func (s *Store) SetMasterKey(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		return setMasterKey(ctx, s, tx, id)
	})
}

func setMasterKey(ctx context.Context, s *Store, tx *sql.Tx, id string) error {
	current, _, err := masterKeys(ctx, s, tx)
	if err != nil || current == id {
		return err
	}
	upsert := s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`)
	if current != "" {
		if _, err := tx.ExecContext(ctx, upsert, previousKeyFact, current); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, upsert, masterKeyFact, id)
	return err
}

type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func masterKeys(ctx context.Context, s *Store, q rowsQuerier) (current, previous string, err error) {
	rows, err := q.QueryContext(ctx, s.rebind(`SELECT k, v FROM meta WHERE k IN (?, ?)`), masterKeyFact, previousKeyFact)
	if err != nil {
		return "", "", fmt.Errorf("read master key id: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return "", "", fmt.Errorf("read master key id: %w", err)
		}
		if k == masterKeyFact {
			current = v
		} else {
			previous = v
		}
	}
	if err := rows.Err(); err != nil {
		return "", "", fmt.Errorf("read master key id: %w", err)
	}
	return current, previous, nil
}

// checkMasterKey fails, inside a write transaction, when the key this node
// seals with is neither the database's current nor its previous master key:
// the node was left behind by rotations and must be given the new key.
func (s *Store) checkMasterKey(ctx context.Context, tx *sql.Tx) error {
	ref := s.ring.Load()
	if ref == nil {
		return nil
	}
	mine := ref.KeyID()
	current, previous, err := masterKeys(ctx, s, tx)
	if err != nil {
		return err
	}
	if current == "" || mine == current || mine == previous {
		return nil
	}
	return fmt.Errorf("%w: this node seals with master key %s, but the database's is %s; add that key to the node's master key file", domain.ErrKeyUnavailable, mine, current)
}

// SealedKeyCounts returns how many sealed values each master key sealed,
// by key id (with sealedBy telling the key id of a sealed value).
func (s *Store) SealedKeyCounts(ctx context.Context, sealedBy func([]byte) string) (map[string]int, error) {
	counts := map[string]int{}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		return s.eachSealed(ctx, tx, func(sealed []byte) error {
			counts[sealedBy(sealed)]++
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("count sealed keys: %w", err)
	}
	return counts, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// metaFact reads one fact of the meta table ("" when absent).
func metaFact(ctx context.Context, s *Store, q rowQuerier, k string) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, s.rebind(`SELECT v FROM meta WHERE k = ?`), k).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s: %w", k, err)
	}
	return v, nil
}

// NextMasterKey returns the id of the key a rotation under way moves to,
// or "" when none is under way.
func (s *Store) NextMasterKey(ctx context.Context) (string, error) {
	return metaFact(ctx, s, s.db, nextKeyFact)
}

// SetNextMasterKey records the key a rotation moves to ("" clears it once
// the rotation is done). Nodes that start while it is set must hold it.
func (s *Store) SetNextMasterKey(ctx context.Context, id string) error {
	var err error
	if id == "" {
		_, err = s.db.ExecContext(ctx, s.rebind(`DELETE FROM meta WHERE k = ?`), nextKeyFact)
	} else {
		_, err = s.db.ExecContext(ctx, s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`), nextKeyFact, id)
	}
	if err != nil {
		return fmt.Errorf("record the next master key: %w", err)
	}
	return nil
}

// AcquireRotation takes the rotation lease for holder until now+ttl, or
// returns ErrRotationRunning naming the holder of a lease that has not run
// out. Taking it again as the same holder extends it.
func (s *Store) AcquireRotation(ctx context.Context, holder string, now time.Time, ttl time.Duration) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		v, err := metaFact(ctx, s, tx, rotationFact)
		if err != nil {
			return err
		}
		if until, who, ok := strings.Cut(v, " "); ok && who != holder {
			if us, err := strconv.ParseInt(until, 10, 64); err == nil && now.Before(time.UnixMicro(us)) {
				return fmt.Errorf("%w: %s holds it until %s", ErrRotationRunning, who, time.UnixMicro(us).UTC().Format(time.RFC3339))
			}
		}
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`),
			rotationFact, strconv.FormatInt(now.Add(ttl).UnixMicro(), 10)+" "+holder)
		return err
	})
}

// ReleaseRotation gives up holder's rotation lease.
func (s *Store) ReleaseRotation(ctx context.Context, holder string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		v, err := metaFact(ctx, s, tx, rotationFact)
		if _, who, _ := strings.Cut(v, " "); err != nil || who != holder {
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(`DELETE FROM meta WHERE k = ?`), rotationFact)
		return err
	})
}
