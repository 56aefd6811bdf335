package user

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
)

// Store is what the user use cases need from storage. Methods are safe for
// concurrent use and return domain sentinels.
type Store interface {
	// CreateUser inserts u: ErrUserExists when the name is taken,
	// domain.ErrExists when the id is (the caller draws another), ErrUserLimit
	// when the account has max users already (0: no limit).
	CreateUser(ctx context.Context, u User, max int) error
	// User returns the user of that name, or ErrUserNotFound.
	User(ctx context.Context, name string) (User, error)
	// ListUsers returns up to m.Limit+1 users whose names sort after
	// m.After, in name order (one more than asked tells that there are more).
	ListUsers(ctx context.Context, m domain.Marker) ([]User, error)
	// UpdateUser overwrites the user now named name with u (its id and
	// creation time kept): ErrUserNotFound, or ErrUserExists when u.Name
	// is another user's.
	UpdateUser(ctx context.Context, name string, u User) error
	// DeleteUser removes the user: ErrUserNotFound, or ErrHasAccessKey,
	// ErrInGroup, ErrHasPolicy while it has keys, groups or policies.
	DeleteUser(ctx context.Context, name string) error
}
