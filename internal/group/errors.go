package group

import (
	"errors"
	"fmt"
)

// Sentinel errors of groups. Callers match them with errors.Is; the API
// layer maps each to a Code and an HTTP status in its one error table.
var (
	// ErrGroupNotFound: no group of that name.
	ErrGroupNotFound = errors.New("group not found")
	// ErrGroupExists: a group of that name exists already.
	ErrGroupExists = errors.New("group already exists")
	// ErrGroupLimit: the account has as many groups as it may.
	ErrGroupLimit = errors.New("too many groups")
	// ErrMember: the user is in the group already.
	ErrMember = errors.New("the user is in the group already")
	// ErrNotMember: the user is not in the group.
	ErrNotMember = errors.New("the user is not in the group")
	// ErrMembershipLimit: the user is in as many groups as a user may be.
	ErrMembershipLimit = errors.New("the user is in too many groups")
	// ErrDeleteConflict: the group still has members or policies; the
	// errors below say which, and each matches it.
	ErrDeleteConflict = errors.New("the group cannot be deleted")
	ErrHasMembers     = fmt.Errorf("%w: it has members", ErrDeleteConflict)
	ErrHasPolicy      = fmt.Errorf("%w: policies are attached to it", ErrDeleteConflict)
)
