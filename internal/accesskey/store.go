package accesskey

import "context"

// Store is what the use cases on users' access keys need from storage.
// Methods are safe for concurrent use and return domain sentinels.
type Store interface {
	// CreateAccessKey inserts k for the user named userName (k.UserID and
	// k.UserName are filled by the store): user.ErrUserNotFound, ErrKeyLimit
	// when the user has max keys, domain.ErrExists when the id is taken.
	CreateAccessKey(ctx context.Context, userName string, k AccessKey, max int) error
	// AccessKeys lists the user's keys, oldest first, or user.ErrUserNotFound.
	AccessKeys(ctx context.Context, userName string) ([]AccessKey, error)
	// AccessKey returns the key with that id and its user, or ErrKeyNotFound.
	AccessKey(ctx context.Context, id string) (AccessKey, error)
	// SetAccessKeyStatus sets the status of the user's key:
	// user.ErrUserNotFound or ErrKeyNotFound.
	SetAccessKeyStatus(ctx context.Context, userName, id, status string) error
	// DeleteAccessKey removes the user's key: user.ErrUserNotFound or ErrKeyNotFound.
	DeleteAccessKey(ctx context.Context, userName, id string) error
}
