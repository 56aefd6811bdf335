package cert

import (
	"context"
	"fmt"
	"strconv"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/session"
	"github.com/esacert/esacert/internal/ticketkey"
)

// ResealStore re-writes every sealed key, in short transactions (see
// sqlstore.Store.Reseal).
type ResealStore interface {
	Reseal(ctx context.Context, newKeyID string, fn func(kind, id string, sealed []byte) ([]byte, error)) (int, error)
}

// resealCertKey opens the key of the certificate (or twin) with id and
// seals it again with to, keeping the mark that its stored public key was
// checked (SealKey), and giving it to a key sealed before the mark existed
// whose stored public key holds. A mark is kept only on a key that
// leafECDSAKey reads, the only kind SealKey compares.
func resealCertKey(from, to domain.Sealer, id string, sealed []byte) ([]byte, error) {
	plain, checked, err := openKeyText(from, id, sealed)
	if err != nil {
		return nil, err
	}
	defer clear(plain)
	return sealKeyText(to, id, plain, storedPublicKeyChecked(plain, checked))
}

// Reseal opens every sealed private key with from and seals it again with
// to (the store records to as the current key first). Keys already sealed by to (a resumed rotation) are
// left alone when skip reports so for them. It returns how many keys changed.
func Reseal(ctx context.Context, store ResealStore, from, to domain.Sealer, skip func(sealed []byte) bool) (int, error) {
	return store.Reseal(ctx, to.KeyID(), func(kind, id string, sealed []byte) ([]byte, error) {
		if skip != nil && skip(sealed) {
			return sealed, nil
		}
		var aad []byte
		switch kind {
		case "certificate":
			return resealCertKey(from, to, id, sealed)
		case "certificate-twin":
			return resealCertKey(from, to, TwinID(id), sealed)
		case "repository":
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("repository id %q: %w", id, err)
			}
			aad = repoAAD(n)
		case "record":
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("record id %q: %w", id, err)
			}
			aad = record.SecretsAAD(n)
		case "acme-account":
			aad = accountAAD(id)
		case "access-key":
			aad = accesskey.SecretAAD(id)
		case "sts-key":
			aad = session.KeyAAD(id)
		case "origin-client":
			aad = origincert.ClientAAD(id)
		case "client-issuer":
			aad = clientcert.IssuerAAD(id)
		case "ticket-key":
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("ticket key id %q: %w", id, err)
			}
			aad = ticketkey.AAD(n)
		default:
			return nil, fmt.Errorf("unknown sealed row kind %q", kind)
		}
		plain, err := from.Open(sealed, aad)
		if err != nil {
			return nil, err
		}
		return to.Seal(plain, aad)
	})
}
