package cert

import (
	"context"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// AccountStore keeps the sealed keys of ACME accounts by id (the CA's
// directory URL).
type AccountStore interface {
	ACMEAccount(ctx context.Context, id string) (sealed []byte, ok bool, err error)
	PutACMEAccount(ctx context.Context, id string, sealed []byte, now time.Time) error
}

// AccountKeys keeps ACME account keys sealed under the master key, so an
// account outlives the process that opened it and is shared by every node.
type AccountKeys struct {
	Store  AccountStore
	Sealer domain.Sealer
}

func accountAAD(id string) []byte { return []byte("acme-account:" + id) }

// Load returns the PEM key of the account at directory, if one is kept.
func (a AccountKeys) Load(ctx context.Context, directory string) ([]byte, bool, error) {
	sealed, ok, err := a.Store.ACMEAccount(ctx, directory)
	if err != nil || !ok {
		return nil, false, err
	}
	keyPEM, err := a.Sealer.Open(sealed, accountAAD(directory))
	if err != nil {
		return nil, false, err
	}
	return keyPEM, true, nil
}

// Save keeps the PEM key of the account at directory.
func (a AccountKeys) Save(ctx context.Context, directory string, keyPEM []byte) error {
	sealed, err := a.Sealer.Seal(keyPEM, accountAAD(directory))
	if err != nil {
		return err
	}
	return a.Store.PutACMEAccount(ctx, directory, sealed, time.Now())
}
