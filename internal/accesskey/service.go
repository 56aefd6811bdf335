package accesskey

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/user"
)

// Service holds the use cases on RAM users' access keys. Its fields are
// set once, before first use; after that a Service is safe for concurrent
// use.
type Service struct {
	// Store stores the keys; required.
	Store Store
	// Sealer seals the secrets; nil refuses to create or open keys
	// (domain.ErrKeyUnavailable).
	Sealer domain.Sealer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Rand is the source of ids and secrets; nil means crypto/rand.
	Rand io.Reader
}

// Create makes a new Active key for the user and returns it with its
// secret: the only time the secret is ever shown.
func (s *Service) Create(ctx context.Context, userName string) (AccessKey, string, error) {
	if err := checkUser(userName); err != nil {
		return AccessKey{}, "", err
	}
	if s.Sealer == nil {
		return AccessKey{}, "", fmt.Errorf("create access key: %w: no master key", domain.ErrKeyUnavailable)
	}
	for attempt := 0; ; attempt++ {
		gen, err := Generate(s.Rand)
		if err != nil {
			return AccessKey{}, "", err
		}
		k := AccessKey{ID: gen.ID, Status: StatusActive, Created: domain.Now(s.Now)}
		if k.SealedSecret, err = s.Sealer.Seal([]byte(gen.Secret), SecretAAD(k.ID)); err != nil {
			return AccessKey{}, "", fmt.Errorf("seal access key secret: %w", err)
		}
		err = s.Store.CreateAccessKey(ctx, userName, k, MaxPerUser)
		if errors.Is(err, domain.ErrExists) && attempt < 5 {
			continue
		}
		if err != nil {
			return AccessKey{}, "", err
		}
		k.UserName = userName
		return k, gen.Secret, nil
	}
}

func checkUser(userName string) error {
	if userName == "" {
		return domain.Missing("UserName")
	}
	return user.CheckName("UserName", userName)
}

func checkID(id string) error {
	if id == "" {
		return domain.Missing("UserAccessKeyId")
	}
	if len(id) > 128 {
		return domain.Invalid("UserAccessKeyId", "is too long")
	}
	return nil
}

// List returns the user's keys (without secrets), oldest first.
func (s *Service) List(ctx context.Context, userName string) ([]AccessKey, error) {
	if err := checkUser(userName); err != nil {
		return nil, err
	}
	return s.Store.AccessKeys(ctx, userName)
}

// SetStatus makes the user's key Active or Inactive (status in any case).
func (s *Service) SetStatus(ctx context.Context, userName, id, status string) error {
	if err := checkUser(userName); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	switch {
	case status == "":
		return domain.Missing("Status")
	case strings.EqualFold(status, StatusActive):
		status = StatusActive
	case strings.EqualFold(status, StatusInactive):
		status = StatusInactive
	default:
		return domain.Invalid("Status", "must be Active or Inactive")
	}
	return s.Store.SetAccessKeyStatus(ctx, userName, id, status)
}

// Delete removes the user's key; requests signed with it fail from then on.
func (s *Service) Delete(ctx context.Context, userName, id string) error {
	if err := checkUser(userName); err != nil {
		return err
	}
	if err := checkID(id); err != nil {
		return err
	}
	return s.Store.DeleteAccessKey(ctx, userName, id)
}

// Key returns the key with that id (any user's), or ErrKeyNotFound: for an
// answer that must name the key's user when the request did not.
func (s *Service) Key(ctx context.Context, id string) (AccessKey, error) {
	if err := checkID(id); err != nil {
		return AccessKey{}, err
	}
	return s.Store.AccessKey(ctx, id)
}

// Open returns the key with that id and its secret, unsealed: for
// authenticating a request signed with it, never for an answer.
// ErrKeyNotFound when there is no such key.
func (s *Service) Open(ctx context.Context, id string) (AccessKey, string, error) {
	k, err := s.Store.AccessKey(ctx, id)
	if err != nil {
		return AccessKey{}, "", err
	}
	if s.Sealer == nil {
		return AccessKey{}, "", fmt.Errorf("open access key %s: %w: no master key", id, domain.ErrKeyUnavailable)
	}
	plain, err := s.Sealer.Open(k.SealedSecret, SecretAAD(k.ID))
	if err != nil {
		return AccessKey{}, "", fmt.Errorf("unseal access key %s: %w: %v", id, domain.ErrKeyUnavailable, err)
	}
	return k, string(plain), nil
}
