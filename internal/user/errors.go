package user

import (
	"errors"
	"fmt"
)

// Sentinel errors of users. Callers match them with errors.Is; the API
// layer maps each to a Code and an HTTP status in its one error table.
var (
	// ErrUserNotFound: no user of that name.
	ErrUserNotFound = errors.New("user not found")
	// ErrUserExists: a user of that name exists already.
	ErrUserExists = errors.New("user already exists")
	// ErrUserLimit: the account has as many users as it may.
	ErrUserLimit = errors.New("too many users")
	// ErrDeleteConflict: the user still has something that must be removed
	// first; the errors below say what, and each matches it.
	ErrDeleteConflict = errors.New("the user cannot be deleted")
	ErrHasAccessKey   = fmt.Errorf("%w: it has access keys", ErrDeleteConflict)
	ErrInGroup        = fmt.Errorf("%w: it is a member of groups", ErrDeleteConflict)
	ErrHasPolicy      = fmt.Errorf("%w: policies are attached to it", ErrDeleteConflict)
	// ErrNoLoginProfile: the user has no console login profile (esacert
	// users never have one).
	ErrNoLoginProfile = errors.New("the user has no login profile")
	// ErrNoMFADevice: the user has no MFA device bound (esacert users never
	// have one).
	ErrNoMFADevice = errors.New("the user has no MFA device")
)
