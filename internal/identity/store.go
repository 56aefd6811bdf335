package identity

import (
	"context"

	"github.com/esacert/esacert/internal/accesskey"
)

// Grant is a policy in force for a principal: its type and name, and for a
// custom policy the document of its default version (a system policy's is
// built in, see rampolicy.System).
type Grant struct {
	PolicyType string
	PolicyName string
	Document   string
}

// Store is what the Resolver reads. Methods are safe for concurrent use.
type Store interface {
	// AccessKey returns a user's key by id (its secret sealed), or
	// accesskey.ErrKeyNotFound.
	AccessKey(ctx context.Context, id string) (accesskey.AccessKey, error)
	// Grants returns the policies in force for a user (those attached to
	// it and to its groups) or a role (kind "user" or "role", by id).
	Grants(ctx context.Context, kind, id string) ([]Grant, error)
	// RAMRevision changes whenever a key, user, membership, policy version,
	// attachment or role does.
	RAMRevision(ctx context.Context) (int64, error)
}
