package identity

import "errors"

// Sentinel errors of authentication. Callers match them with errors.Is;
// the API layer maps each to a Code and an HTTP status in its one error
// table.
var (
	// ErrKeyNotFound: no access key with that id (never made, or deleted).
	ErrKeyNotFound = errors.New("access key not found")
	// ErrKeyInactive: the key exists but is disabled (UpdateAccessKey
	// Status=Inactive).
	ErrKeyInactive = errors.New("access key is disabled")
)
