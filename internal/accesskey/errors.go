package accesskey

import "errors"

// Sentinel errors of users' access keys. Callers match them with
// errors.Is; the API layer maps each to a Code and an HTTP status in its
// one error table.
var (
	// ErrKeyNotFound: no access key with that id (for that user).
	ErrKeyNotFound = errors.New("access key not found")
	// ErrKeyLimit: the user has MaxPerUser keys already.
	ErrKeyLimit = errors.New("the user has as many access keys as a user may")
)
