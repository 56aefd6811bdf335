package session

import (
	"context"

	"github.com/esacert/esacert/internal/role"
)

// RoleStore is what sessions need of roles.
type RoleStore interface {
	// Role returns the role of that name, or role.ErrRoleNotFound.
	Role(ctx context.Context, name string) (role.Role, error)
	// RoleByID returns the role with that id, or role.ErrRoleNotFound.
	RoleByID(ctx context.Context, id string) (role.Role, error)
}

// KeyStore keeps the server key that signs tokens, sealed.
type KeyStore interface {
	// ClaimSTSKey records the sealed key with that id unless a server key
	// is recorded already, and returns the recorded one's id and sealed
	// value: of several nodes starting at once, one key wins and all use it.
	ClaimSTSKey(ctx context.Context, id string, sealed []byte) (string, []byte, error)
}
