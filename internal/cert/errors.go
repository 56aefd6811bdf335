package cert

import (
	"errors"
	"fmt"
)

// Sentinel errors of the domain. Callers match them with errors.Is; the API
// layer maps each to a Code and an HTTP status in its one error table.
var (
	// ErrMissing marks a required parameter that was not given (inside a ParamError).
	ErrMissing = errors.New("parameter is missing")
	// ErrInvalid marks a parameter that is malformed or out of range (inside a ParamError).
	ErrInvalid = errors.New("parameter is invalid")

	// ErrSiteNotFound: no site with that id. Site actions answer it as a missing
	// resource; certificate actions wrap it in a ParamError naming SiteId.
	ErrSiteNotFound = errors.New("site not found")
	// ErrSiteExists: a site with that name exists already.
	ErrSiteExists = errors.New("site name already exists")
	// ErrInstanceNotFound: no plan instance with that id.
	ErrInstanceNotFound = errors.New("plan instance not found")
	// ErrSiteQuota: the plan instance holds as many sites as its plan allows.
	ErrSiteQuota = errors.New("plan instance has no site quota left")

	// ErrNotFound and ErrExists are what a Store returns for a missing row and a
	// uniqueness violation; the service turns them into the specific errors above.
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// ParamError names the request parameter that caused Err. Err is ErrMissing,
// ErrInvalid or a more specific sentinel; Reason, when set, is a short public
// explanation (it must never contain secret material).
type ParamError struct {
	Param  string
	Err    error
	Reason string
}

func (e *ParamError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("parameter %s: %v: %s", e.Param, e.Err, e.Reason)
	}
	return fmt.Sprintf("parameter %s: %v", e.Param, e.Err)
}

func (e *ParamError) Unwrap() error { return e.Err }

// Missing returns a ParamError for a required parameter that is absent.
func Missing(param string) error { return &ParamError{Param: param, Err: ErrMissing} }

// Invalid returns a ParamError for a malformed parameter, with a public reason.
func Invalid(param, reason string) error {
	return &ParamError{Param: param, Err: ErrInvalid, Reason: reason}
}
