package role

import (
	"context"

	"github.com/esacert/esacert/internal/domain"
)

// Store is what the role use cases need from storage. Methods are safe
// for concurrent use and return domain sentinels.
type Store interface {
	// CreateRole inserts r: ErrRoleExists when the name is taken,
	// domain.ErrExists when the id is, ErrRoleLimit at max roles.
	CreateRole(ctx context.Context, r Role, max int) error
	// Role returns the role of that name (tags filled), or ErrRoleNotFound.
	Role(ctx context.Context, name string) (Role, error)
	// RoleByID returns the role with that id, or ErrRoleNotFound.
	RoleByID(ctx context.Context, id string) (Role, error)
	// ListRoles returns up to m.Limit+1 roles named after m.After, in name
	// order, tags filled.
	ListRoles(ctx context.Context, m domain.Marker) ([]Role, error)
	// UpdateRole overwrites the role of r.Name (id and creation time kept),
	// or returns ErrRoleNotFound.
	UpdateRole(ctx context.Context, r Role) error
	// DeleteRole removes the role: ErrRoleNotFound, or ErrHasPolicy while
	// policies are attached to it. Its sessions end with it.
	DeleteRole(ctx context.Context, name string) error
}

// TagStore keeps the tags of resources (see domain.TagStore).
type TagStore = domain.TagStore
