package account

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// IDDigits is how many decimal digits an account id has.
const IDDigits = 16

// Store keeps the account's facts. Methods are safe for concurrent use.
type Store interface {
	// ClaimAccountID records id as the account id unless one is recorded
	// already, and returns the recorded one: of several nodes starting at
	// once on an empty database, one id wins and all see it.
	ClaimAccountID(ctx context.Context, id string) (string, error)
	// AccountAlias returns the alias, "" when none was set.
	AccountAlias(ctx context.Context) (string, error)
	// SetAccountAlias records the alias.
	SetAccountAlias(ctx context.Context, alias string) error
}

// Service holds the account's use cases. Its fields are set once, before
// first use; after that it is safe for concurrent use.
type Service struct {
	// Store keeps the id and the alias; required.
	Store Store
	// Rand is the source of the id drawn at first start; nil means crypto/rand.
	Rand io.Reader
}

// Ensure returns the account id, drawing and recording one the first time.
func (s *Service) Ensure(ctx context.Context) (string, error) {
	return s.Store.ClaimAccountID(ctx, strconv.FormatInt(domain.NumericID(s.Rand, IDDigits), 10))
}

// Alias returns the account alias; an account that has none answers its id,
// as Alibaba Cloud does by default.
func (s *Service) Alias(ctx context.Context, accountID string) (string, error) {
	a, err := s.Store.AccountAlias(ctx)
	if err != nil || a != "" {
		return a, err
	}
	return accountID, nil
}

// SetAlias checks and records the account alias: 3 to 32 lowercase
// letters, digits and hyphens, not starting or ending with a hyphen, no two
// hyphens in a row. A bad alias is a ParamError naming AccountAlias with
// ErrTooLong or ErrBadFormat.
func (s *Service) SetAlias(ctx context.Context, alias string) error {
	if alias == "" {
		return domain.Missing("AccountAlias")
	}
	if n := len(alias); n < 3 || n > 32 {
		return &domain.ParamError{Param: "AccountAlias", Err: domain.ErrTooLong, Reason: "must be 3 to 32 characters"}
	}
	for _, r := range alias {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return badAlias()
		}
	}
	if alias[0] == '-' || alias[len(alias)-1] == '-' || strings.Contains(alias, "--") {
		return badAlias()
	}
	return s.Store.SetAccountAlias(ctx, alias)
}

func badAlias() error {
	return &domain.ParamError{Param: "AccountAlias", Err: domain.ErrBadFormat,
		Reason: "may hold lowercase letters, digits and single hyphens inside only"}
}

// ARN is the ARN of a RAM identity of account: kind is user, role or group
// ("" with name "root" gives the account's root, acs:ram::<id>:root).
func ARN(account, kind, name string) string {
	if kind == "" {
		return "acs:ram::" + account + ":" + name
	}
	return "acs:ram::" + account + ":" + kind + "/" + name
}
