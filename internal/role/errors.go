package role

import (
	"errors"

	"github.com/esacert/esacert/internal/policy"
)

// Sentinel errors of roles. Callers match them with errors.Is; the API
// layer maps each to a Code and an HTTP status in its one error table.
var (
	// ErrRoleNotFound: no role of that name (or id).
	ErrRoleNotFound = errors.New("role not found")
	// ErrRoleExists: a role of that name exists already.
	ErrRoleExists = errors.New("role already exists")
	// ErrRoleLimit: the account has as many roles as it may.
	ErrRoleLimit = errors.New("too many roles")
	// ErrHasPolicy: a role with attached policies cannot be deleted.
	ErrHasPolicy = errors.New("the role cannot be deleted: policies are attached to it")
	// ErrMalformed is policy.ErrMalformed: the trust policy is not valid;
	// the error's text after "policy: malformed policy document: " is its
	// public reason.
	ErrMalformed = policy.ErrMalformed
)
