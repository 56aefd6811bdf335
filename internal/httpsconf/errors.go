package httpsconf

import "errors"

// Sentinel errors of HTTPS configurations. Callers match them with
// errors.Is; the API layer maps each to a Code and an HTTP status in its one
// error table.
var (
	// ErrConfigNotFound: no HTTPS configuration of that family with that
	// ConfigId on that site.
	ErrConfigNotFound = errors.New("configuration not found")
	// ErrGlobalConfigExists: the site has a global HTTPS configuration of
	// that family already (a site has at most one per family).
	ErrGlobalConfigExists = errors.New("site already has a global configuration of this kind")
)
